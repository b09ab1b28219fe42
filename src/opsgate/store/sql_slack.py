"""Slack on SQL: the admins' links from opsgate users to Slack users, the interaction
requests already accepted (replay refusal), and the message posted per approval request.

`SqlStore` inherits this; the Slack interactions route (`api.routes.slack`) and
`opsgate users link-slack` call it. A signature is remembered by inserting it under a primary
key, so two replicas given the same request accept it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from opsgate.errors import NotFound
from opsgate.store import tables
from opsgate.store.records import User
from opsgate.store.sql_users import UsersStore

L, Q, MSG = tables.slack_links, tables.slack_requests, tables.slack_messages


class SlackStore(UsersStore):
    """See the Slack methods of `Store`."""

    async def link_slack(self, user_id: str, slack_user_id: str) -> None:
        """Make `slack_user_id` act as the user (replacing either side's earlier link)."""
        now = self._now()

        def work(conn: Connection) -> None:
            users = tables.users
            if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
                raise NotFound(f"no user {user_id!r}")
            conn.execute(
                delete(L).where((L.c.user_id == user_id) | (L.c.slack_user_id == slack_user_id))
            )
            conn.execute(
                insert(L).values(user_id=user_id, slack_user_id=slack_user_id, linked_at=now)
            )

        await self._write(work)

    async def slack_user(self, slack_user_id: str) -> User | None:
        """The opsgate user the Slack user is linked to, or None."""
        stmt = select(L.c.user_id).where(L.c.slack_user_id == slack_user_id)
        user_id = await self._read(lambda conn: conn.execute(stmt).scalar())
        if user_id is None:
            return None
        return await self.get_user(user_id)

    async def remember_slack_request(
        self, signature: str, *, now: datetime, forget_before: datetime
    ) -> bool:
        """Record an accepted request's signature; False when it was seen before (a replay).
        Signatures older than `forget_before` (outside Slack's window) are dropped."""

        def work(conn: Connection) -> bool:
            conn.execute(delete(Q).where(Q.c.seen_at < forget_before))
            try:
                with conn.begin_nested():
                    conn.execute(insert(Q).values(signature=signature, seen_at=now))
            except IntegrityError:
                return False
            return True

        return await self._write(work)

    async def claim_slack_message(self, approval_id: str, channel: str) -> bool:
        """Take the posting of the request's message; False when another replica has."""

        def work(conn: Connection) -> bool:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(MSG).values(
                            approval_id=approval_id, channel=channel, ts=None, posted_at=self._now()
                        )
                    )
            except IntegrityError:
                return False
            return True

        return await self._write(work)

    async def set_slack_message_ts(self, approval_id: str, ts: str) -> None:
        stmt = update(MSG).where(MSG.c.approval_id == approval_id).values(ts=ts)
        await self._write(lambda conn: conn.execute(stmt))
