"""Audit export: JSONL (with the signed head) that verifies offline, also with the documented
recipe, which refuses every edited export; and CSV."""

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

import pytest

from opsgate.domain.canonical import canonical_json
from opsgate.store import audit_export
from opsgate.store.sql import SqlStore
from tests.fixtures.postgres import AUDIT_KEY

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


async def test_full_export_ends_with_the_signed_head_and_verifies_offline(
    store: SqlStore,
) -> None:
    await _fill(store)
    lines = (await _export(store)).splitlines()
    assert len(lines) == 9
    assert json.loads(lines[0])["prev_hash"] == "0" * 64
    head = json.loads(lines[-1])["head"]
    assert (head["seq"], head["hash"]) == (8, json.loads(lines[7])["hash"])
    assert head == (await store.get_audit_head()).model_dump()  # type: ignore[union-attr]
    keyed = audit_export.verify_export_lines(lines, complete=True, key=AUDIT_KEY)
    assert (keyed.ok, keyed.checked, keyed.keyed, keyed.head_seq) == (True, 8, True, 8)
    unkeyed = audit_export.verify_export_lines(lines, complete=True)
    assert (unkeyed.ok, unkeyed.keyed) == (True, False)


async def test_edited_or_missing_export_line_is_found(store: SqlStore) -> None:
    await _fill(store)
    lines = (await _export(store)).splitlines()
    event = json.loads(lines[4])
    event["payload"]["exit_code"] = 1
    edited = [*lines[:4], canonical_json(event), *lines[5:]]
    result = audit_export.verify_export_lines(edited)
    assert not result.ok
    assert (result.first_broken_seq, result.checked) == (5, 4)
    dropped = lines[:4] + lines[5:]
    assert audit_export.verify_export_lines(dropped).ok  # as a filtered export would be
    missing = audit_export.verify_export_lines(dropped, complete=True)
    assert (missing.ok, missing.first_broken_seq, missing.missing_range) == (False, 5, (5, 5))
    cut = audit_export.verify_export_lines([*lines[:6], lines[-1]], complete=True)
    assert (cut.ok, cut.missing_range) == (False, (7, 8))


async def test_filtered_export_checks_links_only_where_contiguous(store: SqlStore) -> None:
    await _fill(store)
    lines = (await _export(store, conversation_id="cnv_a")).splitlines()
    assert [json.loads(line)["seq"] for line in lines[:-1]] == [1, 3, 5, 7]
    assert audit_export.verify_export_lines(lines, key=AUDIT_KEY).ok
    assert not audit_export.verify_export_lines(lines, complete=True).ok
    future = datetime.now(UTC) + timedelta(minutes=1)
    (only_head,) = (await _export(store, since=future)).splitlines()
    assert json.loads(only_head)["head"]["seq"] == 8


async def test_reordered_export_is_refused(store: SqlStore) -> None:
    await _fill(store)
    lines = (await _export(store)).splitlines()
    swapped = [lines[1], lines[0], *lines[2:]]
    result = audit_export.verify_export_lines(swapped)
    assert (result.ok, result.first_broken_seq) == (False, 1)


async def test_events_appended_after_the_head_was_read_are_left_out(store: SqlStore) -> None:
    await _fill(store)
    lines = audit_export.export_lines(store)
    first = await anext(lines)
    await store.append_audit("verify", {"late": True}, actor_id=None, actor_name="engine")
    rest = [line async for line in lines]
    exported = [first, *rest]
    assert len(exported) == 9
    assert json.loads(exported[-1])["head"]["seq"] == 8
    assert audit_export.verify_export_lines(
        "".join(exported).splitlines(), complete=True, key=AUDIT_KEY
    ).ok


