"""Log windows start and end on line boundaries, so a cut never splits a secret's line."""

from __future__ import annotations

from opsgate.tools.jenkins import logs

LOG = b"one\nTOKEN=abc\nthree\n"


def test_a_window_from_zero_keeps_whole_lines_when_cut() -> None:
    window = logs.forward_window(LOG[:9], 0, truncated=True)
    assert (window.data, window.begin, window.end) == (b"one\n", 0, 4)


def test_a_start_at_a_line_start_keeps_that_line() -> None:
    start = 4
    fetched = LOG[logs.fetch_offset(start) :]
    window = logs.forward_window(fetched, start, truncated=False)
    assert (window.data, window.begin) == (b"TOKEN=abc\nthree\n", 4)


def test_a_start_inside_a_line_skips_the_rest_of_it() -> None:
    start = 6  # inside "TOKEN=abc"
    fetched = LOG[logs.fetch_offset(start) :]
    window = logs.forward_window(fetched, start, truncated=False)
    assert (window.data, window.begin) == (b"three\n", 14)


def test_a_start_inside_the_last_partial_line_yields_nothing_but_moves_on() -> None:
    window = logs.forward_window(b"ending", 3, truncated=True)
    assert window.data == b""
    assert window.end > 3


def test_a_tail_drops_its_partial_first_line() -> None:
    window = logs.tail_window(LOG[-12:], len(LOG), truncated=True)
    assert (window.data, window.begin) == (b"three\n", 14)
    whole = logs.tail_window(LOG, len(LOG), truncated=False)
    assert (whole.data, whole.begin) == (LOG, 0)
