"""The one outcome model: the states a call moves through and the run status derived from them.

Every surface shows what this module derives: the engine stores the derived run status and
puts it, with its counts, in `run.finished` (stream and audit); the API, the CLI, the Command
Center and replay read it from there. Nothing sets a final run status by hand.
docs/outcomes.md lists the states, their words and colours.

A call:

    planned ─┬─ invalid                        (never ran; the error went back to the model)
             ├─ running ─ succeeded | failed | outcome_unknown                      (a read)
             └─ awaiting_approval ─┬─ rejected | expired                  (a change, not run)
                                   └─ approved ─┬─ refused        (the gate found a mismatch)
                                                ├─ expired   (approved, but resumed too late)
                                                └─ running ─┬─ failed | outcome_unknown
                                                            └─ succeeded ─ verified
                                                                | verification_failed
                                                                | not_verified
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from opsgate.domain.calls import CallStatus, Classification
from opsgate.domain.runs import RunStatus

RunEnd = Literal["answered", "stopped", "failed"]
"""How the run's loop ended: it answered, it was stopped on request, or it broke off."""

VERIFY_STATES: frozenset[CallStatus] = frozenset(
    {"verified", "verification_failed", "not_verified"}
)
FAILED_STATES: frozenset[CallStatus] = frozenset({"failed", "outcome_unknown", "refused"})
"""Call states counted as failed; with `verification_failed` they make a run that answered
`completed_with_failures`. An `invalid` call never ran (its error went back to the model, which
may correct it), so it is counted apart."""
DECLINED_STATES: frozenset[CallStatus] = frozenset({"rejected", "expired"})
RAN_STATES: frozenset[CallStatus] = VERIFY_STATES | {
    "running",
    "succeeded",
    "failed",
    "outcome_unknown",
}
"""States of a call that was started (whatever became of it)."""


class CallOutcome(BaseModel):
    """What the derivation needs of one call."""

    model_config = ConfigDict(frozen=True)

    classification: Classification
    status: CallStatus


class RunSummary(BaseModel):
    """Counts behind a run's status, carried in `run.finished` so every surface can say why."""

    model_config = ConfigDict(frozen=True)

    reads: int = 0
    changes_run: int = 0
    verified: int = 0
    not_verified: int = 0
    verification_failed: int = 0
    failed: int = 0
    """Calls that ran and failed, were refused by the gate, or whose outcome is unknown."""
    invalid: int = 0
    """Calls refused before running (unknown tool, bad arguments, over a limit)."""
    rejected: int = 0
    expired: int = 0

    def describe(self) -> str:
        """One plain line, e.g. "2 changes run: 1 verified, 1 not verified; 1 read"."""
        parts: list[str] = []
        if self.changes_run:
            checks = [
                f"{n} {word}"
                for n, word in (
                    (self.verified, "verified"),
                    (self.not_verified, "not verified"),
                    (self.verification_failed, "verification failed"),
                )
                if n
            ]
            noun = "change" if self.changes_run == 1 else "changes"
            detail = f": {', '.join(checks)}" if checks else ""
            parts.append(f"{self.changes_run} {noun} run{detail}")
        for n, word in (
            (self.rejected, "rejected"),
            (self.expired, "expired"),
            (self.failed, "failed"),
            (self.invalid, "invalid"),
        ):
            if n:
                parts.append(f"{n} {'call' if n == 1 else 'calls'} {word}")
        if self.reads:
            parts.append(f"{self.reads} {'read' if self.reads == 1 else 'reads'}")
        return "; ".join(parts) or "nothing was run"


def summarize(calls: Iterable[CallOutcome]) -> RunSummary:
    counts = {
        "reads": 0,
        "changes_run": 0,
        "verified": 0,
        "not_verified": 0,
        "verification_failed": 0,
        "failed": 0,
        "invalid": 0,
        "rejected": 0,
        "expired": 0,
    }
    for call in calls:
        status = call.status
        if call.classification == "read" and status != "invalid":
            counts["reads"] += 1
        elif call.classification == "mutation" and status in RAN_STATES:
            counts["changes_run"] += 1
        if status in ("verified", "not_verified", "verification_failed"):
            counts[status] += 1
        elif call.classification == "mutation" and status == "succeeded":
            counts["not_verified"] += 1  # ran, but no verdict was recorded: not checked
        if status in FAILED_STATES:
            counts["failed"] += 1
        elif status == "invalid":
            counts["invalid"] += 1
        if status in DECLINED_STATES:
            counts[status] += 1
    return RunSummary(**counts)


def derive_run_status(end: RunEnd, summary: RunSummary) -> RunStatus:
    """The run's final status from how it ended and what became of its calls.

    - stopped / failed: the loop's own end wins (a stopped run is `stopped` even if a change
      ran; its calls say what ran).
    - answered: `completed` only when nothing failed and every change that ran was verified or
      declared unverifiable; any failure (a call that failed, was refused or whose outcome is
      unknown, a failed verification) makes it `completed_with_failures`; when nothing ran
      because the changes were declined, `rejected` (any rejection) or `expired`; when
      nothing could run at all because every call was invalid, `failed`.
    """
    if end != "answered":
        return end
    if summary.failed or summary.verification_failed:
        return "completed_with_failures"
    if not summary.reads and not summary.changes_run and summary.invalid:
        return "failed"
    if not summary.changes_run and summary.rejected:
        return "rejected"
    if not summary.changes_run and summary.expired:
        return "expired"
    return "completed"
