"""Judging decisions against a stored requirement: quorum, groups, windows in their own
timezone, and the progress line the card and the CLI show."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsgate.domain.policy import (
    Decider,
    PolicyRefusal,
    Requirement,
    Subject,
    Vote,
    judge,
    progress,
    requirement_for,
)
from opsgate.domain.policy_load import load_policy

POLICY = load_policy(
    """
rules:
  - id: prod-two-person
    match: {context: prod-*, kind: deployment}
    require: {approvals: 2, approver_groups: sre-prod}
  - id: office-hours
    match: {namespace: payments}
    require:
      windows:
        - {days: [mon, tue, wed, thu, fri], after: 09:00, before: 17:00,
           timezone: America/New_York}
"""
)
ADA = Decider("u-ada", "ada", "approver", ("sre-prod",))
BOB = Decider("u-bob", "bob", "approver", ("sre-prod",))
TUESDAY_NOON_NY = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
TUESDAY_NIGHT_NY = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def _subject(context: str, namespace: str, kind: str | None = "deployments") -> Subject:
    return Subject(
        tool="k8s_scale",
        family="kubectl",
        destructive=False,
        context=context,
        namespace=namespace,
        kind=kind,
        labels=None,
        requester_role="operator",
    )


def _requirement(context: str = "prod-eu", namespace: str = "payments") -> Requirement:
    return requirement_for(POLICY, _subject(context, namespace), "file")


def test_rules_match_on_context_pattern_kind_and_namespace() -> None:
    assert _requirement().rule_ids == ["prod-two-person", "office-hours"]
    assert _requirement("staging", "shop").rule_ids == []
    assert requirement_for(POLICY, _subject("prod-eu", "shop", "secrets"), None).rule_ids == []


def test_the_second_distinct_approver_settles_and_progress_says_who_gave_what() -> None:
    requirement = _requirement(namespace="shop")
    first = judge(
        requirement, [], ADA, approve=True, reason=None, requester_id="u-olga", now=TUESDAY_NOON_NY
    )
    assert (first.rule_ids, first.final) == (("prod-two-person",), False)
    votes = [Vote("u-ada", "ada", "approve", first.rule_ids)]
    assert progress(requirement, votes) == [
        "2 of 2 approvals from group sre-prod needed; 1 given (ada) [rule prod-two-person]"
    ]
    second = judge(
        requirement,
        votes,
        BOB,
        approve=True,
        reason=None,
        requester_id="u-olga",
        now=TUESDAY_NOON_NY,
    )
    assert second.final


def test_approvals_outside_the_window_in_its_timezone_are_refused() -> None:
    requirement = _requirement()
    with pytest.raises(PolicyRefusal, match="allowed only mon,tue,wed,thu,fri 09:00-17:00"):
        judge(
            requirement,
            [],
            ADA,
            approve=True,
            reason=None,
            requester_id="u-olga",
            now=TUESDAY_NIGHT_NY,
        )
    allowed = judge(
        requirement, [], ADA, approve=True, reason=None, requester_id="u-olga", now=TUESDAY_NOON_NY
    )
    assert allowed.rule_ids == ("prod-two-person", "office-hours")


def test_an_empty_requirement_needs_the_built_in_single_approval() -> None:
    assert progress(Requirement(), []) == ["1 of 1 approval needed; 0 given"]
    verdict = judge(
        Requirement(), [], ADA, approve=True, reason=None, requester_id="u-o", now=TUESDAY_NOON_NY
    )
    assert verdict.final
