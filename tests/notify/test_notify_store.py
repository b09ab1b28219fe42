"""The store's webhook and Slack tables on SQLite and PostgreSQL: the webhook cursor moves
only by compare-and-set, a delivery is claimed once, a Slack signature is accepted once, a
request's Slack message is claimed once, and a Slack link maps one user each way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsgate.store.sql import SqlStore
from opsgate.store.webhook_records import DeliveryAttempt, NewDelivery


async def test_the_cursor_moves_once_and_a_delivery_is_claimed_once(store: SqlStore) -> None:
    admin = await store.create_user("admin", "admin", None)
    webhook = await store.create_webhook(
        "https://h.example.test/", ["run.failed"], "whsec_x", created_by=admin.id
    )
    start = webhook.cursor_seq
    new = [NewDelivery(audit_seq=start + 1, event="run.failed", body="{}")]
    assert await store.queue_deliveries(
        webhook.id, from_seq=start, to_seq=start + 1, deliveries=new
    )
    assert not await store.queue_deliveries(
        webhook.id, from_seq=start, to_seq=start + 1, deliveries=new
    )
    now = datetime.now(UTC)
    [claimed] = await store.claim_deliveries(now, claim_s=60)
    assert await store.claim_deliveries(now, claim_s=60) == []
    # A lapsed claim (its replica died) is taken again.
    [again] = await store.claim_deliveries(now + timedelta(seconds=61), claim_s=60)
    assert again.id == claimed.id
    attempt = DeliveryAttempt(at=now, status_code=200, duration_ms=5)
    done = await store.record_attempt(claimed.id, attempt, state="delivered", next_attempt_at=now)
    assert (done.state, done.attempts, done.attempt_log) == ("delivered", 1, [attempt])
    assert (await store.get_webhook(webhook.id, reveal=True)).secret == "whsec_x"
    assert (await store.get_webhook(webhook.id)).secret is None


async def test_slack_signatures_messages_and_links_are_each_taken_once(store: SqlStore) -> None:
    now = datetime.now(UTC)
    early = now - timedelta(minutes=10)
    assert await store.remember_slack_request("v0=aa", now=now, forget_before=early)
    assert not await store.remember_slack_request("v0=aa", now=now, forget_before=early)
    assert await store.remember_slack_request("v0=bb", now=now, forget_before=early)
    assert await store.claim_slack_message("apr_1", "C0")
    assert not await store.claim_slack_message("apr_1", "C0")
    alice = await store.create_user("alice", "approver", None)
    bob = await store.create_user("bob", "approver", None)
    await store.link_slack(alice.id, "UALICE")
    await store.link_slack(bob.id, "UALICE")
    found = await store.slack_user("UALICE")
    assert found is not None
    assert found.username == "bob"
    await store.link_slack(bob.id, "UBOB")
    assert await store.slack_user("UALICE") is None
