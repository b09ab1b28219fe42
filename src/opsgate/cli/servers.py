"""`opsgate serve`, `opsgate mcp`, `opsgate sandbox` and `opsgate demo` (what `make run` starts).

Long-running processes: the API server (uvicorn), the MCP tool server (stdio or HTTP), the
emulated cluster, and the demo that ties them together.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

import typer

from opsgate.cli.common import audit_as_cli, console, load_settings, local_store, run
from opsgate.settings import JenkinsServer, Settings

sandbox_app = typer.Typer(help="Run the local emulated cluster and Jenkins.", no_args_is_help=True)

HostOption = Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")]
DataDirOption = Annotated[Path | None, typer.Option(help="Data directory (default ./.opsgate).")]
DbOption = Annotated[
    str | None, typer.Option(help="Database URL (default SQLite in the data dir).")
]


def _serve_app(settings: Settings) -> None:
    import uvicorn

    from opsgate.api.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )


def serve(
    host: HostOption = None,
    port: PortOption = None,
    data_dir: DataDirOption = None,
    database_url: DbOption = None,
) -> None:
    """Start the API server and the Command Center.

    Example: `opsgate serve --port 8080 --data-dir /var/lib/opsgate`
    """
    settings = load_settings(host=host, port=port, data_dir=data_dir, database_url=database_url)
    _serve_app(settings)


def mcp(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP, not stdio.")] = False,
    host: HostOption = None,
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8765,
) -> None:
    """Serve every opsgate tool over MCP (stdio by default; HTTP needs OPSGATE_MCP_HTTP_TOKEN).

    Example: `opsgate mcp` (stdio) or `opsgate mcp --http --port 8765`
    """
    from opsgate.mcp import entry

    settings = load_settings()
    if http:
        entry.run_http(settings, host or settings.host, port)
    else:
        entry.run_stdio(settings)


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


def _ensure_demo_admin(settings: Settings) -> str:
    """Create the demo admin once; its password is kept in the data dir (mode 0600)."""
    from opsgate.api import auth

    credentials = Path(settings.data_dir) / "demo-admin.txt"

    async def go() -> str:
        async with local_store(settings) as store:
            if await store.count_users() > 0:
                if credentials.exists():
                    return credentials.read_text().strip()
                return "admin (password chosen earlier)"
            password = secrets.token_urlsafe(12)
            await store.create_user("admin", "admin", auth.hash_password(password))
            await audit_as_cli(
                store, "user.created", {"username": "admin", "role": "admin", "via": "demo"}
            )
            credentials.parent.mkdir(parents=True, exist_ok=True)
            credentials.touch(mode=0o600)
            credentials.write_text(f"admin / {password}\n")
            return f"admin / {password}"

    return run(go())


def demo(
    port: PortOption = None,
    sandbox_port: Annotated[int, typer.Option(help="Kubernetes API port of the sandbox.")] = 0,
) -> None:
    """Start the sandbox with the demo seed and the server against it (what `make run` does).

    Example: `opsgate demo --port 8080`
    """
    base = load_settings(port=port)
    data_dir = Path(base.data_dir)
    sandbox_dir = data_dir / "sandbox"
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig = sandbox_dir / "kubeconfig"
    info_file = sandbox_dir / "demo.json"
    kubeconfig.unlink(missing_ok=True)
    from opsgate.sandbox import server as sandbox_server

    proc, info = sandbox_server.start_child(kubeconfig, info_file, port=sandbox_port)
    try:
        settings = base.model_copy(
            update={
                "kubeconfig": kubeconfig,
                "default_context": "opsgate-sandbox",
                "contexts": ["opsgate-sandbox"],
                "jenkins": base.jenkins
                or (
                    {
                        "sandbox": JenkinsServer(
                            url=info["jenkins_url"],
                            user=info["jenkins_user"],
                            token=info["jenkins_token"],
                        )
                    }
                    if info.get("jenkins_url")
                    else {}
                ),
            }
        )
        login = _ensure_demo_admin(settings)
        url = f"http://{settings.host}:{settings.port}/"
        console.rule("opsgate demo")
        console.print(f"Command Center: [bold]{url}[/]", highlight=False)
        console.print(f"Log in as:      [bold]{login}[/]", highlight=False)
        console.print(f"Sandbox:        kubeconfig {kubeconfig} (context opsgate-sandbox)")
        if settings.model:
            console.print(f"Model:          {settings.model}", highlight=False)
        else:
            console.print(
                "Model:          none configured; the tool palette works without one.\n"
                "                To chat, set OPSGATE_MODEL (e.g. openai/gpt-4.1) and\n"
                "                OPSGATE_MODEL_API_KEY, or OPSGATE_MODEL=ollama/llama3.1\n"
                "                with a local Ollama, then run again."
            )
        console.print("Press Ctrl-C to stop everything.")
        _serve_app(settings)
    finally:
        sandbox_server.stop_child(proc)
