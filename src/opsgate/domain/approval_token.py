"""Approval tokens: short-lived HMACs that let exactly one approved call through the tool server.

Minted by the engine from an approval record, checked by the MCP server before any mutation
runs. The token binds the canonical (tool, arguments, context) hash and an expiry; it travels
in the MCP request's `_meta`, never as a parameter the model could see or fill.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from opsgate.errors import ApprovalRequired


@dataclass(frozen=True)
class ApprovalClaim:
    """What a valid token proves."""

    call_hash: str
    approval_id: str
    expires_at: float
    acting_as: str | None = None
    """`ActingAs.text` of the approver a change runs as under impersonation; None otherwise."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(key: bytes, claim: ApprovalClaim) -> str:
    fields: dict[str, object] = {
        "h": claim.call_hash,
        "a": claim.approval_id,
        "e": claim.expires_at,
    }
    if claim.acting_as is not None:
        fields["u"] = claim.acting_as
    body = json.dumps(
        fields,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    signature = hmac.new(key, body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(signature)}"


def verify(
    key: bytes, token: str, expected_hash: str, now: float, acting_as: str | None = None
) -> ApprovalClaim:
    """Return the claim if the token is genuine, unexpired and for exactly this call, made as
    exactly `acting_as` (the person it impersonates; None for opsgate's own identity)."""
    try:
        body_part, signature_part = token.split(".", 1)
        body = _unb64(body_part)
        signature = _unb64(signature_part)
    except ValueError as e:
        raise ApprovalRequired("approval token is malformed") from e
    if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), signature):
        raise ApprovalRequired("approval token signature does not match")
    fields = json.loads(body)
    claim = ApprovalClaim(
        call_hash=fields["h"],
        approval_id=fields["a"],
        expires_at=fields["e"],
        acting_as=fields.get("u"),
    )
    if not hmac.compare_digest(claim.call_hash, expected_hash):
        raise ApprovalRequired("approval token was issued for a different call")
    if claim.acting_as != acting_as:
        raise ApprovalRequired("approval token was issued to act as another identity")
    if now >= claim.expires_at:
        raise ApprovalRequired("approval token has expired")
    return claim
