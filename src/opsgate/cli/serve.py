"""`opsgate serve`, `opsgate mcp` and `opsgate demo` (what `make run` starts).

Long-running processes: the API server (uvicorn), the MCP tool server (stdio or HTTP), and the
demo that starts the sandbox and the server against it.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsgate.cli.common import console, err_console, load_settings, local_store, run

if TYPE_CHECKING:
    from opsgate.settings import Settings

DEMO_SETS = ("kubeconfig", "contexts", "require_distinct_approver")
"""Security settings the demo sets itself (the sandbox's cluster, one admin approving)."""

HostOption = Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")]


PortOption = Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")]


DataDirOption = Annotated[Path | None, typer.Option(help="Data directory (default ./.opsgate).")]


DbOption = Annotated[
    str | None, typer.Option(help="Database URL (default SQLite in the data dir).")
]


def _warn_about_env_file(settings: Settings, given: Collection[str] = ()) -> None:
    """One line on stderr (never stdout: `opsgate mcp` speaks MCP there) per security setting
    taken from a `.env` file; `given` are the ones set here, whatever the sources say."""
    from opsgate import settings as settings_module

    for line in settings_module.env_file_warnings(settings, given=given):
        err_console.print(line, highlight=False, markup=False, soft_wrap=True)


def _serve_app(settings: Settings) -> None:
    """Serve the app with uvicorn, with the slow-client limits of `opsgate.api.server` and the
    log format of the settings (`opsgate.api.logs`); on SQLite, only while no other server
    holds the database (`store.sqlite_lock`)."""
    import uvicorn

    from opsgate.api import logs, server
    from opsgate.api.app import create_app
    from opsgate.store import sqlite_lock

    lock = sqlite_lock.hold_single_server(settings.sqlalchemy_url())
    try:
        config = server.uvicorn_config(
            create_app(settings), settings, log_config=logs.dict_config(settings)
        )
        uvicorn.Server(config).run()
    finally:
        if lock is not None:
            lock.release()


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
    _warn_about_env_file(settings, given={"database_url"} if database_url else ())
    settings.require_keys()
    _serve_app(settings)


def mcp(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP, not stdio.")] = False,
    host: HostOption = None,
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8765,
) -> None:
    """Serve opsgate's tools to any MCP client; every change waits for a person's approval.

    Reads answer at once. A change opens an approval request in the Command Center (as the
    calling user, naming the client program), waits for the decision with progress messages,
    and returns what happened: verified, rejected, expired or failed. Run `opsgate serve` on
    the same data directory or database so approvers can decide.

    stdio: calls are made as OPSGATE_MCP_USER (an operator). A client config:

    \b
        {"mcpServers": {"opsgate": {"command": "opsgate", "args": ["mcp"],
          "env": {"OPSGATE_MCP_USER": "alice", "OPSGATE_DATA_DIR": "/srv/opsgate"}}}}

    HTTP (`--http`, at http://HOST:PORT/mcp): each client sends an opsgate API token of its
    user (`opsgate tokens login`) as a bearer token:

    \b
        {"mcpServers": {"opsgate": {"type": "http", "url": "http://127.0.0.1:8765/mcp",
          "headers": {"Authorization": "Bearer og_..."}}}}

    A client that declares the MCP tasks extension gets a change as a task to poll instead.
    One person on stdio may set OPSGATE_MCP_CONFIRM=elicit to confirm changes in the client
    (lower assurance, off by default). More clients and settings: docs/mcp.md.

    Example: `OPSGATE_MCP_USER=alice opsgate mcp` (stdio) or `opsgate mcp --http --port 8765`
    """
    from opsgate.api.gateway import serve as gateway

    settings = load_settings()
    _warn_about_env_file(settings)
    settings.require_keys()
    gateway.run(settings, "http" if http else "stdio", host or settings.host, port)


def _ensure_demo_admin(settings: Settings) -> str:
    """Create the demo admin once; its password is kept in the data dir (mode 0600)."""
    from opsgate.api import accounts
    from opsgate.api.passwords import Passwords

    credentials = Path(settings.data_dir) / "demo-admin.txt"

    async def go() -> str:
        async with local_store(settings) as store:
            if await store.count_users() > 0:
                if credentials.exists():
                    return credentials.read_text().strip()
                return "admin (password chosen earlier)"
            password = secrets.token_urlsafe(12)
            await accounts.create_user(
                store, Passwords(), "admin", "admin", password, actor=accounts.CLI, via="demo"
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
    from opsgate.settings import JenkinsServer

    base = load_settings(port=port)
    _warn_about_env_file(base, given=DEMO_SETS)
    base.require_keys()
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
                # One admin proposes and approves in the demo; every change still pauses.
                "require_distinct_approver": False,
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
        console.print(
            "Approvals:      every change pauses for approval; the distinct-approver rule is\n"
            "                off (the one admin may approve their own changes). Outside the\n"
            "                demo it is on unless OPSGATE_REQUIRE_DISTINCT_APPROVER=false."
        )
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
