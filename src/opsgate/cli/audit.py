"""`opsgate audit`: verify, export, replay and follow the audit log on the local database (or
verify and replay a JSONL export offline)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.text import Text

from opsgate.cli import audit_replay as audit_replay_view
from opsgate.cli.common import console, load_settings, local_store, run, visible
from opsgate.domain import audit_facts

if TYPE_CHECKING:
    from opsgate.domain.audit import AuditEvent
    from opsgate.store.records import ChainVerification

audit_app = typer.Typer(
    help="Verify, export and follow the audit log.", no_args_is_help=True, rich_markup_mode=None
)


@audit_app.command("verify")
def audit_verify(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Check this JSONL export offline instead of the database (no server needed).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    filtered: Annotated[
        bool,
        typer.Option(
            "--filtered",
            help="The export was made with --since or --conversation: gaps between its events "
            "are allowed.",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="The audit key, to check the export's HMACs and head signature too.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Recompute the keyed audit chain and check it against its signed head record; exit 1
    naming the first bad seq or the missing range.

    Example: `opsgate audit verify`, or offline `opsgate audit verify --file audit.jsonl`
    """
    if file is None:
        if filtered or key_file is not None:
            raise typer.BadParameter("--filtered and --key-file apply only with --file")

        async def go() -> ChainVerification:
            async with local_store(load_settings(), check_audit_head=False) as store:
                return await store.verify_audit()

        result = run(go())
    else:
        result = _verify_file(file, complete=not filtered, key_file=key_file)
    for line in verification_lines(result, where=None if file is None else str(file)):
        console.print(line)
    if not result.ok:
        raise typer.Exit(1)


def _verify_file(file: Path, *, complete: bool, key_file: Path | None) -> ChainVerification:
    key = key_file.read_bytes().strip() if key_file is not None else None
    return _export_check(_read_export(file), complete=complete, key=key)


def _read_export(file: Path) -> list[str]:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise typer.BadParameter(f"{file} is not UTF-8 text ({e.reason})") from e
    # Split on newlines only: a line's JSON may hold other line separators in its strings.
    return text.split("\n")


def _export_check(
    lines: list[str], *, complete: bool = False, key: bytes | None = None
) -> ChainVerification:
    from opsgate.store import audit_export

    return audit_export.verify_export_lines(lines, complete=complete, key=key)


def verification_lines(result: ChainVerification, *, where: str | None = None) -> list[Text]:
    """What `audit verify` prints (`where`: the export file checked, None for the database);
    reasons may quote stored text, so none of it is markup."""
    head = "no head record"
    if result.head_seq is not None and result.head_hash is not None:
        head = f"head seq {result.head_seq}, hash {result.head_hash}"
    if result.ok:
        how = (
            "verified with the audit key"
            if result.keyed
            else "hash-chained (HMACs NOT checked: no key)"
        )
        lines = [
            Text.assemble(
                ("audit chain intact", "green"),
                visible(
                    f"{' in ' + where if where else ''}: {result.checked} events {how}; {head}"
                ),
            )
        ]
    else:
        where = f"at seq {result.first_broken_seq}" if result.first_broken_seq else "at its head"
        lines = [
            Text.assemble(
                ("audit chain broken", "red"), f" {where}: {visible(result.reason or '')}"
            ),
            Text(f"checked {result.checked} events before it; {head}"),
        ]
        if result.missing_range is not None:
            first, last = result.missing_range
            lines.append(Text(f"missing events: {first}..{last}"))
    if result.unkeyed_range is not None:
        first, last = result.unkeyed_range
        lines.append(
            Text(
                f"events {first}..{last} predate the audit key: checked as a plain SHA-256 "
                "chain only, which anyone with write access could have recomputed"
            )
        )
    return lines


@audit_app.command("export")
def audit_export_cmd(
    fmt: Annotated[
        Literal["jsonl", "csv"], typer.Option("--format", help="jsonl (with hashes) or csv.")
    ] = "jsonl",
    since: Annotated[
        datetime | None, typer.Option(help="Only events at or after this time.")
    ] = None,
    conversation: Annotated[str | None, typer.Option(help="Only this conversation.")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout).")
    ] = None,
) -> None:
    """Export the audit log.

    Example: `opsgate audit export --format jsonl -o audit.jsonl`
    """
    from opsgate.store import audit_export

    since_utc = since.replace(tzinfo=since.tzinfo or UTC) if since else None

    async def go() -> int:
        async with local_store(load_settings(), check_audit_head=False) as store:
            if output is None:
                return await audit_export.export_audit(
                    store, sys.stdout, fmt=fmt, since=since_utc, conversation_id=conversation
                )
            with output.open("w", encoding="utf-8", newline="") as f:
                return await audit_export.export_audit(
                    store, f, fmt=fmt, since=since_utc, conversation_id=conversation
                )

    count = run(go())
    if output is not None:
        console.print(f"wrote {count} events to {output}", highlight=False)


