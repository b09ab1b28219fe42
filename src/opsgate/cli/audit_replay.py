"""What `opsgate audit replay` prints: a conversation's runs as the run view tells them.

`cli.audit`'s `replay` command reads the events (from the local database, or from a JSONL
export it has checked first), and calls `runs_of` and `timeline_lines`; the steps come from
`domain.run_timeline`, the same as `GET /runs/{id}/timeline`. Every text in a step may come
from the model, the cluster or another user: it is made visible, never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.text import Text

from opsgate.cli.common import visible
from opsgate.domain import run_timeline
from opsgate.domain.audit import AuditEvent
from opsgate.domain.canonical import strict_json

_WORDS = {
    "request": "request",
    "model_turn": "model turn",
    "call": "call",
    "approval": "approval",
    "execution": "execution",
    "verification": "verification",
    "answer": "answer",
}
_TEXT_CHARS = 200


def events_of_export(lines: Iterable[str]) -> list[AuditEvent]:
    """The events of a JSONL export (its head line left out), in order."""
    parsed = (strict_json(line) for line in lines if line.strip())
    return [AuditEvent.model_validate(value) for value in parsed if "head" not in value]


def runs_of(events: Iterable[AuditEvent], conversation_id: str) -> list[run_timeline.RunTimeline]:
    """Each run of the conversation, in the order it started."""
    mine = [e for e in events if e.conversation_id == conversation_id and e.run_id is not None]
    run_ids = list(dict.fromkeys(e.run_id for e in mine if e.run_id is not None))
    return [run_timeline.build(run_id, mine) for run_id in run_ids]


def _duration(ms: int) -> str:
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _utc(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _TEXT_CHARS else flat[:_TEXT_CHARS] + "…"


def _facts(step: run_timeline.Step) -> list[str]:
    facts = []
    if step.actor:
        facts.append(f"by {step.actor}")
    if step.object:
        facts.append(f"object {step.object}")
    if step.rule_ids:
        facts.append(f"rules {', '.join(step.rule_ids)}")
    if step.exit_code is not None:
        facts.append(f"exit {step.exit_code}")
    if step.output_size is not None:
        facts.append(f"output {step.output_size} bytes sha256 {step.output_sha256}")
    if step.preview_sha256 is not None:
        checked = {True: "matches the decision", False: "does NOT match the decision"}
        said = (
            "not named by the decision"
            if step.preview_matches is None
            else checked[step.preview_matches]
        )
        facts.append(f"preview sha256 {step.preview_sha256} {said}")
    if step.usage is not None:
        usage = step.usage
        cost = "cost unknown" if usage.cost_usd is None else f"${usage.cost_usd:.5f}"
        facts.append(
            f"model {usage.model} {usage.input_tokens} tokens in, {usage.output_tokens} out, {cost}"
        )
    return facts


def timeline_lines(timeline: run_timeline.RunTimeline) -> list[Text]:
    """The run's head line, then one line per step (offset from the run's start, kind, title,
    outcome, duration) with its text and facts indented under it."""
    status = timeline.status or "not finished"
    start = timeline.started_at
    lines = [
        Text.assemble(
            ("run ", "bold"),
            visible(f"{timeline.run_id}  {status}  {_duration(timeline.duration_ms)}"),
            f"  started {_utc(start)}" if start else "",
        )
    ]
    for step in timeline.steps:
        offset = _duration(int((step.started_at - start).total_seconds() * 1000)) if start else ""
        indent = "    " if step.parent else "  "
        title = "" if step.title == step.kind else f" {step.title}"
        outcome = f" [{step.outcome}]" if step.outcome else ""
        lines.append(
            Text.assemble(
                f"+{offset:>8}{indent}",
                (_WORDS[step.kind], "bold"),
                visible(f"{title}{outcome}  {_duration(step.duration_ms)}"),
            )
        )
        under = " " * (10 + len(indent))
        if step.command:
            lines.append(Text(under + "$ " + visible(_short(step.command))))
        if step.text:
            lines.append(Text(under + visible(_short(step.text))))
        facts = _facts(step)
        if facts:
            lines.append(Text(under + visible("; ".join(facts))))
    return lines
