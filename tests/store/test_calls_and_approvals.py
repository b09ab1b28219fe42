"""Tool calls and approval requests: the atomic state changes the gate relies on."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from opsgate.domain.canonical import call_hash
from opsgate.domain.events import PreviewOutcome
from opsgate.errors import Conflict, NotFound
from opsgate.store import sql
from opsgate.store.records import NewCall
from opsgate.store.sql import SqlStore
from tests.fixtures.calls import stored_call
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY, RawSql


@dataclass(frozen=True)
class Item:
    call_id: str
    preview: str | None = None
    preview_state: PreviewOutcome = "unavailable"
    command: str | None = None


async def _run_with_calls(store: SqlStore, *call_ids: str) -> tuple[str, str]:
    user = await store.create_user("olga", "operator", None)
    conversation = await store.create_conversation("t", user.id, ["prod"])
    run = await store.create_run(conversation.id, "chat", user.id)
    for call_id in call_ids:
        args = {"namespace": "shop", "name": "web", "replicas": 3}
        await store.write_batch(
            [
                NewCall(
                    call_id=call_id,
                    run_id=run.id,
                    tool="k8s_scale",
                    args=args,
                    context="prod",
                    classification="mutation",
                    destructive=False,
                    call_hash=call_hash("k8s_scale", args, "prod"),
                    status="planned",
                )
            ]
        )
    return run.id, user.id


async def test_recorded_call_reads_back(store: SqlStore) -> None:
    run_id, _ = await _run_with_calls(store, "call_a")
    call = await stored_call(store, "call_a")
    assert call.args == {"namespace": "shop", "name": "web", "replicas": 3}
    assert call.call_hash == call_hash("k8s_scale", call.args, "prod")
    assert (call.status, call.approval_id, call.started_at) == ("planned", None, None)
    assert [c.id for c in await store.list_calls(run_id=run_id)] == ["call_a"]
    assert [c.id for c in await store.list_calls(conversation_id=call.conversation_id)] == [
        "call_a"
    ]
    with pytest.raises(Conflict):
        await _record_again(store, run_id)


async def _record_again(store: SqlStore, run_id: str) -> None:
    await store.write_batch(
        [
            NewCall(
                call_id="call_a",
                run_id=run_id,
                tool="k8s_get",
                args={},
                context=None,
                classification="read",
                destructive=False,
                call_hash="0" * 64,
                status="planned",
            )
        ]
    )


async def test_call_status_moves_only_from_expected(store: SqlStore) -> None:
    await _run_with_calls(store, "call_a")
    running = await store.set_call_status("call_a", "running", expected=["planned"])
    assert running.started_at is not None
    with pytest.raises(Conflict, match="running"):
        await store.set_call_status("call_a", "running", expected=["planned"])
    output = "deployment.apps/web scaled\n"
    done = await store.set_call_status(
        "call_a", "succeeded", expected=["running"], output=output, exit_code=0, duration_ms=12
    )
    assert done.finished_at is not None
    assert done.output == output
    assert done.output_sha256 == hashlib.sha256(output.encode()).hexdigest()
    assert (done.output_size, done.exit_code, done.duration_ms) == (len(output), 0, 12)


async def test_interrupted_running_calls_become_outcome_unknown(store: SqlStore) -> None:
    run_id, _ = await _run_with_calls(store, "call_a", "call_b")
    await store.set_call_status("call_a", "running")
    assert await store.mark_interrupted_calls(["run_of_someone_else"]) == []
    marked = await store.mark_interrupted_calls([run_id])
    assert [(c.id, c.status) for c in marked] == [("call_a", "outcome_unknown")]
    assert (await stored_call(store, "call_b")).status == "planned"
    assert await store.mark_interrupted_calls([run_id]) == []


async def test_a_run_has_one_owner_until_its_lease_runs_out(store: SqlStore) -> None:
    run_id, _ = await _run_with_calls(store)
    now = datetime.now(UTC)
    await store.renew_lease("engine-a", now)
    await store.renew_lease("engine-b", now)
    assert await store.claim_run(run_id, "engine-a", now=now, lease_s=30)
    assert not await store.claim_run(run_id, "engine-b", now=now, lease_s=30)
    assert await store.claim_run(run_id, "engine-a", now=now, lease_s=30)  # its own again
    assert [r.id for r in await store.orphaned_runs("engine-b", now=now, lease_s=30)] == []
    assert [r.id for r in await store.orphaned_runs("engine-a", now=now, lease_s=30)] == [run_id]
    later = now + timedelta(seconds=31)
    await store.renew_lease("engine-b", later)  # A stopped renewing
    assert [r.id for r in await store.orphaned_runs("engine-b", now=later, lease_s=30)] == [run_id]
    assert await store.claim_run(run_id, "engine-b", now=later, lease_s=30)
    assert (await store.get_run(run_id)).owner_id == "engine-b"
    await store.release_run(run_id, "engine-a")  # not A's any more: nothing changes
    assert (await store.get_run(run_id)).owner_id == "engine-b"
    await store.release_run(run_id, "engine-b")
    assert (await store.get_run(run_id)).owner_id is None


async def test_a_released_lease_frees_its_runs_at_once(store: SqlStore) -> None:
    run_id, _ = await _run_with_calls(store)
    now = datetime.now(UTC)
    await store.renew_lease("engine-a", now)
    assert await store.claim_run(run_id, "engine-a", now=now, lease_s=30)
    await store.release_lease("engine-a")
    assert await store.claim_run(run_id, "engine-b", now=now, lease_s=30)


async def test_two_engines_racing_for_a_run_get_one_owner(store: SqlStore) -> None:
    run_id, _ = await _run_with_calls(store)
    now = datetime.now(UTC)
    for n in range(8):
        await store.renew_lease(f"engine-{n}", now)  # all alive: an owner's claim holds
    claims = await asyncio.gather(
        *(store.claim_run(run_id, f"engine-{n}", now=now, lease_s=30) for n in range(8))
    )
    assert claims.count(True) == 1


async def test_approval_request_holds_calls_until_decided(store: SqlStore) -> None:
    run_id, user_id = await _run_with_calls(store, "call_a", "call_b")
    expires = datetime.now(UTC) + timedelta(minutes=10)
    request = await store.create_approval(
        run_id=run_id,
        proposed_by=user_id,
        expires_at=expires,
        items=[Item("call_a", "replicas 1 -> 3"), Item("call_b")],
    )
    assert request.status == "pending"
    assert [i.call_id for i in request.items] == ["call_a", "call_b"]
    assert request.items[0].preview == "replicas 1 -> 3"
    assert request.items[0].tool == "k8s_scale"
    assert request.expires_at == expires
    call = await stored_call(store, "call_a")
    assert (call.status, call.approval_id) == ("awaiting_approval", request.id)

    now = datetime.now(UTC)
    after_one = await store.decide(
        request.id, "call_a", "approve", user_id="u1", user_name="ann", reason="ok", now=now
    )
    assert after_one.status == "pending"
    decision = after_one.items[0].decision
    assert decision is not None
    assert (decision.decided_by_name, decision.reason) == ("ann", "ok")
    after_two = await store.decide(
        request.id, "call_b", "reject", user_id="u1", user_name="ann", reason="no", now=now
    )
    assert after_two.status == "rejected"
    assert (await stored_call(store, "call_a")).status == "approved"
    assert (await stored_call(store, "call_b")).status == "rejected"
    assert [a.id for a in await store.list_approvals(status="rejected")] == [request.id]
    assert await store.list_approvals(status="pending") == []
    with pytest.raises(Conflict, match="already"):
        await store.decide(
            request.id, "call_a", "reject", user_id="u2", user_name="bo", reason=None, now=now
        )


async def test_two_concurrent_decisions_one_wins(store_url: str, store: SqlStore) -> None:
    run_id, user_id = await _run_with_calls(store, "call_a")
    request = await store.create_approval(
        run_id=run_id,
        proposed_by=user_id,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
        items=[Item("call_a")],
    )
    other = await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    try:
        now = datetime.now(UTC)
        results = await asyncio.gather(
            store.decide(
                request.id, "call_a", "approve", user_id="u1", user_name="ann", reason=None, now=now
            ),
            other.decide(
                request.id, "call_a", "reject", user_id="u2", user_name="bo", reason=None, now=now
            ),
            return_exceptions=True,
        )
    finally:
        await other.close()
    conflicts = [r for r in results if isinstance(r, Conflict)]
    decided = [r for r in results if not isinstance(r, BaseException)]
    assert len(conflicts) == 1
    assert len(decided) == 1
    final = await store.get_approval(request.id)
    assert final.status == decided[0].status
    assert (await stored_call(store, "call_a")).status == final.status


async def test_expired_items_cannot_be_decided_and_expire(store: SqlStore) -> None:
    run_id, user_id = await _run_with_calls(store, "call_a")
    expires = datetime.now(UTC) + timedelta(seconds=30)
    request = await store.create_approval(
        run_id=run_id, proposed_by=user_id, expires_at=expires, items=[Item("call_a")]
    )
    later = expires + timedelta(seconds=1)
    with pytest.raises(Conflict, match="expired"):
        await store.decide(
            request.id, "call_a", "approve", user_id="u1", user_name="ann", reason=None, now=later
        )
    assert await store.expire_approvals(expires - timedelta(seconds=1)) == []
    touched = await store.expire_approvals(later)
    assert [(r.id, r.status) for r in touched] == [(request.id, "expired")]
    assert (await stored_call(store, "call_a")).status == "expired"
    assert [a.id for a in await store.list_approvals(status="expired")] == [request.id]
    assert await store.expire_approvals(later) == []


async def test_approval_rejects_calls_not_waiting(store: SqlStore) -> None:
    run_id, user_id = await _run_with_calls(store, "call_a")
    await store.set_call_status("call_a", "running")
    with pytest.raises(Conflict, match="running"):
        await store.create_approval(
            run_id=run_id,
            proposed_by=user_id,
            expires_at=datetime.now(UTC) + timedelta(minutes=1),
            items=[Item("call_a")],
        )
    assert await store.list_approvals() == []
    with pytest.raises(NotFound):
        await store.get_approval("apr_missing")
    with pytest.raises(NotFound):
        await store.decide(
            "apr_missing",
            "call_a",
            "approve",
            user_id="u",
            user_name="u",
            reason=None,
            now=datetime.now(UTC),
        )


async def test_list_approvals_filters_by_conversation(store: SqlStore) -> None:
    run_id, user_id = await _run_with_calls(store, "call_a")
    request = await store.create_approval(
        run_id=run_id,
        proposed_by=user_id,
        expires_at=datetime.now(UTC) + timedelta(minutes=1),
        items=[Item("call_a")],
    )
    assert [a.id for a in await store.list_approvals(conversation_id=request.conversation_id)] == [
        request.id
    ]
    assert await store.list_approvals(conversation_id="cnv_other") == []
    assert [a.id for a in await store.list_approvals(status="pending")] == [request.id]
    assert await store.list_approvals(status="approved") == []


async def test_jenkins_token_is_encrypted_at_rest(store: SqlStore, raw_sql: RawSql) -> None:
    await store.upsert_jenkins_server("ci", "https://ci.example/", "bot", "tok-SECRET-123")
    rows = await raw_sql("SELECT token_encrypted FROM jenkins_servers")
    assert "tok-SECRET-123" not in rows[0][0]
    listed = await store.list_jenkins_servers()
    assert [(s.name, s.token) for s in listed] == [("ci", None)]
    assert (await store.get_jenkins_server("ci")).token is None
    assert (await store.get_jenkins_server("ci", reveal=True)).token == "tok-SECRET-123"
    await store.upsert_jenkins_server("ci", "https://ci2.example/", "bot", "new", verify_tls=False)
    updated = await store.get_jenkins_server("ci", reveal=True)
    assert (updated.url, updated.token, updated.verify_tls) == (
        "https://ci2.example/",
        "new",
        False,
    )
    await store.delete_jenkins_server("ci")
    with pytest.raises(NotFound):
        await store.get_jenkins_server("ci")
    with pytest.raises(NotFound):
        await store.delete_jenkins_server("ci")
