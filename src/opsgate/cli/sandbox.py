"""`opsgate sandbox`: run the local emulated cluster and Jenkins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from opsgate.cli.common import console, load_settings

sandbox_app = typer.Typer(
    help="Run the local emulated cluster and Jenkins.", no_args_is_help=True, rich_markup_mode=None
)


HostOption = Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")]


PortOption = Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")]


DataDirOption = Annotated[Path | None, typer.Option(help="Data directory (default ./.opsgate).")]


DbOption = Annotated[
    str | None, typer.Option(help="Database URL (default SQLite in the data dir).")
]


@sandbox_app.command("up")
def sandbox_up(
    port: Annotated[int, typer.Option(help="Kubernetes API port (0 picks a free one).")] = 0,
    seed: Annotated[Literal["demo", "empty"], typer.Option(help="Initial world.")] = "demo",
    state: Annotated[
        Path | None, typer.Option(help="Keep state in this file across restarts.")
    ] = None,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run in the background.")] = False,
) -> None:
    """Start the emulated cluster and write a kubeconfig with context `opsgate-sandbox`.

    Example: `opsgate sandbox up --seed demo` then `kubectl --kubeconfig PATH get pods -A`
    """
    from opsgate.sandbox import server as sandbox_server

    settings = load_settings()
    if detach:
        info = sandbox_server.up(data_dir=settings.data_dir, port=port, seed=seed, state=state)
        console.print(f"sandbox running; kubeconfig: {info.kubeconfig}", highlight=False)
        return
    kubeconfig = sandbox_server.runtime_dir(settings.data_dir) / "kubeconfig"
    console.print(
        f"sandbox ({seed} seed) starting; kubeconfig {kubeconfig} (context opsgate-sandbox); "
        "Ctrl-C stops it",
        highlight=False,
    )
    sandbox_server.serve_foreground(data_dir=settings.data_dir, port=port, seed=seed, state=state)


@sandbox_app.command("down")
def sandbox_down() -> None:
    """Stop a sandbox started with `opsgate sandbox up --detach`.

    Example: `opsgate sandbox down`
    """
    from opsgate.sandbox import server as sandbox_server

    stopped = sandbox_server.down(data_dir=load_settings().data_dir)
    console.print("sandbox stopped" if stopped else "no sandbox was running")


@sandbox_app.command("status")
def sandbox_status() -> None:
    """Show whether the sandbox runs, and where its kubeconfig is.

    Example: `opsgate sandbox status`
    """
    from opsgate.sandbox import server as sandbox_server

    info = sandbox_server.status(data_dir=load_settings().data_dir)
    if info is None:
        console.print("sandbox: not running")
        raise typer.Exit(1)
    console.print(
        f"sandbox: running at {info.api_url}; kubeconfig {info.kubeconfig}", highlight=False
    )
