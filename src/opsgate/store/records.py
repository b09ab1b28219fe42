"""Records the store reads and writes: the shared vocabulary of the store's interface.

Plain pydantic models returned by every `Store` implementation and used by the engine, the
API and the CLI. Secrets never appear here in clear except `JenkinsServerRecord.token`, which
only `Store.get_jenkins_server(..., reveal=True)` fills (for the tool server, never the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from opsgate.domain.audit import AuditEvent, AuditKind
from opsgate.domain.calls import CallStatus, Classification
from opsgate.domain.events import PreviewOutcome
from opsgate.domain.grants import Grant
from opsgate.domain.policy import Requirement, Vote
from opsgate.domain.roles import Role
from opsgate.domain.runs import (
    ApprovalStatus,
    DecisionKind,
    DecisionVia,
    MessageRole,
    RunKind,
    RunStatus,
)
from opsgate.domain.sign_in import SignIn


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class User(_Record):
    id: str
    username: str
    role: Role
    disabled: bool
    created_at: datetime
    groups: tuple[str, ...] = ()
    """The identity provider's groups for the user at their last sign-in; empty for local users."""
    sign_in: SignIn = "local"
    """How the user signs in: a password (`local`), single sign-on (`oidc`) or a proxy."""
    subject: str | None = None
    """The identity provider's stable id for an `oidc` or `proxy` user."""
    grants: tuple[Grant, ...] = ()
    """Roles held in given contexts/namespaces beyond `role` (see `domain.grants`)."""


class UserWithSecret(User):
    password_hash: str | None
    """Argon2 hash; None for users who may only use API tokens."""


class ApiToken(_Record):
    id: str
    user_id: str
    name: str
    prefix: str
    """The first characters of the token, for recognising it in lists."""
    created_by: str | None
    """The user who made it while signed in; None when made on the database (the CLI)."""
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def made_by_owner(self) -> bool:
        """Whether its own user made it: only then may it decide approvals as that user."""
        return self.created_by == self.user_id


class Conversation(_Record):
    id: str
    title: str
    owner_id: str
    contexts: list[str]
    """Kubeconfig contexts this conversation may use; the first is the default."""
    namespace: str | None
    created_at: datetime
    updated_at: datetime


class Message(_Record):
    id: str
    conversation_id: str
    run_id: str | None
    role: MessageRole
    text: str
    author_id: str | None
    created_at: datetime
    data: dict[str, Any] | None = None
    """Structured parts (tool calls of an assistant turn, the call id of a tool result)."""


class Run(_Record):
    id: str
    conversation_id: str
    kind: RunKind
    requested_by: str
    """User id of the person who asked."""
    status: RunStatus
    reason: str | None
    created_at: datetime
    finished_at: datetime | None
    model_turns: int
    tool_calls: int
    owner_id: str | None = None
    """The engine driving the run; None while it waits at the gate."""
    client_name: str | None = None
    """The outside MCP client program the run came from (`clientInfo` of `initialize`)."""
    client_version: str | None = None


class ToolCallRecord(_Record):
    id: str
    run_id: str
    conversation_id: str
    tool: str
    args: dict[str, Any]
    context: str | None
    classification: Classification
    destructive: bool
    call_hash: str
    status: CallStatus
    cluster: str | None = None
    """The server URL of the cluster the change is bound to (see `NewCall.cluster`)."""
    approval_id: str | None
    acting_as: str | None = None
    """Who the call acted as on the cluster under impersonation (`alice (groups: dev)`: the
    requester for a read, the approver for a change); None for opsgate's own identity."""
    output: str | None
    """Redacted, capped output."""
    output_sha256: str | None
    output_size: int | None
    exit_code: int | None
    truncated: bool
    duration_ms: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ApprovalDecision(_Record):
    call_id: str
    decision: DecisionKind
    decided_by: str
    """User id."""
    decided_by_name: str
    reason: str | None
    decided_at: datetime
    decided_via: DecisionVia | None = None
    """`elicitation`: confirmed in the MCP client, not in opsgate (lower assurance)."""
    rule_ids: tuple[str, ...] = ()
    """The policy rules this decision counted toward."""

    def vote(self) -> Vote:
        return Vote(self.decided_by, self.decided_by_name, self.decision, self.rule_ids)


