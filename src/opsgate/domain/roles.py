"""Roles and what each may do; checked by the API and again by the engine's gate.

`none` is a global role below viewer: a user who may see and do only what their scoped
grants (`domain.grants`) allow, in the contexts and namespaces those name.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["none", "viewer", "operator", "approver", "admin"]
ROLES: tuple[Role, ...] = ("none", "viewer", "operator", "approver", "admin")
"""Lowest first: a role may do everything the roles before it may."""


def rank(role: Role) -> int:
    """The role's place in `ROLES` (higher may do more)."""
    return ROLES.index(role)


def can_view(role: Role) -> bool:
    """See conversations, runs, approvals and audit entries."""
    return role != "none"


def can_operate(role: Role) -> bool:
    """Ask questions, run reads, propose changes."""
    return role in ("operator", "approver", "admin")


def can_approve(role: Role) -> bool:
    """Decide on pending mutations."""
    return role in ("approver", "admin")


def can_administer(role: Role) -> bool:
    """Manage users, tokens, integrations and policy."""
    return role == "admin"
