"""The approval policy on the sandbox: real kubectl, the real MCP tool server, the real store.

The sandbox's context stands in for production. Each test opens the engine with a policy
file, asks for a `k8s_scale` of a deployment in its own namespace, and reads the cluster to
prove what ran and when.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsgate.domain.policy import progress
from opsgate.domain.policy_load import load_policy
from opsgate.engine.policy_source import ActivePolicy
from opsgate.errors import DecisionRefused
from opsgate.store.records import User
from tests.fixtures.engine import Harness, HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

pytestmark = [pytest.mark.sandbox]

FRIDAY_17_BERLIN = datetime(2026, 12, 4, 16, 0, tzinfo=UTC).timestamp()
"""Friday 4 December 2026, 17:00 in Berlin (UTC+1)."""
MONDAY_10_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC).timestamp()


def _two_person(context: str) -> str:
    return f"""
rules:
  - id: prod-two-person
    message: production changes need two people from SRE
    match: {{context: {context}}}
    require:
      approvals: 2
      approver_groups: sre-prod
      requester_excluded: true
"""


FREEZE = """
rules:
  - id: friday-freeze
    message: no changes on Friday afternoons
    require:
      freezes:
        - {days: fri, after: 16:00, timezone: Europe/Berlin}
      break_glass_role: incident-commander
