"""The payload of each audit event, one pydantic model per kind.

The engine's recorder (`engine.recorder.Recorder.audit`) writes the engine's kinds
(`ENGINE_PAYLOADS`); `api.accounts` and the admin and login routes write the accounts and
settings kinds; `store.replay` reads them back through the same models (`AUDIT_PAYLOADS`,
every kind). `payload()` is the
JSON stored (as canonical JSON) under the event's hash and HMAC, so a field's name, type and
presence are part of the audit chain: change them only with a new kind, never in place. Every
event also carries `conversation_id`, `run_id` and, for per-call events, `call_id` in its own
columns.

Fields named in `OMITTED_WHEN_NONE` are left out of the payload when unset (they were written
only when they applied); every other field is always present, null or not. Defaults on
fields the engine always writes let replay read events of earlier versions that lacked them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    field_serializer,
    model_serializer,
    model_validator,
)

from opsgate.domain.audit import AuditKind
from opsgate.domain.calls import CallStatus, Classification
from opsgate.domain.canonical import sha256_hex
from opsgate.domain.events import PlannedCall, PreviewOutcome, Verdict
from opsgate.domain.outcomes import RunSummary
from opsgate.domain.roles import Role
from opsgate.domain.runs import DecisionVia, RunStatus
from opsgate.domain.sign_in import SignIn

Via = Literal["api", "cli", "setup", "demo", "oidc", "proxy"]
"""Through which door an account change came: the admin API, the CLI, first-admin setup,
`opsgate demo`, a first single sign-on or trusted-proxy sign-in."""


class AuditPayload(BaseModel):
    """What one audit event says; `kind` names the event it is the payload of."""

    model_config = ConfigDict(frozen=True)

    kind: ClassVar[AuditKind]
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset()

    def payload(self) -> dict[str, Any]:
        """The JSON object stored (and hashed) as the event's payload."""
        data = self.model_dump(mode="json")
        return {k: v for k, v in data.items() if v is not None or k not in self.OMITTED_WHEN_NONE}


class RequestClient(BaseModel):
    """The program that asked on the person's behalf (an MCP client, from `initialize`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str


class Request(AuditPayload):
    """Who asked what (the person is the event's actor), and through which client program."""

    kind: ClassVar[AuditKind] = "request"
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"client"})
    text: str
    client: RequestClient | None = None
    """Set for calls from an outside MCP client (`opsgate mcp`); absent otherwise."""


class Plan(AuditPayload):
    """The calls a model turn (or a direct run) proposed; a call with `error` never ran."""

    kind: ClassVar[AuditKind] = "plan"
    calls: list[PlannedCall]
    text: str | None = None


_ADDED_CALL_FIELDS = frozenset({"object", "preview_sha256"})


class RequestedCall(BaseModel):
    """What the approver was shown of one call."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    tool: str
    args: dict[str, Any]
    context: str | None = None
    call_hash: str | None = None
    destructive: bool = False
    preview: str | None = None
    preview_state: PreviewOutcome = "unavailable"
    command: str | None = None
    cluster: str | None = None
    object: str | None = None
    """The call's target (`domain.targets.call_object`); absent from events before it."""
    preview_sha256: str | None = None
    """`preview_hash(preview)`: what the decisions name, so the diff an approver saw can be
    shown from this event and checked against theirs; absent from events before it."""

    @model_serializer(mode="wrap")
    def _without_unset_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Left out when None, so a call of an earlier event dumps to the very JSON it was.
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None or k not in _ADDED_CALL_FIELDS}


def preview_hash(preview: str | None) -> str | None:
    """The SHA-256 (hex) of a call's redacted preview text as stored, or None without one."""
    return None if preview is None else sha256_hex(preview)


class ApprovalRequested(AuditPayload):
    kind: ClassVar[AuditKind] = "approval.requested"
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"requirements"})
    approval_id: str
    calls: list[RequestedCall]
    expires_at: datetime | None = None
    requirements: dict[str, dict[str, Any]] | None = None
    """Call id -> the approval policy's matched rules and what they require; absent under the
    built-in gate."""

    @field_serializer("expires_at")
    def _iso(self, expires_at: datetime | None) -> str | None:
        # `isoformat()` (`+00:00`), as the chain has always held it, not pydantic's `Z`.
        return expires_at.isoformat() if expires_at is not None else None


class _Decision(AuditPayload):
    """One person's decision on one call (the person is the event's actor)."""

    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset(
        {"via", "rule_ids", "settled", "break_glass", "object", "preview_sha256"}
    )
    approval_id: str
    call_id: str | None = None
    reason: str | None = None
    tool: str | None = None
    context: str | None = None
    namespace: str | None = None
    call_hash: str | None = None
    preview_state: PreviewOutcome | None = None
    object: str | None = None
    """The call's target (`domain.targets.call_object`); absent when it names none."""
    preview_sha256: str | None = None
    """The hash of the preview the approver was shown (`preview_hash`), as in the request's
    `RequestedCall`; absent when there was no preview text."""
    override: bool = False
    """Approved although the dry run failed (a reason is required then)."""
    via: DecisionVia | None = None
    """`elicitation`: the local user answered in the MCP client (`OPSGATE_MCP_CONFIRM=elicit`,
    lower assurance); absent for decisions made in opsgate."""
    rule_ids: list[str] | None = None
    """The approval policy's rules this decision counted toward; absent without a policy."""
    settled: bool | None = None
    """False when a rule's quorum still needs more approvals; absent without a policy."""
    break_glass: list[str] | None = None
    """Rules whose freeze or time window this approval overrode with the break-glass role."""


