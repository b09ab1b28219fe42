"""Audit export: JSONL that verifies offline (also with the documented snippet), and CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sys
from asyncio.subprocess import PIPE
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsgate.store import audit_export
from opsgate.store.sql import SqlStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


async def _fill(store: SqlStore) -> None:
    for i in range(8):
        await store.append_audit(
            "tool.finished",
            {"tool": "k8s_get", "output": f"línea {i} ✓", "exit_code": 0},
            actor_id=None,
            actor_name="engine",
            conversation_id="cnv_a" if i % 2 == 0 else "cnv_b",
            run_id="run_1",
            call_id=f"call_{i}",
        )


async def _export(store: SqlStore, **kwargs: object) -> str:
    out = io.StringIO()
    await audit_export.export_audit(store, out, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


async def test_full_export_verifies_offline(store: SqlStore) -> None:
    await _fill(store)
    text = await _export(store)
    lines = text.splitlines()
    assert len(lines) == 8
    assert json.loads(lines[0])["prev_hash"] == "0" * 64
    result = audit_export.verify_export_lines(lines, complete=True)
    assert (result.ok, result.checked) == (True, 8)


async def test_edited_export_line_is_found(store: SqlStore) -> None:
    await _fill(store)
    lines = (await _export(store)).splitlines()
    event = json.loads(lines[4])
    event["payload"]["exit_code"] = 1
    lines[4] = json.dumps(event)
    result = audit_export.verify_export_lines(lines)
    assert not result.ok
    assert (result.first_broken_seq, result.checked) == (5, 4)
    dropped = lines[:4] + lines[5:]
    assert audit_export.verify_export_lines(dropped).ok
    missing = audit_export.verify_export_lines(dropped, complete=True)
    assert (missing.ok, missing.first_broken_seq) == (False, 6)


async def test_filtered_export_checks_links_only_where_contiguous(store: SqlStore) -> None:
    await _fill(store)
    lines = (await _export(store, conversation_id="cnv_a")).splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 3, 5, 7]
    assert audit_export.verify_export_lines(lines).ok
    assert not audit_export.verify_export_lines(lines, complete=True).ok
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert await _export(store, since=future) == ""


async def test_reordered_export_is_refused(store: SqlStore) -> None:
    await _fill(store)
    lines = (await _export(store)).splitlines()
    swapped = [lines[1], lines[0], *lines[2:]]
    result = audit_export.verify_export_lines(swapped)
    assert (result.ok, result.first_broken_seq) == (False, 1)


async def _python(script: Path, argument: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-I", str(script), str(argument), stdout=PIPE, stderr=PIPE
    )
    stdout, stderr = await process.communicate()
    return await process.wait(), stdout.decode(), stderr.decode()


async def test_documented_snippet_verifies_an_export(store: SqlStore, tmp_path: Path) -> None:
    await _fill(store)
    export = tmp_path / "audit.jsonl"
    export.write_text(await _export(store), encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert snippet is not None
    script = tmp_path / "check.py"
    script.write_text(snippet.group(1))
    code, stdout, _ = await _python(script, export)
    assert (code, stdout.strip()) == (0, "ok 8")
    lines = export.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("engine", "mallory")
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, stderr = await _python(script, export)
    assert code != 0
    assert "line 3: bad hash" in stderr


async def test_csv_export_has_one_row_per_event(store: SqlStore) -> None:
    await _fill(store)
    rows = list(csv.DictReader(io.StringIO(await _export(store, fmt="csv"))))
    assert [int(r["seq"]) for r in rows] == list(range(1, 9))
    assert json.loads(rows[0]["payload"])["output"] == "línea 0 ✓"
    assert rows[0]["conversation_id"] == "cnv_a"
    assert len(rows[0]["hash"]) == 64
