"""Trusted-proxy sign-in: who is asking, from the headers of an authenticating proxy.

For teams behind oauth2-proxy or an ingress that authenticates. `identity` reads the user and
groups headers (`Settings.proxy_auth`) only when the TCP peer is one of the configured proxy
networks; from any other peer the same headers are refused with `Unauthenticated` (someone
is trying to name themselves) and never trusted. `api.auth` calls `refuse_forged` on every
request (and `refuse_switched` on a proxy user's session), the proxy sign-in route
(`routes.sso`) calls `identity`, then opens an ordinary session (with CSRF) for the person.
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from opsgate.api.sso import ExternalIdentity
from opsgate.errors import InvalidInput, Unauthenticated
from opsgate.settings import ProxyAuthSettings
from opsgate.store.records import User

MAX_HEADER_CHARS = 4096


def peer_trusted(settings: ProxyAuthSettings, peer: str) -> bool:
    """Whether `peer` (the TCP peer's address) is one of the configured proxies."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in settings.trusted_cidrs)


def _peer(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def refuse_forged(settings: ProxyAuthSettings | None, request: Request) -> None:
    """`Unauthenticated` when identity headers arrive from a peer that is not a trusted proxy."""
    if settings is None:
        return
    present = [
        name for name in (settings.user_header, settings.groups_header) if name in request.headers
    ]
    if present and not peer_trusted(settings, _peer(request)):
        raise Unauthenticated(
            f"the {' and '.join(present)} header came from {_peer(request)}, which is not a "
            "trusted proxy (OPSGATE_PROXY_AUTH__TRUSTED_CIDRS): identity headers are accepted "
            "only from the proxy; sign in instead"
        )


def refuse_switched(settings: ProxyAuthSettings | None, request: Request, user: User) -> None:
    """`Unauthenticated` when a proxy user's session arrives with the proxy naming someone
    else (another person signed in at the proxy in the same browser): they sign in anew."""
    if settings is None or user.sign_in != "proxy":
        return
    named = request.headers.get(settings.user_header)
    if named is not None and named.strip() != user.subject:
        raise Unauthenticated(
            f"this session belongs to {user.username!r}, but the proxy now names someone else: "
            "sign in again"
        )


def _clean(value: str, header: str) -> str:
    if len(value) > MAX_HEADER_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(header, "holds control characters or is too long")
    return value.strip()


def identity(settings: ProxyAuthSettings, request: Request) -> ExternalIdentity:
    """The person the trusted proxy names.

    Raises:
        Unauthenticated: the headers came from another peer, or the user header is missing.
        InvalidInput: a header holds control characters or is too long.
    """
    refuse_forged(settings, request)
    if not peer_trusted(settings, _peer(request)):
        raise Unauthenticated(
            f"proxy sign-in is accepted only through the proxy; {_peer(request)} is not one "
            "of OPSGATE_PROXY_AUTH__TRUSTED_CIDRS"
        )
    user = _clean(request.headers.get(settings.user_header, ""), settings.user_header)
    if not user:
        raise Unauthenticated(
            f"the proxy sent no {settings.user_header} header: it has not authenticated you"
        )
    raw_groups = _clean(request.headers.get(settings.groups_header, ""), settings.groups_header)
    groups = tuple(g.strip() for g in raw_groups.split(settings.groups_separator) if g.strip())
    return ExternalIdentity(sign_in="proxy", subject=user, preferred_name=user, groups=groups)
