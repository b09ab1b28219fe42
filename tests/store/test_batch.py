"""`write_batch`: a step's records in one transaction, all or nothing, in order."""

from __future__ import annotations

import pytest

from opsgate.errors import Conflict, NotFound
from opsgate.store.records import (
    CallChange,
    NewAuditEvent,
    NewCall,
    NewMessage,
    NewRecord,
    NewStreamEvent,
)
from opsgate.store.sql import SqlStore
from tests.fixtures.calls import stored_call


async def _run(store: SqlStore) -> tuple[str, str]:
    user = await store.create_user("bea", "operator", None)
    conversation = await store.create_conversation("t", user.id, ["prod"])
    run = await store.create_run(conversation.id, "chat", user.id)
    return conversation.id, run.id


def _step(conversation_id: str, run_id: str, call_id: str) -> list[NewRecord]:
    """What the engine records for one read: the call, its run, its result, events, audit."""
    return [
        NewMessage(conversation_id, "assistant", "", run_id, data={"tool_calls": [call_id]}),
        NewCall(
            call_id, run_id, "k8s_get", {"kind": "pods"}, "prod", "read", False, "h", "planned"
        ),
        NewStreamEvent(conversation_id, run_id, "plan", {"call": call_id}),
        NewAuditEvent("plan", {"call": call_id}, None, "engine", conversation_id, run_id),
        CallChange(call_id, "running", ("planned",)),
        NewStreamEvent(conversation_id, run_id, "tool_started", {"call": call_id}),
        CallChange(call_id, "succeeded", ("running",), output="3 pods", exit_code=0),
        NewAuditEvent(
            "tool.finished", {"tool": "k8s_get"}, None, "engine", conversation_id, run_id, call_id
        ),
        NewStreamEvent(conversation_id, run_id, "tool_finished", {"call": call_id}),
        NewMessage(conversation_id, "tool", "3 pods", run_id),
    ]


async def test_a_batch_writes_every_record_in_order(store: SqlStore) -> None:
    conversation_id, run_id = await _run(store)

    stored = await store.write_batch(_step(conversation_id, run_id, "c1"))

    assert [e.type for e in stored] == ["plan", "tool_started", "tool_finished"]
    assert [e.id for e in stored] == sorted(e.id for e in stored)
    assert await store.events_after(conversation_id, 0) == stored
    call = await stored_call(store, "c1")
    assert (call.status, call.output, call.exit_code) == ("succeeded", "3 pods", 0)
    assert call.started_at is not None
    assert call.finished_at is not None
    assert call.output_size == len(b"3 pods")
    assert [m.role for m in await store.list_messages(conversation_id)] == ["assistant", "tool"]
    audit = await store.list_audit()
    assert [a.kind for a in audit] == ["plan", "tool.finished"]
    head = await store.get_audit_head()
    assert head is not None
    assert (head.seq, head.hash) == (audit[-1].seq, audit[-1].hash)
    assert (await store.verify_audit()).ok


async def test_a_batch_with_a_change_that_does_not_apply_writes_nothing(store: SqlStore) -> None:
    conversation_id, run_id = await _run(store)
    await store.write_batch(_step(conversation_id, run_id, "c1"))
    before = (len(await store.events_after(conversation_id, 0)), len(await store.list_audit()))

    with pytest.raises(Conflict, match="'succeeded', not one of \\['planned'\\]"):
        await store.write_batch(
            [
                NewStreamEvent(conversation_id, run_id, "token", {"text": "x"}),
                NewAuditEvent("verify", {"ok": True}, None, "engine", conversation_id, run_id),
                NewMessage(conversation_id, "tool", "lost with the batch", run_id),
                CallChange("c1", "running", ("planned",)),
            ]
        )

    after = (len(await store.events_after(conversation_id, 0)), len(await store.list_audit()))
    assert after == before
    assert (await store.verify_audit()).ok  # the head did not move with the lost batch
    assert "lost with the batch" not in [m.text for m in await store.list_messages(conversation_id)]
    assert (await stored_call(store, "c1")).status == "succeeded"


async def test_a_batch_refuses_a_call_recorded_twice_and_an_unknown_run(store: SqlStore) -> None:
    conversation_id, run_id = await _run(store)
    await store.write_batch(_step(conversation_id, run_id, "c1"))
    again = NewCall("c1", run_id, "k8s_get", {}, "prod", "read", False, "h", "planned")
    with pytest.raises(Conflict):
        await store.write_batch([again])
    stray = NewCall("c2", "run_missing", "k8s_get", {}, "prod", "read", False, "h", "planned")
    with pytest.raises(NotFound):
        await store.write_batch([stray])
    with pytest.raises(NotFound):
        await store.write_batch([NewMessage("cnv_missing", "tool", "x")])
