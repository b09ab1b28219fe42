"""The `Store` protocol: everything opsgate persists, behind one async interface.

The engine records runs, calls, approvals, stream events and audit events through it; the API
and CLI read and administer through it. `opsgate.store.sql.SqlStore` implements it on SQLite
and PostgreSQL; one conformance suite (tests/store) runs against both.

Rules every implementation keeps:
- `decide` is atomic: it changes an item only while it is `pending` and unexpired, else raises
  `Conflict` (so two approvers racing produce one decision and one 409).
- `append_audit` (and `write_batch`) serialise appends with a database lock so concurrent
  processes extend one chain, key each event with the audit key, and move the signed head
  record in the same transaction; they refuse to append when the head does not match the log.
- Nothing updates or deletes audit rows; there is no method for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from opsgate.domain.audit import AuditEvent, AuditHead, AuditKind
from opsgate.domain.calls import CallStatus
from opsgate.domain.events import PreviewOutcome
from opsgate.domain.grants import Grant
from opsgate.domain.policy import Requirement
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
from opsgate.store.records import (
    AlertGroup,
    ApiToken,
    ApprovalEvidence,
    ApprovalRequest,
    AuditFilter,
    ChainVerification,
    Conversation,
    JenkinsServerRecord,
    Message,
    NewAuditEvent,
    NewRecord,
    PolicyVersion,
    Run,
    Snapshot,
    StreamEvent,
    ToolCallRecord,
    User,
    UserWithSecret,
)


class NewApprovalItem(Protocol):
    """What the engine passes per call when it opens an approval request."""

    call_id: str
    preview: str | None
    preview_state: PreviewOutcome
    command: str | None


class Store(Protocol):
    # lifecycle
    async def close(self) -> None: ...
    async def schema_revision(self) -> str | None:
        """The migration revision the database is at (None: never migrated)."""
        ...

    # users and tokens
    async def create_user(
        self,
        username: str,
        role: Role,
        password_hash: str | None,
        *,
        sign_in: SignIn = "local",
        subject: str | None = None,
        groups: tuple[str, ...] = (),
    ) -> User:
        """`sign_in`/`subject`: how the user signs in and their identity provider's id; a
        second user with the same pair is a `Conflict`."""
        ...

    async def find_external_user(self, sign_in: SignIn, subject: str) -> User | None:
        """The `oidc` or `proxy` user with this identity provider subject, disabled or not."""
        ...

    async def get_option(self, name: str) -> Any:
        """An instance option's JSON value (`instance_options`); None when never set."""
        ...

    async def set_option(self, name: str, value: Any) -> None:
        """Set an instance option (every replica reads the new value at its next request)."""
        ...

    async def get_user(self, user_id: str) -> UserWithSecret: ...
    async def get_user_by_name(self, username: str) -> UserWithSecret: ...
    async def list_users(self) -> list[User]: ...
    async def count_users(self) -> int: ...
    async def update_user(
        self,
        user_id: str,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
        groups: tuple[str, ...] | None = None,
    ) -> User:
        """Change the given fields; a new password or disabling also ends the user's sessions."""
        ...

    async def grant_role(self, user_id: str, grant: Grant) -> User:
        """Give the user `grant` (replacing a grant of theirs at the same scope)."""
        ...

    async def revoke_grant(self, user_id: str, context: str, namespace: str | None) -> User:
        """Take back the user's grant at exactly this scope; `NotFound` if they hold none."""
        ...

    async def create_token(
        self,
        user_id: str,
        name: str,
        token_hash: str,
        prefix: str,
        expires_at: datetime | None,
        *,
        created_by: str | None = None,
    ) -> ApiToken:
        """`created_by`: the signed-in user who made it; None when made on the database."""
        ...

    async def find_token(self, token_hash: str) -> tuple[ApiToken, User] | None:
        """The live token with this hash and its enabled user; marks it used."""
        ...

    async def list_tokens(self, user_id: str | None = None) -> list[ApiToken]: ...
    async def revoke_token(self, token_id: str) -> ApiToken: ...

    # sessions (stored as the SHA-256 of their id) and the addresses users signed in from
    async def create_session(
        self, session_hash: str, user_id: str, address: str, expires_at: datetime
    ) -> None:
        """Record a live session; remembers `address` as one `user_id` signed in from."""
        ...

    async def find_session(self, session_hash: str) -> User | None:
        """The enabled user of the live, unexpired session with this hash; else None."""
        ...

    async def end_session(self, session_hash: str) -> None:
        """End the session (no error if it has ended already)."""
        ...

    async def signed_in_from(self, user_id: str, address: str) -> bool:
        """Whether the user ever signed in successfully from `address`."""
        ...

    # conversations and messages
    async def create_conversation(
        self, title: str, owner_id: str, contexts: Sequence[str], namespace: str | None = None
    ) -> Conversation: ...
    async def get_conversation(self, conversation_id: str) -> Conversation: ...
    async def list_conversations(
        self, *, query: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Conversation]: ...
    async def rename_conversation(self, conversation_id: str, title: str) -> Conversation: ...
    async def list_messages(
        self,
        conversation_id: str,
        *,
        roles: Sequence[MessageRole] | None = None,
    ) -> list[Message]:
        """The conversation's messages, oldest first; only those of `roles` when given."""
        ...

    # runs
    async def create_run(
        self,
        conversation_id: str,
        kind: RunKind,
        requested_by: str,
        owner_id: str | None = None,
        client: tuple[str, str] | None = None,
    ) -> Run:
        """A new `running` run, driven by the engine `owner_id`; `client` is the (name,
        version) of the outside MCP client program it came from."""
        ...

    async def get_run(self, run_id: str) -> Run: ...
    async def list_runs(self, conversation_id: str) -> list[Run]: ...
    async def set_run_status(
        self, run_id: str, status: RunStatus, reason: str | None = None
    ) -> Run: ...
    async def count_run_usage(self, run_id: str, *, model_turns: int, tool_calls: int) -> Run:
        """Add to the run's counters (for the engine's guards)."""
        ...

    # tool calls
    async def get_call(self, call_id: str) -> ToolCallRecord:
        """One call's record; `NotFound` if there is none."""
        ...

    async def list_calls(
        self, *, run_id: str | None = None, conversation_id: str | None = None
    ) -> list[ToolCallRecord]: ...
    async def set_call_status(
        self,
        call_id: str,
        status: CallStatus,
        *,
        expected: Sequence[CallStatus] | None = None,
        output: str | None = None,
        exit_code: int | None = None,
        truncated: bool = False,
        duration_ms: int | None = None,
        acting_as: str | None = None,
    ) -> ToolCallRecord:
        """Move a call to `status`; with `expected`, only from one of those (else `Conflict`).

        Setting `running` stamps `started_at` (and `acting_as`, when given); a final status
        stamps `finished_at` and stores the output with its SHA-256 and size.
        """
        ...

    async def mark_interrupted_calls(self, run_ids: Sequence[str]) -> list[ToolCallRecord]:
        """Every call of these runs left `running` becomes `outcome_unknown` (never re-run).

        Called for runs whose engine is gone (`orphaned_runs`), never for a live engine's.
        """
        ...

    # engine leases (one engine drives a run at a time; see `sql_leases`)
    async def renew_lease(self, engine_id: str, now: datetime) -> None:
        """Start or renew this engine's lease."""
        ...

    async def release_lease(self, engine_id: str) -> None:
        """End this engine's lease at a clean shutdown (its runs become claimable at once)."""
        ...

    async def claim_run(
        self, run_id: str, engine_id: str, *, now: datetime, lease_s: float
    ) -> bool:
        """Make `engine_id` the run's owner, atomically, if it has none, is owned by it, or
        its owner's lease (renewed within `lease_s`) has run out; False otherwise."""
        ...

    async def release_run(self, run_id: str, engine_id: str) -> None:
        """Clear the run's owner if it is `engine_id` (the run waits at the gate)."""
        ...

    async def orphaned_runs(self, engine_id: str, *, now: datetime, lease_s: float) -> list[Run]:
        """Runs not yet ended that no live engine other than `engine_id` drives."""
        ...

    # approvals
    async def create_approval(
        self,
        *,
        run_id: str,
        proposed_by: str,
        expires_at: datetime,
        items: Sequence[NewApprovalItem],
        requirements: Mapping[str, Requirement] | None = None,
    ) -> ApprovalRequest:
        """Open a request over already-recorded calls; they become `awaiting_approval`.

        `requirements` (call id -> what the policy requires) is stored with each item; an item
        without one needs the built-in single approval."""
        ...

    async def get_approval(self, approval_id: str) -> ApprovalRequest: ...
    async def list_approvals(
        self,
        *,
        status: ApprovalStatus | None = None,
        conversation_id: str | None = None,
        limit: int = 100,
    ) -> list[ApprovalRequest]: ...
    async def decide(
        self,
        approval_id: str,
        call_id: str,
        decision: DecisionKind,
        *,
        user_id: str,
        user_name: str,
        reason: str | None,
        now: datetime,
        audit: NewAuditEvent | None = None,
        via: DecisionVia | None = None,
        rule_ids: Sequence[str] = (),
        final: bool = True,
        seen_decisions: int | None = None,
        also_audit: Sequence[NewAuditEvent] = (),
    ) -> ApprovalRequest:
        """Record one decision atomically; `Conflict` if the item is not pending or has expired.

        `via` says how it was given when not in opsgate (`elicitation`, in the MCP client).
        Every decision is kept (`ApprovalItem.decisions`, with the policy `rule_ids` it counted
        toward); only a `final` one settles the item. `seen_decisions`: how many decisions the
        caller judged this one against; `Conflict` if another landed meanwhile. `also_audit`
        (e.g. a break-glass event) is appended in the same transaction.

        `audit` (the decision's audit event) is appended in the same transaction: a decision
        the run could act on is never without its `approval.granted`/`approval.rejected`.
        """
        ...

    async def expire_approvals(
        self, now: datetime, *, run_id: str | None = None
    ) -> list[ApprovalRequest]:
        """Mark pending items past their expiry as expired; return the requests touched.

        With `run_id`: every pending item of that run's requests, whatever its expiry (the
        run was cut off and will never carry them out).
        """
        ...

    # stream events (SSE replay)
    async def events_after(
        self, conversation_id: str, after_id: int, limit: int = 500
    ) -> list[StreamEvent]: ...

    @property
    def shared(self) -> bool:
        """Several opsgate processes may write this database (PostgreSQL); SQLite: one."""
        ...

    async def follow_events(
        self,
        on_notice: Callable[[str, int], None],
        on_connected: Callable[[], Awaitable[None]],
        on_stop: Callable[[str, str], None] | None = None,
    ) -> None:
        """Until cancelled, call `on_notice(conversation_id, event_id)` as any process commits
        stream events (the last id of each transaction's events of that conversation), and
        `on_connected()` each time listening (re)starts, after which notices may have been
        missed; `on_stop(run_id, user_name)` for each `request_stop` of any process. Only on
        a `shared` store (PostgreSQL `LISTEN`); `ConfigError` otherwise."""
        ...

    async def request_stop(self, run_id: str, user_name: str) -> None:
        """Ask whichever process drives `run_id` to stop it at its next step (best effort:
        a process not listening at that moment misses it). SQLite: `Conflict`."""
        ...

    # batches
    async def write_batch(self, records: Sequence[NewRecord]) -> list[StreamEvent]:
        """Write calls, call changes, messages, stream events and audit events in one
        transaction (all or nothing), each kind in the order given; the stored stream events.

        The engine's recorder writes a step's records this way: one commit instead of one per
        record. A conditional call change that does not apply raises `Conflict` like
        `set_call_status`, and nothing of the batch is written.
        """
        ...

    # audit
    async def append_audit(
        self,
        kind: AuditKind,
        payload: dict[str, Any],
        *,
        actor_id: str | None,
        actor_name: str,
        conversation_id: str | None = None,
        run_id: str | None = None,
        call_id: str | None = None,
    ) -> AuditEvent: ...
    async def list_audit(
        self, flt: AuditFilter | None = None, *, limit: int = 100, after_seq: int = 0
    ) -> list[AuditEvent]: ...
    def iter_audit(self, flt: AuditFilter | None = None) -> AsyncIterator[AuditEvent]:
        """Every matching event in seq order (an async generator: `async for`, no `await`)."""
        ...

    async def verify_audit(self) -> ChainVerification:
        """Recompute the whole chain with the audit key and hold its end against the signed
        head; the first bad seq or the missing range when it does not verify."""
        ...

    async def get_audit_head(self) -> AuditHead | None:
        """The signed head record as stored, unchecked (None when its row is missing)."""
        ...

    async def approval_evidence(self, approval_id: str, call_id: str) -> ApprovalEvidence:
        """What the audit log authentically records about this call of this approval.

        An event counts only if its own hash and HMAC verify with the audit key (given its
        stored prev_hash); the whole chain is not verified. Rows edited or written without the
        key are listed in `forged`, never returned as evidence.
        """
        ...

    # approval policies saved by admins (the newest is the active one)
    async def save_policy_version(
        self, text: str, *, user_id: str, user_name: str, previous: str, diff: str
    ) -> PolicyVersion:
        """Append a version (already validated by the caller) and, in the same transaction,
        its `policy.changed` audit event (`previous`: the version it replaces; `diff`:
        unified, from that one)."""
        ...

    async def latest_policy_version(self) -> PolicyVersion | None: ...

    # spent approval tokens (every tool server, so a token is single use across processes)
    async def spend_approval(
        self, approval_id: str, *, expires_at: datetime, now: datetime
    ) -> bool:
        """Record that the token of `approval_id` let a call through; False if one already had.

        Atomic across processes and replicas. Ids whose token expired well before `now` are
        pruned on the way (an expired token is refused by its expiry alone).
        """
        ...

    # snapshots (a change's targets before it ran, and the call undoing it)
    async def save_snapshot(
        self,
        *,
        call_id: str,
        conversation_id: str,
        run_id: str,
        tool: str,
        objects: list[dict[str, Any]],
        undo: dict[str, Any] | None,
        cannot_undo: str | None,
        taken_at: datetime | None = None,
    ) -> Snapshot:
        """Store the snapshot of one call (once: a second is `Conflict`), hashed over its
        content (`Snapshot.sha256`); `NotFound` for an unknown call."""
        ...

    async def get_snapshot(self, call_id: str) -> Snapshot:
        """The snapshot of `call_id`; `NotFound` if none was taken."""
        ...

    # alert groups (one investigation per firing alert group)
    async def get_alert_group(self, source: str, group_key_sha256: str) -> AlertGroup | None:
        """The group's investigation record, open or resolved; None if it never fired."""
        ...

    async def open_alert_group(
        self,
        source: str,
        group_key_sha256: str,
        conversation_id: str,
        *,
        now: datetime | None = None,
    ) -> AlertGroup:
        """Record `conversation_id` as the open investigation of the group (new, or reopened
        after it resolved); `Conflict` if the group is open already (another replica won)."""
        ...

    async def alert_groups_opened_since(self, since: datetime) -> list[datetime]:
        """When each alert group opened (or reopened) at or after `since`, oldest first: the
        alert intake's rate limit, shared by every replica."""
        ...

    async def resolve_alert_group(
        self, source: str, group_key_sha256: str, *, now: datetime | None = None
    ) -> AlertGroup | None:
        """Mark the open group resolved and return it; None if it was not open."""
        ...

    # jenkins servers (admin-configured; token encrypted at rest)
    async def upsert_jenkins_server(
        self, name: str, url: str, user: str, token: str, verify_tls: bool = True
    ) -> JenkinsServerRecord: ...
    async def list_jenkins_servers(self) -> list[JenkinsServerRecord]: ...
    async def get_jenkins_server(
        self, name: str, *, reveal: bool = False
    ) -> JenkinsServerRecord: ...
    async def delete_jenkins_server(self, name: str) -> None: ...
