"""The fixed strings of runs: kinds, statuses, approval statuses and decisions, message roles.

A run's final status is derived from its calls and how it ended (`domain.outcomes`), never
set by hand; docs/outcomes.md says what each means and how every surface shows it.
"""

from __future__ import annotations

from typing import Literal

RunKind = Literal["chat", "direct"]
"""A chat run plans with the model; a direct run is one tool call a person proposed."""

RunStatus = Literal[
    "running",
    "awaiting_approval",
    "completed",
    "completed_with_failures",
    "rejected",
    "expired",
    "stopped",
    "failed",
]
FINAL_RUN_STATUSES: frozenset[RunStatus] = frozenset(
    {"completed", "completed_with_failures", "rejected", "expired", "stopped", "failed"}
)

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]
DecisionKind = Literal["approve", "reject"]
DecisionVia = Literal["elicitation"]
"""How a decision was given outside opsgate's own surfaces (None: the Command Center, the
CLI or the API): `elicitation`, the local user's answer in the MCP client (lower assurance)."""

MessageRole = Literal["system", "user", "assistant", "tool"]
"""Who a conversation message is from (`system` only ever in a model prompt)."""
