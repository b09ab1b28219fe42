"""The approval policy: ordered rules that add requirements to the built-in gate.

`domain.policy_load` reads a policy from YAML into `Policy`; the engine matches it against
each mutation when it opens an approval request (`requirement_for`) and stores the
`Requirement` with the request's item, so a later policy change never touches a request that
is already open. `Engine.decide` asks `judge` whether one more decision counts and whether it
completes the item; the API, the CLI and the approval card show `progress`.

A rule can only make the gate stricter: there is no field that lowers the built-in one
approval from an approver, skips the gate or re-admits the requester (`approvals` is at
least 1, and `requester_excluded`/`reason` can only be `true`). With no rules (no policy file)
a request's requirement is empty and the gate behaves exactly as it always has.
"""

from __future__ import annotations

import fnmatch
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from opsgate.domain.calls import Family
from opsgate.domain.roles import Role
from opsgate.domain.runs import DecisionKind

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ApproverRole = Literal["approver", "admin"]
"""Only roles that may approve at all: a rule cannot widen who decides."""


def _listed(value: object) -> object:
    """A single value written where a list is expected means a list of one."""
    return [value] if isinstance(value, str | bool | int) else value


Patterns = Annotated[tuple[str, ...], BeforeValidator(_listed)]
"""Glob patterns (`prod-*`); a value matches if any pattern does."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Window(_Strict):
    """A weekly stretch of time in one timezone: `days` from `after` until `before`."""

    days: Annotated[tuple[Day, ...], BeforeValidator(_listed)] = DAYS
    after: time = time(0, 0)
    before: time | Literal["24:00"] = "24:00"
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown timezone {value!r}") from e
        return value

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(zoneinfo.ZoneInfo(self.timezone))
        if DAYS[local.weekday()] not in self.days:
            return False
        clock = local.time().replace(tzinfo=None)
        return clock >= self.after and (self.before == "24:00" or clock < self.before)

    def describe(self) -> str:
        days = "every day" if set(self.days) == set(DAYS) else ",".join(self.days)
        before = self.before if isinstance(self.before, str) else self.before.strftime("%H:%M")
        return f"{days} {self.after.strftime('%H:%M')}-{before} {self.timezone}"


class Match(_Strict):
    """What a rule applies to; a field left out matches everything."""

    tool: Patterns = ()
    family: Annotated[tuple[Family, ...], BeforeValidator(_listed)] = ()
    destructive: bool | None = None
    context: Patterns = ()
    namespace: Patterns = ()
    kind: Patterns = ()
    """The resource kind the call targets (`deployment`; plurals match too)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels of the target object (read by its preview); unknown labels match (fail closed)."""
    requester_role: Annotated[tuple[Role, ...], BeforeValidator(_listed)] = ()
    requester_group: Patterns = ()


class Require(_Strict):
    """What a matching rule adds to the gate."""

    approvals: int = Field(default=1, ge=1, le=10)
    """Distinct approvers needed (the built-in gate needs one)."""
    approver_roles: Annotated[tuple[ApproverRole, ...], BeforeValidator(_listed)] = ()
    approver_groups: Patterns = ()
    requester_excluded: Literal[True] | None = None
    reason: Literal[True] | None = None
    reason_pattern: str | None = None
    """A regular expression the reason must contain a match of (e.g. a ticket id)."""
    windows: tuple[Window, ...] = ()
    """Approvals only inside one of these (break-glass aside)."""
    freezes: tuple[Window, ...] = ()
    """No approvals inside any of these (break-glass aside)."""
    break_glass_role: str | None = None
    """A role or group whose members may still approve in a freeze, with a reason."""
    max_ttl_s: int | None = Field(default=None, ge=1)
    """The request expires at most this long after it opens."""

    @field_validator("reason_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from e
        return value


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    description: str | None = None
    message: str | None = None
    """Said when this rule refuses a decision."""
    match: Match = Match()
    require: Require = Require()


class Policy(_Strict):
    rules: tuple[Rule, ...] = ()

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return rules


BUILT_IN = Policy()
"""No rules: today's gate (one approval from an approver)."""