def _edits(text: str) -> dict[str, str]:
    """The nine edits of an export that an offline check must refuse (issue 26)."""
    *events, head = text.splitlines()
    edited = json.loads(events[3])
    edited["payload"]["exit_code"] = 1
    head_record = json.loads(head)
    head_record["head"]["seq"] -= 1
    duplicated_key = events[2].replace('"payload":{', '"payload":{"exit_code":1,', 1)

    def joined(*lines: str) -> str:
        return "".join(f"{line}\n" for line in lines)

    return {
        "deleted first line": joined(*events[1:], head),
        "deleted middle line": joined(*events[:4], *events[5:], head),
        "deleted last event line": joined(*events[:-1], head),
        "edited line": joined(*events[:3], canonical_json(edited), *events[4:], head),
        "reordered lines": joined(events[1], events[0], *events[2:], head),
        "duplicated line": joined(*events[:3], events[2], *events[3:], head),
        "duplicate key": joined(*events[:2], duplicated_key, *events[3:], head),
        "edited head record": joined(*events, canonical_json(head_record)),
        "truncated file": text[: -len(head) // 2],
    }


def _head_moved_back(text: str) -> str:
    """The last event deleted and the head rewritten to match: consistent, but not signed."""
    *events, head = text.splitlines()
    record = json.loads(head)
    last = json.loads(events[-2])
    record["head"] |= {"seq": last["seq"], "hash": last["hash"]}
    return "".join(f"{line}\n" for line in [*events[:-1], canonical_json(record)])


async def _python(script: Path, *arguments: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-I", str(script), *map(str, arguments), stdout=PIPE, stderr=PIPE
    )
    stdout, stderr = await process.communicate()
    return await process.wait(), stdout.decode(), stderr.decode()


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert snippet is not None
    script = tmp_path / "check.py"
    script.write_text(snippet.group(1))
    return script


async def test_documented_recipe_accepts_the_export_and_refuses_every_edit(
    store: SqlStore, tmp_path: Path, recipe: Path
) -> None:
    await _fill(store)
    text = await _export(store)
    key_file = tmp_path / "audit_key"
    key_file.write_bytes(AUDIT_KEY + b"\n")
    export = tmp_path / "audit.jsonl"
    export.write_text(text, encoding="utf-8")
    code, stdout, stderr = await _python(recipe, export)
    assert (code, stdout.strip()) == (0, "ok 8 events; HMACs NOT checked (no key)"), stderr
    code, stdout, stderr = await _python(recipe, export, key_file)
    assert (code, stdout.strip()) == (0, "ok 8 events; HMACs checked"), stderr
    for name, edited in _edits(text).items():
        export.write_text(edited, encoding="utf-8")
        for arguments in ((export,), (export, key_file)):
            code, stdout, stderr = await _python(recipe, *arguments)
            assert code != 0, f"{name} was accepted: {stdout}"
            assert "export refused" in stderr, f"{name}: {stderr}"
        lines = edited.splitlines()
        assert not audit_export.verify_export_lines(lines, complete=True).ok, name
        assert not audit_export.verify_export_lines(lines, complete=True, key=AUDIT_KEY).ok, name


async def test_a_head_moved_back_over_a_cut_tail_needs_the_key_to_be_found(
    store: SqlStore, tmp_path: Path, recipe: Path
) -> None:
    await _fill(store)
    export = tmp_path / "audit.jsonl"
    export.write_text(_head_moved_back(await _export(store)), encoding="utf-8")
    key_file = tmp_path / "audit_key"
    key_file.write_bytes(AUDIT_KEY)
    code, stdout, _ = await _python(recipe, export)
    assert (code, stdout.strip()) == (0, "ok 7 events; HMACs NOT checked (no key)")
    code, _, stderr = await _python(recipe, export, key_file)
    assert code != 0
    assert "signature does not verify" in stderr
    lines = export.read_text(encoding="utf-8").splitlines()
    refused = audit_export.verify_export_lines(lines, complete=True, key=AUDIT_KEY)
    assert not refused.ok
    assert "signature" in (refused.reason or "")


async def test_csv_export_has_one_row_per_event_then_the_head(store: SqlStore) -> None:
    await _fill(store)
    rows = list(csv.DictReader(io.StringIO(await _export(store, fmt="csv"))))
    *events, head = rows
    assert [int(r["seq"]) for r in events] == list(range(1, 9))
    assert json.loads(events[0]["payload"])["output"] == "línea 0 ✓"
    assert events[0]["conversation_id"] == "cnv_a"
    assert (events[0]["tool"], len(events[0]["hash"]), len(events[0]["mac"])) == ("k8s_get", 64, 64)
    assert (head["kind"], head["seq"], head["hash"]) == ("audit.head", "8", events[-1]["hash"])
    assert json.loads(head["payload"])["keyed_from"] == 1
