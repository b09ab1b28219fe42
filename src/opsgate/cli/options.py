"""Command-line options shared by the client commands (`chat`, `ask`, `approvals`, `tokens`).

Only Typer and typing here: command modules import this at load time, and `--help` of any
command must stay cheap (see `opsgate.cli.main`).
"""

from __future__ import annotations

from typing import Annotated

import typer

ServerOption = Annotated[
    str | None, typer.Option("--server", help="Server URL (default OPSGATE_SERVER_URL).")
]
TokenOption = Annotated[
    str | None, typer.Option("--token", help="API token (default OPSGATE_API_TOKEN).")
]