@dataclass(frozen=True)
class Subject:
    """A planned mutation and who asked for it, as a policy matches it."""

    tool: str
    family: Family | None
    destructive: bool
    context: str | None
    namespace: str | None
    kind: str | None
    labels: Mapping[str, str] | None
    """None when they could not be read: rules on labels then apply."""
    requester_role: Role
    requester_groups: tuple[str, ...] = ()


def _any(value: str | None, patterns: Sequence[str]) -> bool:
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _kind_matches(kind: str | None, patterns: Sequence[str]) -> bool:
    if kind is None:
        return False
    forms = {kind.lower(), kind.lower().removesuffix("s"), kind.lower().removesuffix("es")}
    return any(_any(form, patterns) for form in forms)


def why_not(rule: Rule, subject: Subject) -> str | None:
    """None if the rule applies to the subject, else the first field that does not match."""
    m = rule.match
    checks: list[tuple[bool, str]] = [
        (not m.tool or _any(subject.tool, m.tool), f"tool {subject.tool!r}"),
        (not m.family or subject.family in m.family, f"family {subject.family!r}"),
        (
            m.destructive is None or m.destructive == subject.destructive,
            f"destructive={subject.destructive}",
        ),
        (not m.context or _any(subject.context, m.context), f"context {subject.context!r}"),
        (
            not m.namespace or _any(subject.namespace, m.namespace),
            f"namespace {subject.namespace!r}",
        ),
        (not m.kind or _kind_matches(subject.kind, m.kind), f"kind {subject.kind!r}"),
        (
            subject.labels is None or all(subject.labels.get(k) == v for k, v in m.labels.items()),
            f"labels {dict(subject.labels or {})!r}",
        ),
        (
            not m.requester_role or subject.requester_role in m.requester_role,
            f"requester role {subject.requester_role!r}",
        ),
        (
            not m.requester_group
            or any(_any(g, m.requester_group) for g in subject.requester_groups),
            f"requester groups {list(subject.requester_groups)!r}",
        ),
    ]
    return next((f"{what} does not match" for ok, what in checks if not ok), None)


class RuleRequirement(_Strict):
    """One matched rule's demands, stored with the approval item when the request opens."""

    rule_id: str
    message: str | None = None
    require: Require


class Requirement(_Strict):
    """What an approval item needs: the built-in gate plus every matched rule."""

    rules: tuple[RuleRequirement, ...] = ()
    policy_version: str | None = None
    """Which policy this came from (`file`, a saved version's id, or None for built-in)."""

    @property
    def rule_ids(self) -> list[str]:
        return [r.rule_id for r in self.rules]

    def ttl_s(self, default_s: int) -> int:
        """The request's lifetime: the settings' TTL, shortened by any rule's maximum."""
        limits = [r.require.max_ttl_s for r in self.rules if r.require.max_ttl_s is not None]
        return min([default_s, *limits])


def requirement_for(policy: Policy, subject: Subject, version: str | None) -> Requirement:
    """Every rule that applies to the subject, in the policy's order."""
    matched = tuple(
        RuleRequirement(rule_id=r.id, message=r.message, require=r.require)
        for r in policy.rules
        if why_not(r, subject) is None
    )
    return Requirement(rules=matched, policy_version=version)


@dataclass(frozen=True)
class Vote:
    """A decision already recorded on an item."""

    user_id: str
    user_name: str
    decision: DecisionKind
    rule_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decider:
    user_id: str
    user_name: str
    role: Role
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Judgement:
    """What a decision that the policy allows does."""

    rule_ids: tuple[str, ...]
    """The rules it counts toward."""
    final: bool
    """The item is decided by it (approved once every rule's quorum is met, or rejected)."""
    break_glass: tuple[str, ...] = field(default=())
    """Rules whose freeze or window it overrode through the break-glass role."""


class PolicyRefusal(Exception):
    """The policy does not allow this decision; the message says which rule and why."""


def eligible(require: Require, decider: Decider) -> bool:
    roles_ok = not require.approver_roles or decider.role in require.approver_roles
    groups_ok = not require.approver_groups or any(
        _any(g, require.approver_groups) for g in decider.groups
    )
    return roles_ok and groups_ok


def _who(require: Require) -> str:
    parts = []
    if require.approver_groups:
        parts.append("group " + " or ".join(require.approver_groups))
    if require.approver_roles:
        parts.append("role " + " or ".join(require.approver_roles))
    return " from " + " and ".join(parts) if parts else ""


