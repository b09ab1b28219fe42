"""What a signed-in user may see, by the scope of each thing: the read side of scoped roles.

Called by the conversation, run, approval, event and audit routes. A user whose global role
is viewer or above sees everything (as before scoped roles); anyone else sees a conversation
(its messages, runs, calls, events, replay, audit entries) only with a viewer role or above in
every one of its contexts for its namespace, and an approval only with one in the context and
namespace of each of its calls (`domain.grants`). What they may not see is left out of lists
and is a 404 when asked for by id, so its existence is not confirmed either.
"""

from __future__ import annotations

from collections.abc import Iterable

from opsgate.domain import grants, roles
from opsgate.domain.audit import AuditEvent
from opsgate.errors import Forbidden, NotFound
from opsgate.store.protocol import Store
from opsgate.store.records import ApprovalItem, ApprovalRequest, Conversation, Run, User


def sees_everything(user: User) -> bool:
    """Whether the user's global role lets them see every conversation and audit entry."""
    return roles.can_view(user.role)


def conversation_role(user: User, conversation: Conversation) -> roles.Role:
    """The user's role in the conversation: the lowest over its contexts."""
    return grants.role_for_all(
        user.role, user.grants, conversation.contexts, conversation.namespace
    )


def sees_conversation(user: User, conversation: Conversation) -> bool:
    return roles.can_view(conversation_role(user, conversation))


def item_namespace(item: ApprovalItem) -> str | None:
    namespace = item.args.get("namespace")
    return namespace if isinstance(namespace, str) else None


def sees_approval(user: User, approval: ApprovalRequest) -> bool:
    return sees_everything(user) or all(
        roles.can_view(
            grants.effective_role(user.role, user.grants, item.context, item_namespace(item))
        )
        for item in approval.items
    )


def conversations(user: User, found: Iterable[Conversation]) -> list[Conversation]:
    return [c for c in found if sees_everything(user) or sees_conversation(user, c)]


async def conversation(store: Store, user: User, conversation_id: str) -> Conversation:
    """The conversation when the user may see it; else `NotFound`, as if it did not exist."""
    found = await store.get_conversation(conversation_id)
    if not (sees_everything(user) or sees_conversation(user, found)):
        raise NotFound(f"no conversation {conversation_id!r}")
    return found


async def run(store: Store, user: User, run_id: str) -> Run:
    """The run when the user may see its conversation; else `NotFound`."""
    found = await store.get_run(run_id)
    if not sees_everything(user):
        try:
            await conversation(store, user, found.conversation_id)
        except NotFound as e:
            raise NotFound(f"no run {run_id!r}") from e
    return found


async def approval(store: Store, user: User, approval_id: str) -> ApprovalRequest:
    """The approval when the user may see each of its calls; else `NotFound`."""
    found = await store.get_approval(approval_id)
    if not sees_approval(user, found):
        raise NotFound(f"no approval {approval_id!r}")
    return found


async def audit_events(store: Store, user: User, events: list[AuditEvent]) -> list[AuditEvent]:
    """The events the user may see: those of conversations they see; events of no
    conversation (accounts, settings) only with a global viewer role or above."""
    if sees_everything(user):
        return events
    seen: dict[str, bool] = {}
    shown = []
    for event in events:
        if event.conversation_id is None:
            continue
        if event.conversation_id not in seen:
            try:
                await conversation(store, user, event.conversation_id)
                seen[event.conversation_id] = True
            except NotFound:
                seen[event.conversation_id] = False
        if seen[event.conversation_id]:
            shown.append(event)
    return shown


def require_whole_log(user: User) -> None:
    """Exporting the chained log whole needs a global viewer role or above."""
    if not sees_everything(user):
        raise Forbidden(
            f"role {user.role!r} sees only the conversations of its grants; exporting the "
            "audit log takes a global viewer role or above (export one conversation instead)"
        )
