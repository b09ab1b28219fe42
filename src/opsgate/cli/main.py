"""The `opsgate` entry point: wires the subcommands and maps errors to exit codes.

Exit codes: 0 ok, 1 failure (an `OpsgateError` or a failed check), 2 usage (from Click).

Command modules are imported only when their command runs or shows its own help: the top-level
help lists them from `COMMANDS` alone, so `opsgate --help` costs no more than Click and Typer
(tests/cli/test_startup.py proves nothing else is imported; bench/cli_start.py times it).
Help is Click's plain text (`rich_markup_mode=None`): Rich's help renderer alone costs more
than everything else a help screen needs.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer import _click as click  # Typer (0.29) runs on its own vendored Click
from typer.core import TyperCommand, TyperGroup

import opsgate
from opsgate.errors import OpsgateError

COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("serve", "serve", "Run the API server and the Command Center."),
    "mcp": ("serve", "mcp", "Serve every opsgate tool over MCP (stdio, or HTTP)."),
    "demo": ("serve", "demo", "Start the sandbox and the server against it (make run)."),
    "sandbox": ("sandbox", "sandbox_app", "Run the local emulated cluster and Jenkins."),
    "chat": ("chat", "chat", "Talk to opsgate in the terminal; decide changes at the prompt."),
    "ask": ("chat", "ask", "Ask one question; exit 0 completed, 3 awaiting approval."),
    "approvals": ("approvals", "approvals_app", "List and decide pending approvals."),
    "undo": ("undo", "undo", "Undo a change that ran (the undo waits for approval)."),
    "audit": ("audit", "audit_app", "Verify, export and follow the audit log."),
    "policy": ("policy", "policy_app", "Check and explain the approval policy."),
    "users": ("users", "users_app", "Manage users and their roles."),
    "tokens": ("users", "tokens_app", "Create, list and revoke API tokens."),
    "local-login": (
        "local_login",
        "local_login_app",
        "Turn local password sign-in on or off (break glass: on).",
    ),
    "webhooks": ("webhooks", "webhooks_app", "Add, list and remove outgoing webhooks."),
    "tools": ("tools", "tools_app", "Inspect the tools opsgate can call."),
    "diagnose": (
        "diagnose",
        "diagnose",
        "Find what is broken in the cluster and CI, no model needed.",
    ),
    "eval": (
        "eval",
        "eval_command",
        "Score a model on the eval scenarios: task success and safety.",
    ),
    "doctor": ("doctor", "doctor", "Say what is missing or broken, and how to fix it."),
}
"""Command name -> (module in `opsgate.cli`, its command function or Typer app, one-line help)."""


def load(name: str) -> click.Command:
    """The real Click command behind `name`, importing its module now."""
    module_name, attribute, _ = COMMANDS[name]
    target: Any = getattr(importlib.import_module(f"opsgate.cli.{module_name}"), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
    )
    single.command(name)(target)
    return typer.main.get_command(single)


class LazyCommands(TyperGroup):
    """The top-level group: lists commands from `COMMANDS`, loads one only to run it."""

    listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self.listing:
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2])
        return load(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"opsgate {opsgate.__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="opsgate",
    cls=LazyCommands,
    help="An AI operations agent for Kubernetes and CI/CD; every change waits for approval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """An AI operations agent for Kubernetes and CI/CD; every change waits for approval."""


def main() -> None:
    """Run the command line, turning opsgate errors into a message and exit code 1."""
    try:
        app()
    except OpsgateError as e:
        from rich.text import Text

        from opsgate.cli.common import err_console, untrusted

        # The message may quote the server or the cluster: never markup, never escapes.
        err_console.print(Text.assemble(("error: ", "red"), untrusted(str(e))))
        sys.exit(1)