def _said(rule: RuleRequirement, why: str) -> str:
    said = f"rule {rule.rule_id!r}: {why}"
    return f"{said} ({rule.message})" if rule.message else said


def _time_check(rule: RuleRequirement, decider: Decider, reason: str | None, now: datetime) -> bool:
    """Whether approving now needs break-glass for this rule (raises if not available)."""
    require = rule.require
    frozen = next((w for w in require.freezes if w.contains(now)), None)
    outside = bool(require.windows) and not any(w.contains(now) for w in require.windows)
    if frozen is None and not outside:
        return False
    why = (
        f"changes are frozen ({frozen.describe()})"
        if frozen is not None
        else "approvals are allowed only " + "; ".join(w.describe() for w in require.windows)
    )
    glass = require.break_glass_role
    if glass is None or (decider.role != glass and glass not in decider.groups):
        return _refuse(rule, why)
    if reason is None:
        return _refuse(rule, f"{why}; break-glass by {glass!r} needs a reason")
    return True


def _refuse(rule: RuleRequirement, why: str) -> bool:
    raise PolicyRefusal(_said(rule, why))


def judge(
    requirement: Requirement,
    votes: Sequence[Vote],
    decider: Decider,
    *,
    approve: bool,
    reason: str | None,
    requester_id: str,
    now: datetime,
) -> Judgement:
    """Whether `decider` may make this decision now, what it counts toward, and whether it
    decides the item. Raises `PolicyRefusal` naming the rule when it may not."""
    rules = requirement.rules
    if not approve:
        if rules and not any(eligible(r.require, decider) for r in rules):
            first = rules[0]
            raise PolicyRefusal(
                _said(first, f"only approvers{_who(first.require)} may decide this call")
            )
        return Judgement(tuple(r.rule_id for r in rules if eligible(r.require, decider)), True)
    if any(v.user_id == decider.user_id and v.decision == "approve" for v in votes):
        raise PolicyRefusal(f"{decider.user_name} has already approved this call")
    glass: list[str] = []
    for rule in rules:
        require = rule.require
        if require.requester_excluded and decider.user_id == requester_id:
            _refuse(rule, "the requester may not approve this change")
        if _time_check(rule, decider, reason, now):
            glass.append(rule.rule_id)
        if (require.reason or require.reason_pattern) and reason is None:
            _refuse(rule, "an approval needs a reason")
        if require.reason_pattern and not re.search(require.reason_pattern, reason or ""):
            _refuse(rule, f"the reason must match {require.reason_pattern!r}")
    given = {r.rule_id: _approvers(votes, r.rule_id) for r in rules}
    open_rules = [r for r in rules if len(given[r.rule_id]) < r.require.approvals]
    counted = [r for r in open_rules if eligible(r.require, decider)]
    if rules and not counted:
        first = open_rules[0] if open_rules else rules[0]
        raise PolicyRefusal(
            _said(
                first,
                f"approvals must come{_who(first.require) or ' from other approvers'}; "
                f"{decider.user_name} does not count toward it",
            )
        )
    for rule in counted:
        given[rule.rule_id].append(decider.user_name)
    final = all(len(given[r.rule_id]) >= r.require.approvals for r in rules)
    return Judgement(tuple(r.rule_id for r in counted), final, tuple(glass))


def _approvers(votes: Sequence[Vote], rule_id: str) -> list[str]:
    return [v.user_name for v in votes if v.decision == "approve" and rule_id in v.rule_ids]


def progress(requirement: Requirement, votes: Sequence[Vote]) -> list[str]:
    """One line per rule, e.g. "2 of 2 approvals from group sre-prod needed; 1 given (ada)"."""
    if not requirement.rules:
        given = [v.user_name for v in votes if v.decision == "approve"]
        return [_line(1, "", given, None)]
    return [
        _line(r.require.approvals, _who(r.require), _approvers(votes, r.rule_id), r.rule_id)
        for r in requirement.rules
    ]


def _line(needed: int, who: str, given: list[str], rule_id: str | None) -> str:
    noun = "approval" if needed == 1 else "approvals"
    names = f" ({', '.join(given)})" if given else ""
    line = f"{needed} of {needed} {noun}{who} needed; {len(given)} given{names}"
    return f"{line} [rule {rule_id}]" if rule_id else line
