"""`opsgate doctor`: check that opsgate can run here, and say what to fix.

Prints one line per check (`opsgate.cli.checks`) and what to do about each failure; exits 1
when anything is broken. Each reachable context says which identity it acts as and what it
may do. Never prints keys or tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsgate.cli.common import console, load_settings


def doctor(
    kubeconfig: Annotated[Path | None, typer.Option(help="Check this kubeconfig instead.")] = None,
) -> None:
    """Check that opsgate can run here, and say what to fix.

    Example: `opsgate doctor`
    """
    from opsgate.cli import checks as c
    from opsgate.tools import in_cluster

    configured = load_settings(kubeconfig=kubeconfig)
    # In a pod the ServiceAccount's `in-cluster` context is checked like the others.
    with in_cluster.pod_settings(configured) as settings:
        binary_checks, kubectl = c.check_binaries(settings)
        checks = [
            *binary_checks,
            *c.check_contexts(settings, kubectl),
            c.check_model(settings),
            c.check_database(settings),
            *c.check_setting_origins(configured, given={"kubeconfig"} if kubeconfig else ()),
            *c.check_jenkins(settings),
        ]
    for check in checks:
        mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
        console.print(f"{mark} {check.name}: {check.detail}", highlight=False)
        if check.fix:
            console.print(f"      → {check.fix}", highlight=False)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
