"""Outgoing webhooks on SQL: the admins' webhooks, and the outbox of their deliveries.

`SqlStore` inherits this. Deliveries are made from the audit log (`api.notify.outbox`): a
webhook's `cursor_seq` moves forward only by compare-and-set in the same transaction that
inserts the deliveries of the events it passed, and a delivery is unique per (webhook, audit
event), so replicas sharing PostgreSQL queue each event once. A delivery is sent by the
replica that claims it (`claimed_until`, taken by a conditional update); a claim that lapses
(the replica died mid-send) lets another replica retry it. Secrets are kept encrypted with
the store's secret key, like the Jenkins tokens.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update

from opsgate.domain.notifications import WebhookEvent
from opsgate.errors import NotFound, StoreError
from opsgate.store import tables
from opsgate.store.sql_base import SqlBase
from opsgate.store.webhook_records import (
    DeliveryAttempt,
    DeliveryState,
    NewDelivery,
    Webhook,
    WebhookDelivery,
)

W, D = tables.webhooks, tables.webhook_deliveries


def _webhook(row: Row[Any], secret: str | None = None) -> Webhook:
    return Webhook(
        id=row.id,
        url=row.url,
        events=row.events,
        created_by=row.created_by,
        created_at=row.created_at,
        cursor_seq=row.cursor_seq,
        secret=secret,
    )


def _delivery(row: Row[Any]) -> WebhookDelivery:
    return WebhookDelivery.model_validate(dict(row._mapping))


class WebhooksStore(SqlBase):
    """See the webhook methods of `Store`."""

    async def create_webhook(
        self, url: str, events: Sequence[WebhookEvent], secret: str, *, created_by: str
    ) -> Webhook:
        values = {
            "id": self._ids.new("whk"),
            "url": url,
            "events": list(events),
            "secret_encrypted": self._fernet.encrypt(secret.encode()).decode(),
            "created_by": created_by,
            "created_at": self._now(),
        }

        def work(conn: Connection) -> Row[Any]:
            # Told from now on: the events already in the log are history, not news.
            head = conn.execute(select(func.max(tables.audit_log.c.seq))).scalar()
            conn.execute(insert(W).values({**values, "cursor_seq": head or 0}))
            return conn.execute(select(W).where(W.c.id == values["id"])).one()

        return _webhook(await self._write(work))

    async def list_webhooks(self) -> list[Webhook]:
        rows = await self._read(lambda conn: conn.execute(select(W).order_by(W.c.id)).all())
        return [_webhook(row) for row in rows]

    async def get_webhook(self, webhook_id: str, *, reveal: bool = False) -> Webhook:
        stmt = select(W).where(W.c.id == webhook_id)
        row = await self._read(lambda conn: conn.execute(stmt).first())
        if row is None:
            raise NotFound(f"no webhook {webhook_id!r}")
        if not reveal:
            return _webhook(row)
        try:
            secret = self._fernet.decrypt(row.secret_encrypted.encode()).decode()
        except InvalidToken as e:
            raise StoreError(
                f"the secret of webhook {webhook_id!r} cannot be decrypted with this key"
            ) from e
        return _webhook(row, secret)

    async def delete_webhook(self, webhook_id: str) -> Webhook:
        """Remove a webhook and its delivery log."""

        def work(conn: Connection) -> Row[Any]:
            row = conn.execute(select(W).where(W.c.id == webhook_id)).first()
            if row is None:
                raise NotFound(f"no webhook {webhook_id!r}")
            conn.execute(delete(D).where(D.c.webhook_id == webhook_id))
            conn.execute(delete(W).where(W.c.id == webhook_id))
            return row

        return _webhook(await self._write(work))

    async def queue_deliveries(
        self,
        webhook_id: str,
        *,
        from_seq: int,
        to_seq: int,
        deliveries: Sequence[NewDelivery],
    ) -> bool:
        """Queue `deliveries` (the events in `(from_seq, to_seq]` the webhook is told) and
        move its cursor to `to_seq`; False, queueing nothing, when its cursor is no longer
        `from_seq` (another replica queued them) or the webhook is gone."""
        now = self._now()

        def work(conn: Connection) -> bool:
            moved = conn.execute(
                update(W)
                .where(W.c.id == webhook_id, W.c.cursor_seq == from_seq)
                .values(cursor_seq=to_seq)
            )
            if moved.rowcount != 1:
                return False
            for new in deliveries:
                conn.execute(
                    insert(D).values(
                        id=self._ids.new("dlv"),
                        webhook_id=webhook_id,
                        audit_seq=new.audit_seq,
                        event=new.event,
                        body=new.body,
                        state="pending",
                        attempts=0,
                        next_attempt_at=now,
                        claimed_until=None,
                        attempt_log=[],
                        created_at=now,
                    )
                )
            return True

        return await self._write(work)

    async def claim_deliveries(
        self, now: datetime, *, claim_s: float, limit: int = 20
    ) -> list[WebhookDelivery]:
        """Pending deliveries that are due and unclaimed, claimed for `claim_s` seconds by
        this caller (a conditional update each: two replicas never claim the same one)."""
        until = now + timedelta(seconds=claim_s)
        unclaimed = or_(D.c.claimed_until.is_(None), D.c.claimed_until < now)
        due = and_(D.c.state == "pending", D.c.next_attempt_at <= now, unclaimed)

        def work(conn: Connection) -> list[Row[Any]]:
            ids = conn.execute(
                select(D.c.id).where(due).order_by(D.c.next_attempt_at, D.c.id).limit(limit)
            ).scalars()
            claimed = []
            for delivery_id in list(ids):
                taken = conn.execute(
                    update(D).where(D.c.id == delivery_id, due).values(claimed_until=until)
                )
                if taken.rowcount == 1:
                    claimed.append(conn.execute(select(D).where(D.c.id == delivery_id)).one())
            return claimed

        return [_delivery(row) for row in await self._write(work)]

    async def record_attempt(
        self,
        delivery_id: str,
        attempt: DeliveryAttempt,
        *,
        state: DeliveryState,
        next_attempt_at: datetime,
    ) -> WebhookDelivery:
        """Add `attempt` to the delivery's log, set its state, and release its claim."""

        def work(conn: Connection) -> Row[Any]:
            row = conn.execute(select(D).where(D.c.id == delivery_id)).first()
            if row is None:
                raise NotFound(f"no webhook delivery {delivery_id!r}")
            conn.execute(
                update(D)
                .where(D.c.id == delivery_id)
                .values(
                    state=state,
                    attempts=row.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    claimed_until=None,
                    last_status=attempt.status_code,
                    last_error=attempt.error,
                    attempt_log=[*row.attempt_log, json.loads(attempt.model_dump_json())],
                    finished_at=None if state == "pending" else attempt.at,
                )
            )
            return conn.execute(select(D).where(D.c.id == delivery_id)).one()

        return _delivery(await self._write(work))

    async def list_deliveries(self, webhook_id: str, *, limit: int = 100) -> list[WebhookDelivery]:
        """The webhook's deliveries, newest first."""
        stmt = (
            select(D)
            .where(D.c.webhook_id == webhook_id)
            .order_by(D.c.audit_seq.desc(), D.c.id.desc())
            .limit(limit)
        )
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [_delivery(row) for row in rows]
