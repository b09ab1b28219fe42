"""Engine events as the terminal shows them, for `opsgate chat` and `opsgate ask`.

`Renderer.show` takes one stream event (parsed into its `domain.events` model) and prints it:
the model's text as it streams (and in full when the stream missed some), each planned call
named by tool and object, output in a box (cluster text never passes for opsgate's own
lines), decisions, verdicts with their reason and offered rollback, and the run's derived
final status with its summary. Running calls show as live lines (`cli.progress`). Everything
that came from the model, the cluster or a person goes through `common.untrusted`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from opsgate.cli import cards, words
from opsgate.cli.client import SseEvent
from opsgate.cli.common import untrusted
from opsgate.cli.progress import RunningCalls
from opsgate.domain import events as ev
from opsgate.domain.runs import RunStatus

OUTPUT_LINES = 25


def parse(event: SseEvent) -> ev.EngineEvent | None:
    """The typed event, or None for one this CLI does not know (a newer server)."""
    try:
        return ev.ENGINE_EVENT.validate_python(event.data)
    except ValidationError:
        return None


def fold(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= OUTPUT_LINES:
        return text or "(no output)"
    hidden = len(lines) - OUTPUT_LINES
    return "\n".join(
        [*lines[:OUTPUT_LINES], f"… {hidden} more lines (the full output is in the run)"]
    )


def status_line(
    status: RunStatus, summary: str | None, reason: str | None, stopped_by: str | None
) -> Text:
    """`run completed with failures: 1 change run: 1 verification failed`, or
    `run rejected: nothing ran (1 call rejected; 1 read)`."""
    look = words.RUN[status]
    line = Text.assemble("run ", look.text())
    if stopped_by:
        line.append_text(Text.assemble(" by ", untrusted(stopped_by)))
    if summary:
        line.append(f" ({summary})" if ":" in look.word else f": {summary}")
    if reason and reason != summary:
        line.append_text(Text.assemble(" (", untrusted(reason), ")"))
    line.stylize(look.style)
    return line


class Renderer:
    """Prints one run's events; remembers what a decision prompt and the exit code need."""

    def __init__(self, console: Console, *, after: int = 0) -> None:
        self.console = console
        self.after = after
        """The id of the last stream event read (where to resume)."""
        self.progress = RunningCalls(console)
        self.calls: dict[str, tuple[str, dict[str, Any], str]] = {}
        """call id -> (tool, args, classification) of every call seen."""
        self.pending: ev.ApprovalRequested | None = None
        self.status: RunStatus | None = None
        self._streamed = ""
        self._held = ""

    # -- the model's text ------------------------------------------------------------------

    def _token(self, text: str) -> None:
        self._streamed += text
        if self.progress.active:
            # A partial line under live lines would be drawn over: hold it to its line end.
            self._held += text
            done, sep, self._held = self._held.rpartition("\n")
            if sep:
                self.console.print(untrusted(done + sep, block=True), end="")
            return
        self.console.print(untrusted(text, block=True), end="")

    def _end_text(self, full: str | None = None) -> None:
        """Close the streamed text; print `full` when the stream did not carry all of it."""
        rest, self._held = self._held, ""
        if self._streamed and not self._streamed.endswith("\n"):
            rest += "\n"  # in the same print: a line end printed apart could land under live lines
        if rest:
            self.console.print(untrusted(rest, block=True), end="")
        if full and full.strip() != self._streamed.strip():
            self.console.print(untrusted(full, block=True))
        self._streamed = ""

    # -- events ----------------------------------------------------------------------------

    def name(self, call_id: str) -> str:
        known = self.calls.get(call_id)
        return cards.label(known[0], known[1]) if known else f"call {call_id}"

    def show(self, raw: SseEvent) -> ev.EngineEvent | None:
        event = parse(raw)
        if event is None:
            self._end_text()
            self.console.print(untrusted(f"(an event this CLI does not know: {raw.type})", "dim"))
            return None
        if isinstance(event, ev.Token):
            self._token(event.text)
            return event
        if isinstance(event, ev.ModelTurn):
            # Usage is for the web chips and the usage views; the turn's text is not over yet
            # for the terminal (its plan or answer follows).
            return event
        self._end_text(event.text if isinstance(event, ev.Plan | ev.Answer) else None)
        if isinstance(event, ev.Plan):
            self._plan(event)
        elif isinstance(event, ev.ToolStarted):
            self._started(event)
        elif isinstance(event, ev.ToolProgress):
            line = Text.assemble("  ⋯ ", untrusted(self.name(event.call_id)), ": ")
            line.append_text(untrusted(event.text))
            self.progress.show(event.call_id, line)
        elif isinstance(event, ev.ToolFinished):
            self._finished(event)
        elif isinstance(event, ev.VerifyOutcome):
            self._verdict(event)
        elif isinstance(event, ev.ApprovalRequested):
            self.pending = event
            for call in event.calls:
                self.calls[call.call_id] = (call.tool, call.args, "mutation")
        elif isinstance(event, ev.ApprovalDecided):
            self._decided(event)
        elif isinstance(event, ev.ApprovalExpired):
            for call_id in event.call_ids:
                self.console.print(
                    Text.assemble(
                        words.CALL["expired"].text(),
                        " ",
                        untrusted(self.name(call_id)),
                        ": nobody decided in time, it did not run",
                    )
                )
        elif isinstance(event, ev.RunPaused):
            self.progress.clear()
            self.status = "awaiting_approval"
            count = len(self.pending.calls) if self.pending else 0
            line = Text.assemble("run ", words.RUN["awaiting_approval"].text())
            line.append(f": {count} {'change' if count == 1 else 'changes'} to decide")
            self.console.print(line)
        elif isinstance(event, ev.RunResumed):
            self.status = "running"
            self.pending = None
            self.console.print(Text("every change is decided; the run goes on", "dim"))
        elif isinstance(event, ev.ErrorEvent):
            self.progress.clear()
            self.console.print(
                Text.assemble(("error ", "bold red"), untrusted(f"{event.code}: {event.message}"))
            )
        elif isinstance(event, ev.RunFinished):
            self.progress.clear()
            self.status = event.status
            summary = event.summary.describe() if event.summary else None
            self.console.print(status_line(event.status, summary, event.reason, event.stopped_by))
        return event

    def _plan(self, event: ev.Plan) -> None:
        for call in event.calls:
            self.calls[call.call_id] = (call.tool, call.args, call.classification)
            kind: words.Classification = "read"
            if call.error:
                kind = "invalid"
            elif call.classification == "mutation":
                kind = "destructive change" if call.destructive else "change"
            line = Text.assemble("  ", words.KIND[kind].text(), " ")
            line.append_text(untrusted(cards.label(call.tool, call.args)))
            line.append(" ")
            line.append_text(cards.args_line(call.args))
            if call.error:
                line.append_text(Text.assemble(": ", untrusted(call.error, "red")))
            self.console.print(line)

    def _started(self, event: ev.ToolStarted) -> None:
        name = untrusted(self.name(event.call_id))
        if event.command:
            self.console.print(Text.assemble("  ▶ running ", name, ": ", untrusted(event.command)))
        self.progress.show(event.call_id, Text.assemble("  ⋯ ", name, ": running"))

    def _finished(self, event: ev.ToolFinished) -> None:
        self.progress.done(event.call_id)
        look = words.CALL[event.status]
        header = Text.assemble("  ", look.text(), " ", untrusted(self.name(event.call_id)))
        header.append(f" in {event.duration_ms} ms")
        if event.exit_code not in (None, 0):
            header.append(f" (exit code {event.exit_code})")
        if event.truncated:
            header.append(" (output truncated by the tool server)", style="yellow")
        self.console.print(header)
        self.console.print(
            Panel(untrusted(fold(event.output), block=True), border_style=look.style, expand=False)
        )
        known = self.calls.get(event.call_id)
        if known and known[2] == "mutation" and event.status == "succeeded":
            line = Text.assemble("  ⋯ ", untrusted(self.name(event.call_id)), ": checking")
            self.progress.show(event.call_id, line)

    def _verdict(self, event: ev.VerifyOutcome) -> None:
        self.progress.done(event.call_id)
        look = words.VERDICT[event.verdict]
        line = Text.assemble("  ", look.text(), " ", untrusted(self.name(event.call_id)), ": ")
        line.append_text(untrusted(event.summary))
        self.console.print(line)
        if event.proves:
            self.console.print(
                Text.assemble("    what this check proves: ", untrusted(event.proves))
            )
        for detail in event.details:
            self.console.print(Text.assemble("    · ", untrusted(detail, block=True)))
        if event.next_step:
            self.console.print(Text.assemble("    next step: ", untrusted(event.next_step)))
        if event.rollback:
            tool = str(event.rollback.get("tool", ""))
            args = event.rollback.get("args")
            args = args if isinstance(args, dict) else {}
            offer = Text.assemble(
                "    rollback offered: ",
                untrusted(cards.label(tool, args), "bold"),
                " ",
                cards.args_line(args),
            )
            self.console.print(offer)
            self.console.print(
                Text(
                    "    nothing was rolled back: ask for it if you want it, and it comes back "
                    "to you for approval as a new change"
                )
            )

    def _decided(self, event: ev.ApprovalDecided) -> None:
        if not event.settled:
            # A policy's quorum counted it; the call still waits for more approvals.
            self.console.print(
                Text.assemble(
                    "approval by ",
                    untrusted(event.decided_by),
                    " counted for ",
                    untrusted(self.name(event.call_id)),
                    "; it still waits",
                )
            )
            for progress in event.progress:
                self.console.print(Text.assemble("    policy ", untrusted(progress)))
            return
        line = Text.assemble(
            words.DECIDED[event.decision].text(),
            " ",
            untrusted(self.name(event.call_id)),
            " by ",
            untrusted(event.decided_by),
        )
        if event.reason:
            line.append_text(Text.assemble(": ", untrusted(event.reason)))
        line.append_text(untrusted(f"  call {event.call_id}, approval {event.approval_id}", "dim"))
        self.console.print(line)
