"""How a person signs in, and which opsgate role an identity provider's groups give them.

Used by the store (the `users.sign_in` column), the API's single sign-on and trusted-proxy
logins (`api.sso`) and the audit payloads of those logins. Pure data and rules, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from opsgate.domain.roles import ROLES, Role

SignIn = Literal["local", "oidc", "proxy"]
"""`local`: a password (or API tokens only); `oidc`: single sign-on through an OpenID Connect
provider; `proxy`: identity headers from an authenticating proxy in front of opsgate."""
SIGN_INS: tuple[SignIn, ...] = ("local", "oidc", "proxy")
EXTERNAL: tuple[SignIn, ...] = ("oidc", "proxy")


def role_for_groups(groups: Iterable[str], mapping: Mapping[str, Role]) -> Role | None:
    """The highest role any of `groups` maps to; None when no group is mapped (no access).

    Group names match exactly (case included): identity providers treat them as ids.
    """
    mapped = [mapping[group] for group in groups if group in mapping]
    if not mapped:
        return None
    return max(mapped, key=ROLES.index)
