"""The outcome vocabulary as the terminal shows it: one word and one colour per state.

Exactly the words and colours of docs/outcomes.md (which the Command Center shows too): green
for what succeeded and was checked, red for what failed, amber for what waits or was not
checked, blue for what runs, grey for what was declined and never ran. Used by
`cli.render`, `cli.cards`, `cli.decide` and `cli.approvals`; nothing in the CLI spells a state
any other way (no word is built from another, e.g. a decision plus "d").
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from rich.text import Text

from opsgate.domain.calls import CallStatus
from opsgate.domain.events import PreviewOutcome, Verdict
from opsgate.domain.runs import ApprovalStatus, DecisionKind, RunStatus


class Look(NamedTuple):
    word: str
    style: str

    def text(self) -> Text:
        return Text(self.word, style=self.style)


GOOD, BAD, WAITING, RUNNING, DECLINED = "green", "red", "yellow", "blue", "bright_black"

RUN: dict[RunStatus, Look] = {
    "running": Look("running", RUNNING),
    "awaiting_approval": Look("waiting for approval", WAITING),
    "completed": Look("completed", GOOD),
    "completed_with_failures": Look("completed with failures", BAD),
    "rejected": Look("rejected: nothing ran", DECLINED),
    "expired": Look("expired: nothing ran", DECLINED),
    "stopped": Look("stopped", DECLINED),
    "failed": Look("failed", BAD),
}

CALL: dict[CallStatus, Look] = {
    "planned": Look("planned", DECLINED),
    "invalid": Look("invalid", BAD),
    "awaiting_approval": Look("awaiting approval", WAITING),
    "approved": Look("approved", GOOD),
    "rejected": Look("rejected", DECLINED),
    "expired": Look("expired", DECLINED),
    "running": Look("running", RUNNING),
    "succeeded": Look("succeeded", GOOD),
    "failed": Look("failed", BAD),
    "outcome_unknown": Look("outcome unknown", BAD),
    "refused": Look("refused", BAD),
    "verified": Look("verified", GOOD),
    "verification_failed": Look("verification failed", BAD),
    "not_verified": Look("not verified", WAITING),
}

VERDICT: dict[Verdict, Look] = {
    "verified": Look("✔ verified", GOOD),
    "failed": Look("✘ verification failed", BAD),
    "not_verified": Look("○ not verified", WAITING),
}

DECIDED: dict[DecisionKind, Look] = {
    "approve": Look("approved", "bold green"),
    "reject": Look("rejected", "bold"),
}
"""The line of a decision: what it did, spelled out."""

DECIDING: dict[DecisionKind, str] = {"approve": "APPROVING", "reject": "REJECTING"}
"""The decision being made, as the reason prompt names it."""

APPROVAL: dict[ApprovalStatus, Look] = {
    "pending": Look("pending", WAITING),
    "approved": Look("approved", GOOD),
    "rejected": Look("rejected", DECLINED),
    "expired": Look("expired", DECLINED),
}

PREVIEW: dict[PreviewOutcome, Look] = {
    "changes": Look("the dry run found changes", WAITING),
    "no_change": Look("nothing will change: the dry run found no difference", GOOD),
    "failed": Look(
        "THE DRY RUN FAILED: this change is likely to fail; approving it needs an override reason",
        "bold white on red",
    ),
    "unavailable": Look("no dry run: what this changes was not previewed", WAITING),
}

Classification = Literal["read", "change", "destructive change", "invalid"]
KIND: dict[Classification, Look] = {
    "read": Look("read", "cyan"),
    "change": Look("change", WAITING),
    "destructive change": Look("DESTRUCTIVE change", "bold red"),
    "invalid": Look("invalid", BAD),
}
