"""docs/outcomes.md says what every mutating tool's check proves, as the tools declare it."""

from __future__ import annotations

import typing

from scripts import outcomes_table

from opsgate.domain.calls import CallStatus
from opsgate.domain.runs import RunStatus


def test_the_table_of_checks_is_the_registry_s_declarations() -> None:
    document = outcomes_table.DOC.read_text()
    assert outcomes_table.with_table(document) == document, (
        "docs/outcomes.md is out of date: run `.venv/bin/python scripts/outcomes_table.py --write`"
    )


def test_every_call_state_and_run_status_is_explained() -> None:
    document = outcomes_table.DOC.read_text()
    for state in (*typing.get_args(CallStatus), *typing.get_args(RunStatus)):
        assert f"| `{state}` |" in document, state