class ApprovalGranted(_Decision):
    kind: ClassVar[AuditKind] = "approval.granted"


class ApprovalRejected(_Decision):
    kind: ClassVar[AuditKind] = "approval.rejected"


class ApprovalExpired(AuditPayload):
    """Calls of a request that lapsed without a decision, or approved but not run in time;
    without `call_ids`, every call of the request that had no decision yet."""

    kind: ClassVar[AuditKind] = "approval.expired"
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"call_ids", "reason"})
    approval_id: str
    call_ids: list[str] | None = None
    reason: str | None = None


class ToolStarted(AuditPayload):
    """A call starting; an approved change names the snapshot taken just before it."""

    kind: ClassVar[AuditKind] = "tool.started"
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"snapshot_sha256", "acting_as"})
    tool: str
    args: dict[str, Any] = {}
    context: str | None = None
    classification: Classification | None = None
    command: str | None = None
    snapshot_sha256: str | None = None
    """`Snapshot.sha256` of the targets as they were (`Store.get_snapshot`); absent for reads
    and for events written before snapshots existed."""
    acting_as: str | None = None
    """Whom the cluster saw, under `OPSGATE_CLUSTER_IDENTITY=impersonate` (`ActingAs.text`,
    e.g. `ada (groups sre)`); absent under the service identity."""


class ToolFinished(AuditPayload):
    """A call's result; `refused` (with its `reason`) when the gate refused to run it."""

    kind: ClassVar[AuditKind] = "tool.finished"
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"refused", "reason"})
    tool: str
    status: CallStatus
    exit_code: int | None = None
    output: str | None = None
    """Redacted, capped."""
    output_sha256: str | None = None
    output_size: int | None = None
    truncated: bool = False
    duration_ms: int | None = None
    refused: bool | None = None
    reason: str | None = None


class ToolOutcomeUnknown(AuditPayload):
    """The process died while the call ran; it is never re-run."""

    kind: ClassVar[AuditKind] = "tool.outcome_unknown"
    tool: str
    args: dict[str, Any] = {}
    context: str | None = None
    reason: str | None = None


class VerifyOutcome(AuditPayload):
    kind: ClassVar[AuditKind] = "verify"
    tool: str | None = None
    verdict: Verdict
    summary: str | None = None
    details: list[str] = []
    rollback: dict[str, Any] | None = None
    """`{tool, args}` of a call that would undo the change, or null."""

    @model_validator(mode="before")
    @classmethod
    def _verdict_of_wave_one(cls, data: Any) -> Any:
        """Events of wave-1 engines carry only `ok`, which never said what the check proved:
        a passing one reads as not verified."""
        if isinstance(data, dict) and "verdict" not in data and "ok" in data:
            return {**data, "verdict": "not_verified" if data["ok"] else "failed"}
        return data


class RunFinished(AuditPayload):
    """The run ended; `answer` is what the person was told, when it answered."""

    kind: ClassVar[AuditKind] = "run.finished"
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"answer"})
    status: RunStatus
    reason: str | None = None
    summary: RunSummary | None = None
    stopped_by: str | None = None
    answer: str | None = None


class UserCreated(AuditPayload):
    kind: ClassVar[AuditKind] = "user.created"
    user_id: str
    username: str
    role: Role
    via: Via


class _UserChanged(AuditPayload):
    user_id: str
    username: str
    changes: dict[str, Any]
    """`role: {from, to}`, `disabled: bool`, `password: "changed"`: only what changed."""
    via: Via


class UserUpdated(_UserChanged):
    kind: ClassVar[AuditKind] = "user.updated"


class UserDisabled(_UserChanged):
    kind: ClassVar[AuditKind] = "user.disabled"


class UserGranted(AuditPayload):
    """A scoped role given (`previous`: the role it replaced at the same scope, if any)."""

    kind: ClassVar[AuditKind] = "user.granted"
    user_id: str
    username: str
    role: Role
    context: str
    namespace: str | None
    previous: Role | None
    via: Via


class UserGrantRevoked(AuditPayload):
    """A scoped role taken back."""

    kind: ClassVar[AuditKind] = "user.grant_revoked"
    user_id: str
    username: str
    role: Role
    context: str
    namespace: str | None
    via: Via


class UserLogin(AuditPayload):
    """A password sign-in (the user is the event's actor)."""

    kind: ClassVar[AuditKind] = "user.login"
    address: str


