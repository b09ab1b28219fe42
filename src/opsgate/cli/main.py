"""The `opsgate` entry point: wires the subcommands and maps errors to exit codes.

Exit codes: 0 ok, 1 failure (an `OpsgateError` or a failed check), 2 usage (from Click).
"""

from __future__ import annotations

import sys

import typer
from rich.text import Text

from opsgate.cli import approvals, audit, chat, doctor, sandbox, serve, tools, users
from opsgate.cli.common import err_console, untrusted
from opsgate.errors import OpsgateError

app = typer.Typer(
    name="opsgate",
    help="An AI operations agent for Kubernetes and CI/CD; every change waits for approval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("serve")(serve.serve)
app.command("mcp")(serve.mcp)
app.command("demo")(serve.demo)
app.add_typer(sandbox.sandbox_app, name="sandbox")
app.command("chat")(chat.chat)
app.command("ask")(chat.ask)
app.add_typer(approvals.approvals_app, name="approvals")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(tools.tools_app, name="tools")
app.command("doctor")(doctor.doctor)


def main() -> None:
    """Run the command line, turning opsgate errors into a message and exit code 1."""
    try:
        app()
    except OpsgateError as e:
        # The message may quote the server or the cluster: never markup, never escapes.
        err_console.print(Text.assemble(("error: ", "red"), untrusted(str(e))))
        sys.exit(1)
