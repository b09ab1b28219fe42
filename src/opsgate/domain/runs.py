"""Run and approval statuses."""

from __future__ import annotations

from typing import Literal

RunStatus = Literal["running", "awaiting_approval", "completed", "stopped", "failed"]
FINAL_RUN_STATUSES: frozenset[RunStatus] = frozenset({"completed", "stopped", "failed"})

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]
DecisionKind = Literal["approve", "reject"]
