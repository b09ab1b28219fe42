"""`opsgate audit`: verify, export and follow the audit log on the local database."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from opsgate.cli.common import console, load_settings, local_store, run
from opsgate.domain.audit import AuditEvent

audit_app = typer.Typer(help="Verify, export and follow the audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit hash chain; exit 1 at the first broken link.

    Example: `opsgate audit verify`
    """

    async def go() -> bool:
        async with local_store(load_settings()) as store:
            result = await store.verify_audit()
        if result.ok:
            console.print(f"[green]audit chain intact[/]: {result.checked} events verified")
        else:
            console.print(
                f"[red]audit chain broken[/] at seq {result.first_broken_seq}: {result.reason}"
            )
        return result.ok

    if not run(go()):
        raise typer.Exit(1)


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
        async with local_store(load_settings()) as store:
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

    async def go() -> None:
        async with local_store(load_settings()) as store:
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


def _print_event(event: AuditEvent) -> None:
    where = " ".join(
        f"{label}={value}"
        for label, value in (
            ("conv", event.conversation_id),
            ("run", event.run_id),
            ("call", event.call_id),
        )
        if value
    )
    console.print(
        f"{event.seq:>6} {event.at.isoformat(timespec='seconds')} "
        f"[bold]{event.kind:<20}[/] {event.actor_name:<10} {where}",
        highlight=False,
    )