@audit_app.command("replay")
def audit_replay(
    conversation: Annotated[str, typer.Argument(help="The conversation's id.")],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Read this JSONL export (its chain is checked first) instead of the database.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Tell a conversation's runs step by step from the audit log alone: request, model turns,
    calls, approvals, executions, verifications and answer, each with its duration.

    Example: `opsgate audit replay --file audit.jsonl cnv_1k1h5rjj2g`
    """
    from opsgate.store.records import AuditFilter

    if file is not None:
        lines = _read_export(file)
        # A conversation's export is a filtered one: gaps between its events are expected.
        checked = _export_check(lines)
        if not checked.ok:
            for line in verification_lines(checked, where=str(file)):
                console.print(line)
            raise typer.Exit(1)
        events = audit_replay_view.events_of_export(lines)
    else:

        async def go() -> list[AuditEvent]:
            async with local_store(load_settings(), check_audit_head=False) as store:
                flt = AuditFilter(conversation_id=conversation)
                return [event async for event in store.iter_audit(flt)]

        events = run(go())
    runs = audit_replay_view.runs_of(events, conversation)
    if not runs:
        where = str(file) if file is not None else "the audit log"
        console.print(Text(f"no run of conversation {visible(conversation)!r} in {where}"))
        raise typer.Exit(1)
    for index, timeline in enumerate(runs):
        if index:
            console.print()
        for line in audit_replay_view.timeline_lines(timeline):
            console.print(line, highlight=False, emoji=False, soft_wrap=True)


@audit_app.command("tail")
def audit_tail(
    count: Annotated[int, typer.Option("-n", help="How many recent events.")] = 20,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new events.")
    ] = False,
) -> None:
    """Print the newest audit events, optionally following new ones.

    Example: `opsgate audit tail -n 50 -f`
    """

    import asyncio

    async def go() -> None:
        async with local_store(load_settings(), check_audit_head=False) as store:
            events: deque[AuditEvent] = deque(maxlen=count)
            async for event in store.iter_audit():
                events.append(event)
            last = 0
            for event in events:
                _print_event(event)
                last = event.seq
            if not follow:
                if not events:
                    console.print("no audit events yet")
                return
            while True:
                await asyncio.sleep(1)
                for event in await store.list_audit(after_seq=last, limit=500):
                    _print_event(event)
                    last = event.seq

    with contextlib.suppress(KeyboardInterrupt):
        run(go())


_PAYLOAD_CHARS = 160


def event_text(event: AuditEvent) -> Text:
    """One event as `audit tail` prints it: seq, time, kind, then `tool=`, `object=`,
    `actor=`, `outcome=` (what it did to what, who, how it ended), the ids and the payload.
    Names, ids and payloads are untrusted: they go into a `Text` (never parsed as markup) with
    control characters made visible."""
    shown = audit_facts.facts(event.kind, event.payload)
    columns = " ".join(
        f"{label}={value if value else '-'}"
        for label, value in (
            ("tool", shown.tool or event.tool),
            ("object", shown.object),
            ("actor", event.actor_name),
            ("outcome", shown.outcome),
        )
    )
    where = " ".join(
        f"{label}={value}"
        for label, value in (
            ("conv", event.conversation_id),
            ("run", event.run_id),
            ("call", event.call_id),
        )
        if value
    )
    payload = json.dumps(event.payload, ensure_ascii=False, sort_keys=True)
    if len(payload) > _PAYLOAD_CHARS:
        payload = payload[:_PAYLOAD_CHARS] + "…"
    return Text.assemble(
        f"{event.seq:>6} {event.at.isoformat(timespec='seconds')} ",
        (f"{event.kind:<20}", "bold"),
        " ",
        visible(f"{columns} {where} {payload}"),
    )


def _print_event(event: AuditEvent) -> None:
    # One line per event, however wide: tail output is read with grep and cut.
    console.print(event_text(event), highlight=False, emoji=False, soft_wrap=True)
