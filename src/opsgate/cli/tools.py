"""`opsgate tools list`: what the agent can do, and which calls need approval."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from opsgate.cli.common import console

tools_app = typer.Typer(
    help="Inspect the tools opsgate can call.", no_args_is_help=True, rich_markup_mode=None
)


@tools_app.command("list")
def tools_list(
    family: Annotated[
        str | None, typer.Option(help="Only this family: kubectl, helm, argo or jenkins.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON objects.")] = False,
) -> None:
    """List every tool with its family and whether it needs approval.

    Example: `opsgate tools list --family helm`
    """
    from rich.table import Table

    from opsgate.tools import registry

    tools = [t for t in registry.all_tools().values() if family in (None, t.family)]
    if family is not None and not tools:
        raise typer.BadParameter(f"no tools in family {family!r}", param_hint="--family")
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "name": t.name,
                        "family": t.family,
                        "description": t.description,
                        "input_schema": t.input_schema(),
                        "annotations": t.annotations.to_mcp(),
                        "needs_approval": not t.annotations.read_only
                        or t.read_only_when is not None,
                    }
                    for t in tools
                ],
                indent=2,
            )
        )
        return
    table = Table("tool", "family", "approval", "summary")
    for t in tools:
        if t.read_only_when is not None:
            approval = "[yellow]depends on command[/]"
        elif t.annotations.read_only:
            approval = "no (read)"
        elif t.annotations.destructive:
            approval = "[red]yes, destructive[/]"
        else:
            approval = "[yellow]yes[/]"
        table.add_row(t.name, t.family, approval, t.description.strip().splitlines()[0])
    console.print(table)
    counts = {f: sum(1 for t in tools if t.family == f) for f in sorted({t.family for t in tools})}
    console.print(", ".join(f"{f}: {n}" for f, n in counts.items()) + f"; total {len(tools)}")
