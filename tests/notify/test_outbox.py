"""The outbox's durability: deliveries come from the audit log, so events written while no
outbox ran are sent after a restart, and two replicas' outboxes send each event once.

The app's own outbox is slowed to one tick a minute (it ticks once at start, before any
webhook exists), so the outboxes each test drives are the only ones sending.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsgate.api.notify import outbox
from tests.fixtures.api import running_app, wait_for
from tests.fixtures.postgres import SECRET_KEY
from tests.inbox.test_inbox_api import propose, wait_inbox
from tests.notify.receiver import receiver
from tests.notify.test_webhooks import FAST, add_webhook, delivered

IDLE = {**FAST, "webhook_poll_s": 60.0}


async def test_events_written_while_no_outbox_ran_are_sent_after_a_restart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with receiver() as target:
        async with (
            running_app(data, **IDLE) as env,
            env.client("admin") as admin,
            env.client("operator") as operator,
            env.client("approver") as approver,
        ):
            await add_webhook(admin, target.url, "approval.requested")
            conversation_id = await propose(operator)
            await wait_inbox(approver, 1)
        assert target.received == []
        async with running_app(data, with_users=False, **FAST):
            [got] = await delivered(target, "approval.requested")
    assert got.json()["conversation_id"] == conversation_id


async def test_two_replicas_send_each_event_once(tmp_path: Path) -> None:
    with receiver() as target:
        async with (
            running_app(tmp_path / "data", **IDLE) as env,
            env.client("admin") as admin,
            env.client("operator") as operator,
            env.client("approver") as approver,
            httpx.AsyncClient() as http,
        ):
            await add_webhook(admin, target.url, "approval.requested")
            for _ in range(3):
                await propose(operator)
            await wait_inbox(approver, 3)
            config = outbox.config_of(env.settings)
            replicas = [
                outbox.WebhookOutbox(env.state.store, http, config, env.state.clock)
                for _ in range(2)
            ]
            for _ in range(3):
                await asyncio.gather(*(replica.tick() for replica in replicas))
            await wait_for(lambda: asyncio.sleep(0, len(target.received) >= 3), 10)
    seqs = [r.json()["audit_seq"] for r in target.received]
    assert len(seqs) == 3
    assert len(set(seqs)) == 3


@pytest.mark.postgres
async def test_two_app_replicas_on_postgres_send_each_event_once(
    postgres_url: str, tmp_path: Path
) -> None:
    # Replicas share their keys (the secret key decrypts the webhook's signing secret).
    shared = {"database_url": postgres_url, "secret_key": SECRET_KEY.decode(), **FAST}
    with receiver() as target:
        target.answers = [500, 500]
        async with (
            running_app(tmp_path / "one", **shared) as env,
            running_app(tmp_path / "two", with_users=False, **shared) as other,
            env.client("admin") as admin,
            env.client("operator") as operator,
        ):
            assert other.state.store is not env.state.store
            created = await add_webhook(admin, target.url, "approval.requested")
            for _ in range(3):
                await propose(operator)

            async def settled() -> list[dict[str, Any]] | None:
                path = f"/api/v1/webhooks/{created['webhook']['id']}/deliveries"
                items: list[dict[str, Any]] = (await admin.get(path)).json()["items"]
                done = len(items) == 3 and all(i["state"] == "delivered" for i in items)
                return items if done else None

            deliveries = await wait_for(settled, 30)
            # Both replicas keep polling meanwhile: a duplicate would arrive in this time.
            await asyncio.sleep(0.5)
    # Each event arrived once per logged attempt: the two 500s retried, nothing doubled.
    arrived = Counter(r.json()["audit_seq"] for r in target.received)
    assert arrived == {d["audit_seq"]: d["attempts"] for d in deliveries}
    assert sorted(arrived.values()) == [1, 1, 3]
