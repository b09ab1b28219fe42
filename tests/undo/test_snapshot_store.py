"""The store's snapshots on SQLite and PostgreSQL: one per call, read back as written, hashed
over their content; a second snapshot of a call, or one of an unknown call, is refused."""

from __future__ import annotations

import pytest

from opsgate.domain.canonical import call_hash, canonical_json, sha256_hex
from opsgate.errors import Conflict, NotFound
from opsgate.store.records import NewCall
from opsgate.store.sql import SqlStore

OBJECT = {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}}
UNDO = {"tool": "k8s_patch", "args": {"resource": "deployment/web", "patch": "{}"}}


async def _call(store: SqlStore) -> tuple[str, str]:
    user = await store.create_user("olga", "operator", None)
    conversation = await store.create_conversation("t", user.id, ["prod"])
    run = await store.create_run(conversation.id, "direct", user.id)
    args = {"resource": "deployment/web", "replicas": 3}
    await store.write_batch(
        [
            NewCall(
                call_id="call_a",
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
    return conversation.id, run.id


async def test_a_snapshot_reads_back_with_the_hash_of_its_content(store: SqlStore) -> None:
    conversation_id, run_id = await _call(store)
    saved = await store.save_snapshot(
        call_id="call_a",
        conversation_id=conversation_id,
        run_id=run_id,
        tool="k8s_scale",
        objects=[OBJECT],
        undo=UNDO,
        cannot_undo=None,
    )
    found = await store.get_snapshot("call_a")
    assert found == saved
    assert (found.objects, found.undo, found.cannot_undo) == ([OBJECT], UNDO, None)
    assert found.sha256 == sha256_hex(canonical_json(found.content()))
    assert found.taken_at.tzinfo is not None
    assert (await store.get_call("call_a")).tool == "k8s_scale"


async def test_a_call_is_snapshotted_once_and_only_a_known_call(store: SqlStore) -> None:
    conversation_id, run_id = await _call(store)
    kept = {"conversation_id": conversation_id, "run_id": run_id, "tool": "k8s_scale"}
    await store.save_snapshot(call_id="call_a", objects=[], undo=None, cannot_undo="no", **kept)
    with pytest.raises(Conflict):
        await store.save_snapshot(call_id="call_a", objects=[], undo=UNDO, cannot_undo=None, **kept)
    with pytest.raises(NotFound, match="no call 'call_b'"):
        await store.save_snapshot(call_id="call_b", objects=[], undo=UNDO, cannot_undo=None, **kept)
    with pytest.raises(NotFound, match="no snapshot of call 'call_c'"):
        await store.get_snapshot("call_c")
    with pytest.raises(NotFound, match="no call 'call_c'"):
        await store.get_call("call_c")
