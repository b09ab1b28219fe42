"""Progress of running calls: one line per call, updated in place, never over the output.

On an interactive terminal the lines live in a transient Rich `Live` region under the output:
each `tool.progress` (a rollout still waiting, a heartbeat) replaces its call's line, and the
region is erased before anything else is printed, so a heartbeat can neither pile up nor
overwrite a result. Elsewhere (a pipe, a file, a dumb terminal) each update is a line of its
own. Used by `cli.render`.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text


class RunningCalls:
    """The live lines of the calls still running (or being checked)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.lines: dict[str, Text] = {}
        self._live: Live | None = None

    @property
    def in_place(self) -> bool:
        return self.console.is_terminal and not self.console.is_dumb_terminal

    def show(self, call_id: str, line: Text) -> None:
        """Set the call's line (a new line of its own where lines cannot be redrawn)."""
        if not self.in_place:
            self.console.print(line)
            return
        line.no_wrap, line.overflow = True, "ellipsis"
        self.lines[call_id] = line
        self._redraw()

    def done(self, call_id: str) -> None:
        if self.lines.pop(call_id, None) is not None:
            self._redraw()

    def clear(self) -> None:
        """Erase every line (before a prompt, a pause, the end of a run)."""
        self.lines.clear()
        self._redraw()

    @property
    def active(self) -> bool:
        return self._live is not None

    def _redraw(self) -> None:
        if not self.lines:
            if self._live is not None:
                self._live.stop()
                self._live = None
            return
        view = Group(*self.lines.values())
        if self._live is None:
            self._live = Live(
                view,
                console=self.console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start(refresh=True)
        else:
            self._live.update(view, refresh=True)