class ApprovalItem(_Record):
    """One call inside an approval request, with its own status and decision."""

    call_id: str
    tool: str
    args: dict[str, Any]
    context: str | None
    destructive: bool
    call_hash: str
    cluster: str | None = None
    """The server URL of the cluster the call is bound to."""
    preview: str | None
    preview_state: PreviewOutcome = "unavailable"
    """What the dry run found; a `failed` one needs an override reason to approve."""
    command: str | None = None
    """The exact command the approved call will run, for display (secrets masked)."""
    status: ApprovalStatus
    """The decision on this item (pending until someone decides or it expires)."""
    call_status: CallStatus | None = None
    """Where the call itself is now: after approval it runs and is verified (or not)."""
    decision: ApprovalDecision | None
    """The decision that settled the item (its last one); None while pending."""
    requirement: Requirement | None = None
    """What the policy required when the request opened; None: the built-in gate."""
    decisions: tuple[ApprovalDecision, ...] = ()
    """Every decision given on the item, oldest first (several when a rule needs a quorum)."""

    def votes(self) -> list[Vote]:
        return [d.vote() for d in self.decisions]


class PolicyVersion(_Record):
    """An approval policy an admin saved in the Command Center."""

    id: str
    text: str
    saved_by: str
    saved_by_name: str
    saved_at: datetime


class ApprovalRequest(_Record):
    id: str
    run_id: str
    conversation_id: str
    proposed_by: str
    """User id of the requester of the run (the model proposes on their behalf)."""
    created_at: datetime
    expires_at: datetime
    items: list[ApprovalItem]
    client_name: str | None = None
    """The outside MCP client program the run came from (its `Run.client_name`)."""
    client_version: str | None = None

    @property
    def status(self) -> ApprovalStatus:
        """Pending while any item is pending; else rejected/expired if any was, else approved."""
        statuses = {item.status for item in self.items}
        for status in ("pending", "expired", "rejected"):
            if status in statuses:
                return status
        return "approved"


class StreamEvent(_Record):
    id: int
    """Strictly increasing across the database; the SSE event id."""
    conversation_id: str
    run_id: str
    type: str
    data: dict[str, Any]
    created_at: datetime


class JenkinsServerRecord(_Record):
    name: str
    url: str
    user: str
    verify_tls: bool
    token: str | None = None
    """Only filled when asked for with `reveal=True`."""


class AuditFilter(_Record):
    actor_name: str | None = None
    kind: str | None = None
    """Exact kind, or a prefix ending in `.` or `*` (e.g. `approval.`)."""
    tool: str | None = None
    conversation_id: str | None = None
    run_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class ChainVerification(_Record):
    """What `Store.verify_audit`, `GET /audit/verify` and the offline export check found."""

    ok: bool
    checked: int
    """Events verified before the first problem (all of them when `ok`)."""
    first_broken_seq: int | None = None
    reason: str | None = None
    missing_range: tuple[int, int] | None = None
    """First and last seq of events that should be there and are not (a gap, a cut tail)."""
    head_seq: int | None = None
    """The last seq the signed head record names (None: no head record found)."""
    head_hash: str | None = None
    keyed: bool = False
    """The events' HMACs and the head's signature were checked with the audit key (always in
    the database; offline only when the key is given)."""
    unkeyed_range: tuple[int, int] | None = None
    """Events written before the chain was keyed: checked as a plain SHA-256 chain only, which
    anyone could have recomputed."""


