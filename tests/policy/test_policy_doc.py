"""docs/policy.md: every YAML block loads, and its three examples do what the text says."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from opsgate.domain.policy import Decider, Policy, PolicyRefusal, Subject, judge, requirement_for
from opsgate.domain.policy_load import load_policy
from opsgate.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "policy.md"
OLGA = "u-olga"
ADA = Decider("u-ada", "ada", "approver", ("sre-prod",))
FRIDAY_17_BERLIN = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
THURSDAY_17_BERLIN = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def _blocks() -> list[Policy]:
    return [load_policy(b) for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)]


def _subject(context: str = "prod", destructive: bool = False) -> Subject:
    return Subject(
        "k8s_scale", "kubectl", destructive, context, "payments", "deployment", None, "operator"
    )


def _example(rule_id: str) -> Policy:
    """The example of that name (the last block with it: the format block comes first)."""
    return [p for p in _blocks() if [r.id for r in p.rules] == [rule_id]][-1]


def test_every_yaml_block_of_the_doc_loads() -> None:
    assert len(_blocks()) == 4


def test_the_two_person_example_needs_two_from_sre_prod_and_never_the_requester() -> None:
    requirement = requirement_for(_example("prod-two-person"), _subject("prod-eu"), "file")
    assert requirement.rule_ids == ["prod-two-person"]
    assert requirement_for(_example("prod-two-person"), _subject("staging"), None).rules == ()
    first = judge(
        requirement, [], ADA, approve=True, reason=None, requester_id=OLGA, now=FRIDAY_17_BERLIN
    )
    assert not first.final
    with pytest.raises(PolicyRefusal, match="requester may not approve"):
        judge(
            requirement,
            [],
            ADA,
            approve=True,
            reason=None,
            requester_id=ADA.user_id,
            now=FRIDAY_17_BERLIN,
        )


def test_the_friday_freeze_example_refuses_after_16_and_lets_break_glass_through() -> None:
    requirement = requirement_for(_example("friday-freeze"), _subject(), "file")
    with pytest.raises(PolicyRefusal, match="no changes on Friday afternoons"):
        judge(
            requirement, [], ADA, approve=True, reason="x", requester_id=OLGA, now=FRIDAY_17_BERLIN
        )
    assert judge(
        requirement, [], ADA, approve=True, reason=None, requester_id=OLGA, now=THURSDAY_17_BERLIN
    ).final
    commander = Decider("u-ivy", "ivy", "approver", ("incident-commander",))
    glass = judge(
        requirement,
        [],
        commander,
        approve=True,
        reason="INC-1",
        requester_id=OLGA,
        now=FRIDAY_17_BERLIN,
    )
    assert glass.break_glass == ("friday-freeze",)


def test_the_ticket_example_wants_a_ticket_id_in_a_destructive_changes_reason() -> None:
    policy = _example("destructive-needs-ticket")
    assert requirement_for(policy, _subject(destructive=False), None).rules == ()
    requirement = requirement_for(policy, _subject(destructive=True), "file")
    with pytest.raises(PolicyRefusal, match="must match"):
        judge(
            requirement,
            [],
            ADA,
            approve=True,
            reason="cleanup",
            requester_id=OLGA,
            now=FRIDAY_17_BERLIN,
        )
    assert judge(
        requirement,
        [],
        ADA,
        approve=True,
        reason="OPS-123 cleanup",
        requester_id=OLGA,
        now=FRIDAY_17_BERLIN,
    ).final
