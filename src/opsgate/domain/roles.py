"""Roles and what each may do; checked by the API and again by the engine's gate."""

from __future__ import annotations

from typing import Literal

Role = Literal["viewer", "operator", "approver", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "approver", "admin")


def can_operate(role: Role) -> bool:
    """Ask questions, run reads, propose changes."""
    return role in ("operator", "approver", "admin")


def can_approve(role: Role) -> bool:
    """Decide on pending mutations."""
    return role in ("approver", "admin")


def can_administer(role: Role) -> bool:
    """Manage users, tokens, integrations and policy."""
    return role == "admin"
