"""Request and response bodies of the HTTP API (the boundary models; records come from the store).

Used by the route modules; the OpenAPI document is generated from these, so the UI and CLI
engineers read field names here and in `/work/briefs/api_contract.md`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsgate.api.accounts import Username
from opsgate.domain.calls import CallStatus
from opsgate.domain.canonical import canonical_json
from opsgate.domain.events import PreviewOutcome
from opsgate.domain.grants import Grant
from opsgate.domain.policy import Requirement
from opsgate.domain.roles import Role
from opsgate.domain.runs import ApprovalStatus
from opsgate.domain.sign_in import SignIn
from opsgate.domain.usage import UsageGroup, UsageGrouping, UsageTotal
from opsgate.store.records import (
    ApiToken,
    ApprovalDecision,
    Conversation,
    Message,
    Run,
    ToolCallRecord,
    User,
)

MAX_CALL_ARGS_BYTES = 768 * 1024
"""A direct call's arguments as canonical JSON: room for the largest manifest a tool takes
(512 KiB) with its JSON escaping, and a bound on what one call writes to the append-only
stores (its arguments are kept with the call, in the audit log and in the event stream)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SetupBody(_Body):
    setup_token: str = Field(min_length=1, max_length=200)
    username: Username
    password: str = Field(min_length=1, max_length=1024)


class SetupStatus(BaseModel):
    needs_setup: bool


class Me(BaseModel):
    id: str
    username: str
    role: Role
    sign_in: SignIn = "local"
    """How the user signs in: a password, single sign-on (`oidc`) or a trusted proxy."""
    grants: list[Grant] = []
    """Roles held in given contexts/namespaces beyond `role` (`domain.grants`)."""


class GrantBody(_Body):
    role: Role
    context: str = Field(max_length=253)
    namespace: str | None = Field(default=None, max_length=63)


class LoginAnswer(BaseModel):
    user: Me


class OidcMethod(BaseModel):
    display_name: str
    """For the button: "Sign in with <display_name>"."""
    start_url: str


class SignInMethods(BaseModel):
    """Public: how people may sign in here (the login view draws itself from it)."""

    local: bool
    """Username and password (an admin can turn it off once single sign-on works)."""
    oidc: OidcMethod | None
    proxy: bool
    """Identity from an authenticating proxy (`start_url`: `/api/v1/auth/proxy`)."""


class LogoutAnswer(BaseModel):
    provider_logout_url: str | None
    """Where the browser goes next to end the identity provider's session too."""


class LocalLoginBody(_Body):
    enabled: bool


class LocalLoginState(BaseModel):
    enabled: bool
    """Whether local password sign-in is on."""
    can_turn_off: bool
    """Whether single sign-on or proxy sign-in is configured (needed before turning it off)."""


class NewUser(_Body):
    username: Username
    role: Role
    password: str | None = Field(default=None, max_length=1024)
    """None for a user who will only use API tokens."""


class UserPatch(_Body):
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


class NewToken(_Body):
    name: str = Field(min_length=1, max_length=100)
    user_id: str | None = Field(default=None, max_length=100)
    """Your own id, or omitted: tokens are made only by their owner (another id is 403)."""
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class CreatedToken(BaseModel):
    token: str
    """Shown once; only its SHA-256 is stored."""
    record: ApiToken


class JenkinsServerBody(_Body):
    url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://")
    user: str = Field(min_length=1, max_length=200)
    token: str = Field(min_length=1, max_length=1000)
    verify_tls: bool = True


class JenkinsServerOut(BaseModel):
    name: str
    url: str
    user: str
    verify_tls: bool
    source: Literal["settings", "database"]
    """`settings`: from OPSGATE_JENKINS__<NAME>__*, shown here but changed only there;
    `database`: added through this API."""
    read_only: bool
    """True for servers from settings: PUT and DELETE refuse them."""
    in_use: bool
    """Whether the tools use this entry (a database record hidden by a settings server of
    the same name is not)."""


class NewConversation(_Body):
    title: str | None = Field(default=None, max_length=200)
    context: str | None = Field(default=None, max_length=253)
    contexts: list[str] | None = Field(default=None, max_length=20)
    """Several allowed contexts (the first is the default); `context` is the one-context form."""
    namespace: str | None = Field(
        default=None, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    )


class ConversationPatch(_Body):
    title: str = Field(min_length=1, max_length=200)


class ConversationPage(BaseModel):
    items: list[Conversation]
    total: int


class ConversationDetail(BaseModel):
    conversation: Conversation
    messages: list[Message]
    runs: list[Run]
    calls: list[ToolCallRecord]
    approvals: list[ApprovalOut]
    usage: UsageTotal
    """The conversation's model turns summed (tokens, cost, turns without a price)."""


class UsageReport(BaseModel):
    """`GET /usage`: model turns since `since`, per user, model or UTC day (`items`)."""

    group_by: UsageGrouping
    since: datetime
    items: list[UsageGroup]
    total: UsageTotal


class MessageBody(_Body):
    text: str = Field(min_length=1, max_length=20_000)


class CallBody(_Body):
    tool: str = Field(min_length=1, max_length=100)
    args: dict[str, Any] = Field(default_factory=dict)
    """At most `MAX_CALL_ARGS_BYTES` as canonical JSON."""

    @field_validator("args")
    @classmethod
    def _bounded(cls, args: dict[str, Any]) -> dict[str, Any]:
        size = len(canonical_json(args).encode())
        if size > MAX_CALL_ARGS_BYTES:
            raise ValueError(f"must be at most {MAX_CALL_ARGS_BYTES} bytes as JSON, got {size}")
        return args


