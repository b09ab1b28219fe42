"""`Store.approval_evidence`: what the audit log authentically says about one approved call.

Found when the engine's events are there; not authentic when a row was edited (args, call
hash) even with a recomputed hash; absent when the decision exists only in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opsgate.domain.audit import AuditEvent, chain_hash
from opsgate.domain.canonical import call_hash, canonical_json
from opsgate.domain.events import PreviewOutcome
from opsgate.store.records import NewCall
from opsgate.store.sql import SqlStore
from tests.fixtures.postgres import RawSql

ARGS = {"namespace": "shop", "name": "web", "replicas": 4}


@dataclass(frozen=True)
class Item:
    call_id: str
    preview: str | None = None
    preview_state: PreviewOutcome = "unavailable"
    command: str | None = None


@dataclass(frozen=True)
class Approval:
    approval_id: str
    run_id: str
    user_id: str
    requested: AuditEvent


async def _request(store: SqlStore, *call_ids: str) -> Approval:
    """What the engine records when it opens an approval request over `call_ids`."""
    user = await store.create_user("olga", "approver", None)
    conversation = await store.create_conversation("t", user.id, ["prod"])
    run = await store.create_run(conversation.id, "chat", user.id)
    for call_id in call_ids:
        await store.write_batch(
            [
                NewCall(
                    call_id=call_id,
                    run_id=run.id,
                    tool="k8s_scale",
                    args=ARGS,
                    context="prod",
                    classification="mutation",
                    destructive=False,
                    call_hash=call_hash("k8s_scale", ARGS, "prod"),
                    status="planned",
                )
            ]
        )
    expires_at = datetime.now(UTC) + timedelta(minutes=5)
    approval = await store.create_approval(
        run_id=run.id, proposed_by=user.id, expires_at=expires_at, items=[Item(c) for c in call_ids]
    )
    requested = await store.append_audit(
        "approval.requested",
        {
            "approval_id": approval.id,
            "calls": [_entry(call_id) for call_id in call_ids],
            "expires_at": expires_at.isoformat(),
        },
        actor_id=None,
        actor_name="engine",
        conversation_id=conversation.id,
        run_id=run.id,
    )
    return Approval(approval.id, run.id, user.id, requested)


def _entry(call_id: str) -> dict[str, object]:
    return {
        "call_id": call_id,
        "tool": "k8s_scale",
        "args": ARGS,
        "context": "prod",
        "call_hash": call_hash("k8s_scale", ARGS, "prod"),
        "destructive": False,
    }


async def _decide(store: SqlStore, approval: Approval, call_id: str) -> AuditEvent:
    """The decision as the engine records it: the row, then its audit event."""
    await store.decide(
        approval.approval_id,
        call_id,
        "approve",
        user_id=approval.user_id,
        user_name="olga",
        reason=None,
        now=datetime.now(UTC),
    )
    return await store.append_audit(
        "approval.granted",
        {"approval_id": approval.approval_id, "call_id": call_id, "reason": None},
        actor_id=approval.user_id,
        actor_name="olga",
        run_id=approval.run_id,
        call_id=call_id,
    )


async def _drop_update_trigger(store: SqlStore, raw_sql: RawSql) -> None:
    if store.backend == "postgresql":
        await raw_sql("DROP TRIGGER audit_log_append_only ON audit_log")
    else:
        await raw_sql("DROP TRIGGER audit_log_no_update")


async def test_authentic_request_and_decision_are_found(store: SqlStore) -> None:
    approval = await _request(store, "call_a", "call_b")
    granted = await _decide(store, approval, "call_a")

    evidence = await store.approval_evidence(approval.approval_id, "call_a")

    assert evidence.requested == _entry("call_a")
    assert evidence.decision == granted
    assert evidence.forged == []
    other = await store.approval_evidence(approval.approval_id, "call_b")
    assert (other.requested, other.decision) == (_entry("call_b"), None)
    unknown = await store.approval_evidence("apr_unknown", "call_a")
    assert (unknown.requested, unknown.decision) == (None, None)


async def test_an_edited_request_row_is_not_authentic(store: SqlStore, raw_sql: RawSql) -> None:
    approval = await _request(store, "call_a")
    await _decide(store, approval, "call_a")
    await _drop_update_trigger(store, raw_sql)
    seq = approval.requested.seq
    await raw_sql(
        "UPDATE audit_log SET payload = replace(payload, :approved, :edited) WHERE seq = :seq",
        approved='"replicas":4',
        edited='"replicas":9',
        seq=seq,
    )

    edited = await store.approval_evidence(approval.approval_id, "call_a")

    assert edited.requested is None
    assert edited.forged == [seq]
    assert edited.decision is not None


async def test_a_request_rewritten_with_a_recomputed_hash_is_not_authentic(
    store: SqlStore, raw_sql: RawSql
) -> None:
    approval = await _request(store, "call_a")
    await _drop_update_trigger(store, raw_sql)
    event = approval.requested
    entry = {**_entry("call_a"), "args": {**ARGS, "replicas": 9}}
    entry["call_hash"] = call_hash("k8s_scale", entry["args"], "prod")  # type: ignore[arg-type]
    payload = {**event.payload, "calls": [entry]}
    digest = chain_hash(**{**event.model_dump(exclude={"hash", "mac"}), "payload": payload})
    await raw_sql(
        "UPDATE audit_log SET payload = :payload, hash = :hash WHERE seq = :seq",
        payload=canonical_json(payload),
        hash=digest,
        seq=event.seq,
    )

    evidence = await store.approval_evidence(approval.approval_id, "call_a")

    assert (evidence.requested, evidence.forged) == (None, [event.seq])


async def test_a_decision_written_only_in_the_database_is_absent(
    store: SqlStore, raw_sql: RawSql
) -> None:
    approval = await _request(store, "call_a")
    await store.decide(
        approval.approval_id,
        "call_a",
        "approve",
        user_id=approval.user_id,
        user_name="olga",
        reason=None,
        now=datetime.now(UTC),
    )
    assert (await store.get_approval(approval.approval_id)).status == "approved"
    assert (await store.approval_evidence(approval.approval_id, "call_a")).decision is None

    # A granted event added by hand, chained and hashed correctly, but without the key.
    last = (await store.list_audit())[-1]
    forged = AuditEvent(
        seq=last.seq + 1,
        at=datetime.now(UTC),
        actor_id=approval.user_id,
        actor_name="olga",
        kind="approval.granted",
        run_id=approval.run_id,
        call_id="call_a",
        payload={"approval_id": approval.approval_id, "call_id": "call_a", "reason": None},
        prev_hash=last.hash,
        hash="",
    )
    digest = chain_hash(**forged.model_dump(exclude={"hash", "mac"}))
    at = (
        forged.at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        if store.backend == "sqlite"
        else forged.at
    )
    await raw_sql(
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, kind, run_id, call_id, payload, "
        "prev_hash, hash) VALUES (:seq, :at, :actor, 'olga', 'approval.granted', :run, "
        "'call_a', :payload, :prev, :hash)",
        seq=forged.seq,
        at=at,
        actor=approval.user_id,
        run=approval.run_id,
        payload=canonical_json(forged.payload),
        prev=last.hash,
        hash=digest,
    )

    evidence = await store.approval_evidence(approval.approval_id, "call_a")

    assert evidence.decision is None
    assert evidence.forged == [forged.seq]
    assert evidence.requested == _entry("call_a")


async def test_a_decision_for_another_call_is_not_evidence(store: SqlStore) -> None:
    approval = await _request(store, "call_a", "call_b")
    await _decide(store, approval, "call_b")
    evidence = await store.approval_evidence(approval.approval_id, "call_a")
    assert (evidence.decision, evidence.forged) == (None, [])
