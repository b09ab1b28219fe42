"""Who each of the engine's calls acts as on the cluster, and whether its requester may read.

Used by `execution.CallRunner`: a read runs as the user who asked (after checking their role
in the read's context and namespace allows reads), a preview as the proposer, an approved
change and its verify as the approver who completed the approval. Under `service` (the
default for a context) nobody is named and the tool server acts with opsgate's own identity;
under `impersonate` the person goes to the tool server in `_meta` (`domain.acting`), taken
from the store's user record, never from anything the model wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from opsgate.domain import grants
from opsgate.domain.acting import ActingAs, IdentityMode, mode_of
from opsgate.domain.roles import can_operate
from opsgate.errors import Forbidden
from opsgate.store.protocol import Store
from opsgate.store.records import ApprovalItem, User


def namespace_of(args: Mapping[str, Any]) -> str | None:
    namespace = args.get("namespace")
    return namespace if isinstance(namespace, str) else None


def person(user: User) -> ActingAs:
    """The user as the cluster should see them; `Forbidden` if their names cannot be passed."""
    try:
        return ActingAs(user=user.username, groups=user.groups)
    except ValidationError as e:
        raise Forbidden(
            f"user {user.username!r} cannot be impersonated on the cluster: their name or one "
            "of their groups holds characters opsgate does not pass to kubectl"
        ) from e


async def as_user(
    store: Store, modes: Mapping[str, IdentityMode], context: str | None, user_id: str
) -> ActingAs | None:
    """Who a call in `context` made for `user_id` acts as (None: opsgate's own identity)."""
    if mode_of(modes, context) != "impersonate":
        return None
    return person(await store.get_user(user_id))


async def reader(
    store: Store,
    modes: Mapping[str, IdentityMode],
    user_id: str,
    context: str | None,
    args: Mapping[str, Any],
) -> ActingAs | None:
    """Who a read acts as; `Forbidden` when the requester's role in its scope forbids reads
    (the user is read afresh, so a grant revoked since the run started counts)."""
    user = await store.get_user(user_id)
    namespace = namespace_of(args)
    may, why = grants.why(user.role, user.grants, context, namespace, can_operate)
    if user.disabled or not may:
        raise Forbidden(
            f"user {user.username!r} may not run reads in "
            f"{grants.scope_text(context, namespace)}: {'disabled' if user.disabled else why}"
        )
    return person(user) if mode_of(modes, context) == "impersonate" else None


async def approver(
    store: Store, modes: Mapping[str, IdentityMode], item: ApprovalItem
) -> ActingAs | None:
    """Who an approved change (and its verify) acts as: the approver who completed it."""
    if mode_of(modes, item.context) != "impersonate":
        return None
    if item.decision is None or item.decision.decision != "approve":
        raise Forbidden(f"call {item.call_id!r} has no approval to act on")
    return person(await store.get_user(item.decision.decided_by))
