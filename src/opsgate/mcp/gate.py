"""The tool server's own approval check: no mutation runs without a valid, unused token.

Called by `opsgate.mcp.server` before every mutating call when an approval key is configured.
The engine mints tokens (`opsgate.domain.approval_token.mint`) bound to the canonical hash of
(tool, arguments, context); this module verifies them and spends each token's approval id in
`SpentApprovals`, the database every tool server shares, so a token lets exactly one call
through whichever process (the API's in-process server, `opsgate mcp` on stdio or HTTP) it
reaches first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.errors import ApprovalRequired, ConfigError
from opsgate.settings import MIN_KEY_BYTES

APPROVAL_META_KEY = "opsgate/approval_token"
"""Where the engine puts the approval token in an MCP request's `_meta`."""


class SpentApprovals(Protocol):
    """Approval ids whose token already let a call through, shared by every tool server.

    `opsgate.store.sql.SqlStore` is the implementation (`Store.spend_approval`).
    """

    async def spend_approval(
        self, approval_id: str, *, expires_at: datetime, now: datetime
    ) -> bool:
        """Record `approval_id` as spent, atomically; False if it was spent before."""
        ...


@dataclass
class ApprovalGate:
    """Checks the approval token of one mutating call and spends it."""

    key: bytes
    clock: Callable[[], float]
    spent: SpentApprovals

    def __post_init__(self) -> None:
        if len(self.key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"the tool server's approval key holds {len(self.key)} bytes; "
                f"it must hold at least {MIN_KEY_BYTES} bytes"
            )

    @staticmethod
    def token_of(tool: str, meta: Mapping[str, Any] | None) -> str:
        """The approval token the request carries, or `ApprovalRequired` if it has none."""
        token = (meta or {}).get(APPROVAL_META_KEY)
        if not isinstance(token, str) or not token:
            raise ApprovalRequired(
                f"tool {tool!r} changes state and needs an approval token in _meta "
                f"[{APPROVAL_META_KEY!r}]; nothing was run"
            )
        return token

    async def admit(
        self,
        tool: str,
        args: Mapping[str, Any],
        meta: Mapping[str, Any] | None,
        cluster: str | None = None,
        acting_as: str | None = None,
    ) -> approval_token.ApprovalClaim:
        """Return the claim that lets this exact call run once, or raise `ApprovalRequired`.

        The hash covers the arguments exactly as sent, their `context` value and `cluster`,
        the fingerprint of the cluster that context resolves to now, so a token minted for
        other arguments, another context, or a context since pointed elsewhere does not match;
        `acting_as` (the person the call impersonates) must be the one the token names.
        """
        token = self.token_of(tool, meta)
        context = args.get("context")
        expected = call_hash(tool, args, context if isinstance(context, str) else None, cluster)
        now = self.clock()
        try:
            claim = approval_token.verify(self.key, token, expected, now, acting_as)
        except ApprovalRequired:
            raise
        except (ValueError, KeyError, TypeError) as e:
            raise ApprovalRequired("approval token is malformed") from e
        try:
            expires_at = datetime.fromtimestamp(claim.expires_at, UTC)
        except (ValueError, OverflowError, OSError) as e:
            raise ApprovalRequired("approval token expiry is out of range") from e
        first_use = await self.spent.spend_approval(
            claim.approval_id, expires_at=expires_at, now=datetime.fromtimestamp(now, UTC)
        )
        if not first_use:
            raise ApprovalRequired(
                f"approval {claim.approval_id!r} was already used; nothing was run"
            )
        return claim