class SsoLogin(AuditPayload):
    """A single sign-on or trusted-proxy sign-in (the user is the event's actor): the role the
    identity provider's groups gave them this time, and whether the account was new."""

    kind: ClassVar[AuditKind] = "user.sso_login"
    address: str
    sign_in: SignIn
    subject: str
    groups: list[str]
    role: Role
    created: bool


class SsoRefused(AuditPayload):
    """A single sign-on or proxy identity refused (no mapped group, or its user is disabled)."""

    kind: ClassVar[AuditKind] = "user.sso_refused"
    address: str
    sign_in: SignIn
    subject: str
    groups: list[str]
    reason: str


class LocalLoginChanged(AuditPayload):
    """An admin (or the CLI on the database) turned local password sign-in on or off."""

    kind: ClassVar[AuditKind] = "settings.local_login"
    enabled: bool
    via: Via


class TokenCreated(AuditPayload):
    """Never the token itself: its id, name, owner and display prefix."""

    kind: ClassVar[AuditKind] = "token.created"
    token_id: str
    name: str
    user_id: str
    username: str
    prefix: str
    expires_at: datetime | None
    created_by: str | None
    """The signed-in user who made it; None when made on the database (the CLI)."""
    via: Via


class TokenRevoked(AuditPayload):
    kind: ClassVar[AuditKind] = "token.revoked"
    token_id: str
    name: str
    user_id: str
    via: Via


class ApprovalRefused(AuditPayload):
    """A decision refused before it reached the engine (e.g. a token not made by its owner)."""

    kind: ClassVar[AuditKind] = "approval.refused"
    approval_id: str
    token_id: str
    reason: str


class ApprovalBreakGlass(AuditPayload):
    """An approval given inside a change freeze (or outside the allowed hours) by the rule's
    break-glass role: written beside the `approval.granted` so it stands out in the log."""

    kind: ClassVar[AuditKind] = "approval.break_glass"
    approval_id: str
    call_id: str
    rule_ids: list[str]
    reason: str


class PolicyChanged(AuditPayload):
    """An admin saved a new approval policy; `diff` is the unified diff from the one before."""

    kind: ClassVar[AuditKind] = "policy.changed"
    version_id: str
    previous: str
    """The version it replaced: a saved version's id, `file`, or `built-in`."""
    diff: str


class SettingsChanged(AuditPayload):
    """An admin changed a Jenkins server (`upsert` names its URL and user, never its token)."""

    kind: ClassVar[AuditKind] = "settings.changed"
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"url", "user"})
    jenkins_server: str
    action: Literal["upsert", "delete"]
    url: str | None = None
    user: str | None = None


AlertSource = Literal["alertmanager", "generic"]


class _Alert(AuditPayload):
    """An alert notification; names, never annotations (they may quote anything)."""

    source: AlertSource
    group_key_sha256: str
    """SHA-256 of the group (dedupe) key: the key itself is the sender's text."""
    alertnames: list[str]


class AlertReceived(_Alert):
    """An authenticated alert notification arrived (before anything was decided about it)."""

    kind: ClassVar[AuditKind] = "alert.received"
    status: Literal["firing", "resolved"]
    alerts: int
    fingerprints: list[str]


class AlertDeduplicated(_Alert):
    """A firing notification for a group whose investigation is still open: no new run."""

    kind: ClassVar[AuditKind] = "alert.deduplicated"


class AlertRateLimited(_Alert):
    """A new investigation was refused (429): `limit` runs opened in the last minute."""

    kind: ClassVar[AuditKind] = "alert.rate_limited"
    limit: int


class AlertInvestigationOpened(_Alert):
    """A conversation and its read-only run were opened for a firing group."""

    kind: ClassVar[AuditKind] = "alert.investigation_opened"
    investigated_with: Literal["model", "diagnostics"]


class AlertResolved(_Alert):
    """The group resolved: noted on its conversation, which stops deduplicating."""

    kind: ClassVar[AuditKind] = "alert.resolved"


ENGINE_PAYLOADS: dict[AuditKind, type[AuditPayload]] = {
    model.kind: model
    for model in (
        Request,
        Plan,
        ApprovalRequested,
        ApprovalGranted,
        ApprovalRejected,
        ApprovalExpired,
        ApprovalBreakGlass,
        ToolStarted,
        ToolFinished,
        ToolOutcomeUnknown,
        VerifyOutcome,
        RunFinished,
    )
}
"""The payload model of each kind the engine writes."""

AUDIT_PAYLOADS: dict[AuditKind, type[AuditPayload]] = {
    **ENGINE_PAYLOADS,
    **{
        model.kind: model
        for model in (
            UserCreated,
            UserUpdated,
            UserDisabled,
            UserGranted,
            UserGrantRevoked,
            UserLogin,
            SsoLogin,
            SsoRefused,
            LocalLoginChanged,
            TokenCreated,
            TokenRevoked,
            ApprovalRefused,
            SettingsChanged,
            PolicyChanged,
            AlertReceived,
            AlertDeduplicated,
            AlertRateLimited,
            AlertInvestigationOpened,
            AlertResolved,
        )
    },
}
"""The payload model of every audit kind (`tests/api/test_admin.py` checks none is missing)."""
