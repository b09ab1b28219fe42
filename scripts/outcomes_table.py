"""Print (or, with --write, update) the table of what each check proves in docs/outcomes.md.

The table is generated from every mutating tool's declaration (`Tool.verifies`);
tests/docs/test_outcomes_doc.py fails when the document and the registry disagree.

    .venv/bin/python scripts/outcomes_table.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

from opsgate.tools import registry

DOC = Path(__file__).resolve().parents[1] / "docs" / "outcomes.md"
START, END = "<!-- verifies:start -->", "<!-- verifies:end -->"


def table() -> str:
    rows = ["| tool | family | what its check proves |", "| --- | --- | --- |"]
    for tool in sorted(registry.all_tools().values(), key=lambda t: (t.family, t.name)):
        if tool.annotations.read_only:
            continue
        proves = (tool.verifies or "(nothing declared)").replace("|", "\\|")
        rows.append(f"| `{tool.name}` | {tool.family} | {proves} |")
    return "\n".join(rows)


def with_table(document: str) -> str:
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    updated = with_table(DOC.read_text())
    if "--write" in sys.argv:
        DOC.write_text(updated)
    else:
        sys.stdout.write(table() + "\n")
