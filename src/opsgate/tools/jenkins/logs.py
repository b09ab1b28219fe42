"""Cutting a piece of a build log on line boundaries, so redaction always sees whole lines.

Used by `jenkins_build_log` (reads.py). A line cut in the middle could hide a secret's name
(`…SSWORD=hunter2` no longer looks like a password), so a window never starts or ends
inside a line: a partial first line is skipped and a partial last one is left for the next
call. Pure functions over bytes, with offsets as Jenkins counts them (bytes of the log).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogWindow:
    """Whole lines of a log and where they sit in it."""

    data: bytes
    begin: int
    """Offset of the first byte of `data` in the log."""

    @property
    def end(self) -> int:
        return self.begin + len(self.data)


def fetch_offset(start: int) -> int:
    """Where to ask Jenkins to start: one byte early, to learn whether `start` begins a line."""
    return start - 1 if start > 0 else 0


def forward_window(data: bytes, start: int, *, truncated: bool) -> LogWindow:
    """The whole lines of `data`, read from `fetch_offset(start)`."""
    begin = fetch_offset(start)
    if start > 0:
        newline = data.find(b"\n")
        if newline < 0:
            return LogWindow(b"", begin + len(data))
        # Byte start-1 is a newline when start begins a line; otherwise skip the partial line.
        data, begin = data[newline + 1 :], begin + newline + 1
    if truncated and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]
    return LogWindow(data, begin)


def tail_window(data: bytes, text_size: int, *, truncated: bool) -> LogWindow:
    """The whole lines at the end of a log whose last `len(data)` bytes are `data`."""
    if truncated and b"\n" in data:
        data = data[data.index(b"\n") + 1 :]
    return LogWindow(data, text_size - len(data))