"""


async def _open(factory: HarnessFactory, text: str) -> Harness:
    factory.policy_file = ActivePolicy(load_policy(text), "file", "file", text)
    return await factory.open(None)


async def _approver(h: Harness, name: str, *groups: str) -> User:
    user = await h.store.create_user(name, "approver", None)
    return await h.store.update_user(user.id, groups=groups)


def _web(sandbox: SandboxInfo, namespace: str) -> None:
    manifest = deployment_manifest("web", namespace, "nginx:1.27", 2)
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
    assert applied.returncode == 0, applied.stderr


def _replicas(sandbox: SandboxInfo, namespace: str) -> int:
    return int(get_json(sandbox, "deployment/web", "-n", namespace)["spec"]["replicas"])


async def _scale(h: Harness, namespace: str, replicas: int) -> tuple[str, str, str]:
    """Ask for the scale; returns (run id, approval id, call id) once it waits at the gate."""
    run = await h.engine.submit_call(
        h.conversation.id,
        h.operator,
        "k8s_scale",
        {"resource": "deployment/web", "replicas": replicas, "namespace": namespace},
    )
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "awaiting_approval"
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    return run.id, approval_id, item.call_id


async def test_two_distinct_approvers_from_the_group_run_the_change_only_after_the_second(
    sandbox_harnesses: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    _web(sandbox, namespace)
    h = await _open(sandbox_harnesses, _two_person(sandbox.context))
    ada = await _approver(h, "ada", "sre-prod")
    bob = await _approver(h, "bob", "sre-prod")
    outsider = await _approver(h, "carl", "web-team")
    requester = await h.store.update_user(h.operator.id, role="approver", groups=("sre-prod",))
    run_id, approval_id, call_id = await _scale(h, namespace, 3)

    with pytest.raises(DecisionRefused, match="the requester may not approve"):
        await h.engine.decide(approval_id, call_id, requester, approve=True, reason=None)
    with pytest.raises(DecisionRefused, match="group sre-prod"):
        await h.engine.decide(approval_id, call_id, outsider, approve=True, reason=None)

    first = await h.engine.decide(approval_id, call_id, ada, approve=True, reason=None)
    assert first.status == "pending"
    [item] = first.items
    assert item.requirement is not None
    assert item.requirement.rule_ids == ["prod-two-person"]
    assert progress(item.requirement, item.votes()) == [
        "2 of 2 approvals from group sre-prod needed; 1 given (ada) [rule prod-two-person]"
    ]
    await h.engine.wait_run(run_id)
    assert _replicas(sandbox, namespace) == 2  # nothing ran on one approval
    with pytest.raises(DecisionRefused, match="ada has already approved"):
        await h.engine.decide(approval_id, call_id, ada, approve=True, reason=None)

    second = await h.engine.decide(approval_id, call_id, bob, approve=True, reason="ok")
    assert second.status == "approved"
    await h.engine.wait_run(run_id)
    assert _replicas(sandbox, namespace) == 3
    [item] = (await h.store.get_approval(approval_id)).items
    assert [(d.decided_by_name, d.rule_ids) for d in item.decisions] == [
        ("ada", ("prod-two-person",)),
        ("bob", ("prod-two-person",)),
    ]
    assert item.decision is not None
    assert item.decision.decided_by_name == "bob"
    granted = [e for e in await h.store.list_audit(limit=1000) if e.kind == "approval.granted"]
    assert [(e.actor_name, e.payload["rule_ids"], e.payload["settled"]) for e in granted] == [
        ("ada", ["prod-two-person"], False),
        ("bob", ["prod-two-person"], True),
    ]
    [requested] = [
        e for e in await h.store.list_audit(limit=1000) if e.kind == "approval.requested"
    ]
    assert requested.payload["requirements"][call_id]["rules"][0]["rule_id"] == "prod-two-person"


async def test_a_freeze_refuses_approval_with_the_rules_message_and_break_glass_needs_a_reason(
    sandbox_harnesses: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    _web(sandbox, namespace)
    sandbox_harnesses.clock.now = FRIDAY_17_BERLIN
    h = await _open(sandbox_harnesses, FREEZE)
    commander = await _approver(h, "ivy", "incident-commander")
    run_id, approval_id, call_id = await _scale(h, namespace, 4)

    with pytest.raises(DecisionRefused, match=r"frozen .*no changes on Friday afternoons"):
        await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason="please")
    with pytest.raises(DecisionRefused, match="break-glass by 'incident-commander' needs a reason"):
        await h.engine.decide(approval_id, call_id, commander, approve=True, reason=None)
    assert _replicas(sandbox, namespace) == 2

    decided = await h.engine.decide(
        approval_id, call_id, commander, approve=True, reason="INC-42 checkout is down"
    )
    assert decided.status == "approved"
    await h.engine.wait_run(run_id)
    assert _replicas(sandbox, namespace) == 4
    audit = await h.store.list_audit(limit=1000)
    [glass] = [e for e in audit if e.kind == "approval.break_glass"]
    assert glass.actor_name == "ivy"
    assert glass.payload == {
        "approval_id": approval_id,
        "call_id": call_id,
        "rule_ids": ["friday-freeze"],
        "reason": "INC-42 checkout is down",
    }
    [granted] = [e for e in audit if e.kind == "approval.granted"]
    assert granted.payload["break_glass"] == ["friday-freeze"]


async def test_outside_the_freeze_an_approver_approves_as_always(
    sandbox_harnesses: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    _web(sandbox, namespace)
    sandbox_harnesses.clock.now = MONDAY_10_BERLIN
    h = await _open(sandbox_harnesses, FREEZE)
    run_id, approval_id, call_id = await _scale(h, namespace, 3)
    decided = await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason=None)
    assert decided.status == "approved"
    await h.engine.wait_run(run_id)
    assert _replicas(sandbox, namespace) == 3
    assert not [e for e in await h.store.list_audit(limit=1000) if e.kind == "approval.break_glass"]


async def test_a_policy_edit_does_not_loosen_an_open_request(
    sandbox_harnesses: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    _web(sandbox, namespace)
    h = await _open(sandbox_harnesses, _two_person(sandbox.context))
    ada = await _approver(h, "ada", "sre-prod")
    bob = await _approver(h, "bob", "sre-prod")
    run_id, approval_id, call_id = await _scale(h, namespace, 3)

    looser = "rules:\n  - id: anyone\n    require: {approvals: 1}\n"
    load_policy(looser)
    await h.store.save_policy_version(
        looser, user_id=ada.id, user_name="ada", previous="file", diff="(a looser policy)"
    )
    opened = await h.engine.decide(approval_id, call_id, ada, approve=True, reason=None)
    assert opened.status == "pending"  # still two of two, as when it opened
    await h.engine.wait_run(run_id)
    assert _replicas(sandbox, namespace) == 2

    # A new request follows the new policy: one approval from anyone who may approve.
    new_run, new_approval, new_call = await _scale(h, namespace, 5)
    [new_item] = (await h.store.get_approval(new_approval)).items
    assert new_item.requirement is not None
    assert new_item.requirement.rule_ids == ["anyone"]

    await h.engine.decide(approval_id, call_id, bob, approve=True, reason=None)
    await h.engine.wait_run(run_id)
    assert _replicas(sandbox, namespace) == 3
    await h.engine.decide(new_approval, new_call, h.approver, approve=True, reason=None)
    await h.engine.wait_run(new_run)
    assert _replicas(sandbox, namespace) == 5


async def test_a_rule_on_labels_matches_the_labels_the_preview_read(
    sandbox_harnesses: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    _web(sandbox, namespace)
    labelled = kubectl(sandbox, "label", "deployment/web", "tier=critical", "-n", namespace)
    assert labelled.returncode == 0, labelled.stderr
    plain = deployment_manifest("plain", namespace, "nginx:1.27", 1)
    assert kubectl(sandbox, "apply", "-f", "-", stdin=plain).returncode == 0
    h = await _open(
        sandbox_harnesses,
        "rules:\n  - id: critical\n    match: {labels: {tier: critical}}\n"
        "    require: {approvals: 2}\n",
    )
    _, critical_approval, _ = await _scale(h, namespace, 3)
    run = await h.engine.submit_call(
        h.conversation.id,
        h.operator,
        "k8s_scale",
        {"resource": "deployment/plain", "replicas": 2, "namespace": namespace},
    )
    await h.engine.wait_run(run.id)
    [plain_item] = (await h.store.get_approval(await h.pending_approval_id(run.id))).items
    [critical_item] = (await h.store.get_approval(critical_approval)).items
    assert critical_item.requirement is not None
    assert critical_item.requirement.rule_ids == ["critical"]
    assert plain_item.requirement is not None
    assert plain_item.requirement.rule_ids == []
