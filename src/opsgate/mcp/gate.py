"""The tool server's own approval check: no mutation runs without a valid, unused token.

Called by `opsgate.mcp.server` before every mutating call when an approval key is configured.
The engine mints tokens (`opsgate.domain.approval_token.mint`) bound to the canonical hash of
(tool, arguments, context); this module verifies them and remembers which approval ids were
spent, so a token lets exactly one call through.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.errors import ApprovalRequired

APPROVAL_META_KEY = "opsgate/approval_token"
"""Where the engine puts the approval token in an MCP request's `_meta`."""

DEFAULT_SPENT_CAPACITY = 100_000


@dataclass
class SpentApprovals:
    """Approval ids already used, kept until their token expires (bounded, in memory).

    When full of still-valid ids the check fails closed: a new mutation is refused rather
    than forgetting an id whose token could then be replayed.
    """

    capacity: int = DEFAULT_SPENT_CAPACITY
    _expiry_by_id: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._expiry_by_id)

    def spend(self, approval_id: str, expires_at: float, now: float) -> None:
        """Record `approval_id` as used; raise if it was used before or no room is left."""
        self._forget_expired(now)
        if approval_id in self._expiry_by_id:
            raise ApprovalRequired(f"approval {approval_id!r} was already used")
        if len(self._expiry_by_id) >= self.capacity:
            raise ApprovalRequired("too many live approvals; refusing until some expire")
        self._expiry_by_id[approval_id] = expires_at

    def _forget_expired(self, now: float) -> None:
        # Expired tokens are refused by their expiry anyway, so their ids need no memory.
        expired = [key for key, expires_at in self._expiry_by_id.items() if expires_at <= now]
        for key in expired:
            del self._expiry_by_id[key]


@dataclass
class ApprovalGate:
    """Checks the approval token of one mutating call and spends it."""

    key: bytes
    clock: Callable[[], float]
    spent: SpentApprovals = field(default_factory=SpentApprovals)

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

    def admit(
        self,
        tool: str,
        args: Mapping[str, Any],
        meta: Mapping[str, Any] | None,
        cluster: str | None = None,
    ) -> approval_token.ApprovalClaim:
        """Return the claim that lets this exact call run once, or raise `ApprovalRequired`.

        The hash covers the arguments exactly as sent, their `context` value and `cluster`,
        the fingerprint of the cluster that context resolves to now, so a token minted for
        other arguments, another context, or a context since pointed elsewhere does not match.
        """
        token = self.token_of(tool, meta)
        context = args.get("context")
        expected = call_hash(tool, args, context if isinstance(context, str) else None, cluster)
        now = self.clock()
        try:
            claim = approval_token.verify(self.key, token, expected, now)
        except ApprovalRequired:
            raise
        except (ValueError, KeyError, TypeError) as e:
            raise ApprovalRequired("approval token is malformed") from e
        self.spent.spend(claim.approval_id, claim.expires_at, now)
        return claim