class RunStarted(BaseModel):
    run_id: str


class RunDetail(BaseModel):
    run: Run
    calls: list[ToolCallRecord]


class RunOut(BaseModel):
    run: Run


class ApprovalItemOut(BaseModel):
    call_id: str
    tool: str
    args: dict[str, Any]
    context: str | None
    namespace: str | None
    destructive: bool
    call_hash: str
    cluster: str | None
    """The server URL of the cluster the call is bound to (its context resolved)."""
    preview: str | None
    preview_state: PreviewOutcome
    """What the dry run found: a `failed` one needs an override reason to approve."""
    command: str | None
    """The exact command the approved call will run (secrets masked)."""
    status: ApprovalStatus
    """The decision on this item."""
    call_status: CallStatus | None = None
    """Where the call itself is now (running, verified, verification_failed...)."""
    decision: ApprovalDecision | None
    """The decision that settled the item; None while pending."""
    requirement: Requirement | None = None
    """The approval policy's matched rules and their demands, fixed when the request opened;
    None: the built-in gate (one approval)."""
    decisions: list[ApprovalDecision] = []
    """Every decision given, oldest first, each with the rule ids it counted toward."""
    progress: list[str] = []
    """One line per matched rule, e.g. "2 of 2 approvals from group sre-prod needed; 1 given
    (ada) [rule prod-two-person]"; empty under the built-in gate."""
    may_decide: bool | None = None
    """Whether the signed-in user's role in this call's context and namespace lets them
    decide it (the distinct-approver rule and the approval policy may still refuse)."""
    decide_why: str | None = None
    """Why, in their words: `approver for prod/payments`, `you are viewer in prod/shop`."""


class ApprovalOut(BaseModel):
    id: str
    run_id: str
    conversation_id: str
    proposed_by: str
    proposed_by_name: str
    created_at: datetime
    expires_at: datetime
    status: ApprovalStatus
    items: list[ApprovalItemOut]
    client_name: str | None = None
    """The outside MCP client program that asked (`clientInfo.name` of `initialize`), for
    calls through `opsgate mcp`; None for the Command Center, the CLI and the agent."""
    client_version: str | None = None


class ApprovalList(BaseModel):
    items: list[ApprovalOut]


class DecisionBody(_Body):
    call_id: str = Field(min_length=1, max_length=100)
    approve: bool
    reason: str | None = Field(default=None, max_length=2000)


class DecideAllBody(_Body):
    approve: bool
    reason: str | None = Field(default=None, max_length=2000)


class ApprovalAnswer(BaseModel):
    approval: ApprovalOut
    decided: list[str] = []
    """The call ids this request decided (their items are in `approval`)."""


class ToolOut(BaseModel):
    name: str
    family: str
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, bool]
    needs_approval: bool
    """False only for tools annotated read-only; some (k8s_exec) decide per call."""


class Contexts(BaseModel):
    contexts: list[str]
    default: str | None
    jenkins: list[str] = Field(default_factory=list)
    """The names of the Jenkins servers tools may name (never their URLs or users)."""


class ModelInfo(BaseModel):
    configured: bool
    model: str | None
    how_to: str


class ApprovalPolicy(BaseModel):
    """How the gate decides here, for the Command Center's approval cards."""

    require_distinct_approver: bool
    """False only when turned off for a one-person setup: the requester may then approve
    their own change (the card should say so)."""
    approval_ttl_s: int
    """How long an approval request stays open (a policy rule may shorten it)."""
    source: Literal["built-in", "file", "saved"] = "built-in"
    """Where the active approval policy comes from (docs/policy.md)."""
    version: str = "built-in"
    """`built-in`, `file`, or the id of the version an admin saved."""
    rules: list[str] = []
    """The active policy's rule ids, in order."""
    text: str = ""
    """The active policy's YAML."""


class PolicyBody(_Body):
    text: str = Field(max_length=200_000)
    """An approval policy in YAML (docs/policy.md)."""


class PolicyCheck(BaseModel):
    """What loading a policy found: its rule ids, or why (and on which line) it is refused."""

    ok: bool
    rules: list[str] = []
    error: str | None = None
    line: int | None = None


class UserList(BaseModel):
    items: list[User]


class TokenList(BaseModel):
    items: list[ApiToken]


ConversationDetail.model_rebuild()


class InboxItemOut(BaseModel):
    """One pending call the signed-in user may decide, as the Approvals inbox lists it."""

    approval_id: str
    call_id: str
    run_id: str
    conversation_id: str
    conversation_title: str | None
    tool: str
    args: dict[str, Any]
    namespace: str | None
    context: str | None
    cluster: str | None
    destructive: bool
    preview_state: PreviewOutcome
    proposed_by: str
    proposed_by_name: str
    created_at: datetime
    expires_at: datetime
    seconds_left: int
    """Until the request expires, at the time the server answered (0: due to expire)."""
    expiring_soon: bool
    """Fewer than `inbox.EXPIRING_SOON_S` seconds left."""
    requirement: Requirement | None
    progress: list[str]
    decide_why: str | None
    """Why the user may decide it: their role in its scope (`approver for prod/payments`)."""
    proposed_by_me: bool
    waiting_on_me: bool
    """A decision by this user would count now: not their own change under the distinct-approver
    rule, and not already counted by them toward the policy's quorum."""


class InboxList(BaseModel):
    items: list[InboxItemOut]
    """Oldest request first (the one that expires first leads)."""
    pending: int
    """Pending calls this user may decide, before the filters."""
    waiting_on_me: int
    """Of those, the ones a decision by this user would count for now (the badge's number)."""