class ApprovalEvidence(_Record):
    """What the audit log authentically says about one call of one approval request.

    Returned by `Store.approval_evidence` for the engine to check before it executes a change.
    """

    requested: dict[str, Any] | None
    """This call's entry (call_id, tool, args, context, call_hash, destructive...) in the
    authentic `approval.requested` event whose payload.approval_id == approval_id."""
    requirement: dict[str, Any] | None = None
    """The approval policy's requirement for this call in that same event; None under the
    built-in gate."""
    decision: AuditEvent | None
    """The authentic `approval.granted` or `approval.rejected` event that settled this call."""
    counted: list[AuditEvent] = []
    """Authentic approvals a policy's quorum counted before the settling one."""
    forged: list[int]
    """Seqs of events naming this approval/call whose HMAC does not verify. (Events older
    than the audit key have no HMAC; they are neither evidence nor forged.)"""


# --- what a batch writes (`Store.write_batch`) -----------------------------------------------


@dataclass(frozen=True)
class NewAuditEvent:
    """One audit event to append (`Store.append_audit_many`, `Store.write_batch`)."""

    kind: AuditKind
    payload: Mapping[str, Any]
    actor_id: str | None
    actor_name: str
    conversation_id: str | None = None
    run_id: str | None = None
    call_id: str | None = None


@dataclass(frozen=True)
class NewCall:
    """A tool call to record (through `Store.write_batch`)."""

    call_id: str
    run_id: str
    tool: str
    args: dict[str, Any]
    context: str | None
    classification: Classification
    destructive: bool
    call_hash: str
    status: CallStatus
    cluster: str | None = None
    """The server URL of the cluster a change is bound to (its context resolved when proposed)."""


@dataclass(frozen=True)
class CallChange:
    """A call's move to `status` (as `Store.set_call_status`); with `expected`, only from those."""

    call_id: str
    status: CallStatus
    expected: tuple[CallStatus, ...] | None = None
    output: str | None = None
    exit_code: int | None = None
    truncated: bool = False
    duration_ms: int | None = None
    acting_as: str | None = None
    """With `running`: who the call acts as on the cluster (`ToolCallRecord.acting_as`)."""


@dataclass(frozen=True)
class NewMessage:
    """A conversation message to add (through `Store.write_batch`)."""

    conversation_id: str
    role: MessageRole
    text: str
    run_id: str | None = None
    author_id: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class NewStreamEvent:
    """A stream event to append (through `Store.write_batch`); its id comes from the store."""

    conversation_id: str
    run_id: str
    type: str
    data: dict[str, Any]


NewRecord = NewCall | CallChange | NewMessage | NewStreamEvent | NewAuditEvent
"""Anything `Store.write_batch` writes."""


AlertGroupStatus = Literal["open", "resolved"]


class AlertGroup(_Record):
    """An alert group's investigation (`Store.open_alert_group`): one conversation while open."""

    source: str
    group_key_sha256: str
    conversation_id: str
    status: AlertGroupStatus
    opened_at: datetime
    updated_at: datetime


class Snapshot(_Record):
    """What a change's targets were just before it ran (`Store.save_snapshot`), redacted, with
    the call that restores them or why none can."""

    call_id: str
    conversation_id: str
    run_id: str
    tool: str
    taken_at: datetime
    sha256: str
    """SHA-256 of the canonical JSON of `content()`; the call's `tool.started` event names it."""
    objects: list[dict[str, Any]]
    undo: dict[str, Any] | None
    """`{tool, args}` of the restoring call (a mutation, gated like any other)."""
    cannot_undo: str | None

    def content(self) -> dict[str, Any]:
        """What `sha256` covers: the call, the objects and the undo."""
        return snapshot_content(self.call_id, self.tool, self.objects, self.undo, self.cannot_undo)


def snapshot_content(
    call_id: str,
    tool: str,
    objects: list[dict[str, Any]],
    undo: dict[str, Any] | None,
    cannot_undo: str | None,
) -> dict[str, Any]:
    """The hashed body of a snapshot (see `Snapshot.sha256`)."""
    return {
        "call_id": call_id,
        "tool": tool,
        "objects": objects,
        "undo": undo,
        "cannot_undo": cannot_undo,
    }
