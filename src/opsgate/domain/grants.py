"""Scoped roles: a role granted for one kubeconfig context, optionally one namespace.

Pure logic, no I/O. The store keeps grants (`store.sql_grants`) and puts them on each `User`
it returns; the API (listing and reading conversations, runs, approvals, audit entries) and
the engine (asking, running reads, deciding) ask `effective_role` for the scope of the thing
at hand. The effective role for (context, namespace) is the highest of the user's global role
and every grant that matches: a grant for a context matches any namespace in it (and calls
with none), a grant for a namespace matches only calls in that namespace of that context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from opsgate.domain.roles import Role, rank


class Grant(BaseModel):
    """One role held in one context (and, when set, only in one namespace of it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    context: str
    namespace: str | None = None

    def matches(self, context: str | None, namespace: str | None) -> bool:
        if context != self.context:
            return False
        return self.namespace is None or self.namespace == namespace

    @property
    def scope(self) -> str:
        """`prod` or `prod/payments`, as cards and lists show it."""
        return self.context if self.namespace is None else f"{self.context}/{self.namespace}"


def effective_role(
    global_role: Role, grants: Iterable[Grant], context: str | None, namespace: str | None
) -> Role:
    """The highest of `global_role` and the roles of the grants matching the scope."""
    best = global_role
    for grant in grants:
        if grant.matches(context, namespace) and rank(grant.role) > rank(best):
            best = grant.role
    return best


def role_for_all(
    global_role: Role, grants: Sequence[Grant], contexts: Sequence[str], namespace: str | None
) -> Role:
    """The role held in every one of `contexts` (a conversation's): the lowest of them.

    A conversation may use each of its contexts, so seeing or acting in it takes the role in
    all of them; with no context at all only the global role counts.
    """
    if not contexts:
        return global_role
    found = [effective_role(global_role, grants, c, namespace) for c in contexts]
    return min(found, key=rank)


def scope_text(context: str | None, namespace: str | None) -> str:
    """`prod/payments`, `prod`, or `no context`, for messages."""
    if context is None:
        return "no context"
    return context if namespace is None else f"{context}/{namespace}"


def why(
    global_role: Role,
    grants: Iterable[Grant],
    context: str | None,
    namespace: str | None,
    allowed: Callable[[Role], bool],
) -> tuple[bool, str]:
    """Whether the role in the scope passes `allowed`, and the reason in the current user's
    words: `approver for prod/payments`, `approver everywhere`, `you are viewer in shop`."""
    grants = list(grants)
    role = effective_role(global_role, grants, context, namespace)
    where = scope_text(context, namespace)
    if not allowed(role):
        return False, f"you are {role} in {where}"
    if role == global_role:
        return True, f"{role} everywhere"
    granted = next(g for g in grants if g.role == role and g.matches(context, namespace))
    return True, f"{role} for {granted.scope}"


def highest(global_role: Role, grants: Iterable[Grant]) -> Role:
    """The highest role held anywhere: what lets a request past the API's coarse role check
    (the scope of the thing it touches is checked after)."""
    return max([global_role, *(g.role for g in grants)], key=rank)
