"""`opsgate undo CALL_ID`: put back what a change that ran replaced, through the gate.

Reads the server's offer for the call (`GET /api/v1/calls/{id}/undo`: the call restoring the
snapshot taken just before it ran, or why there is none) and, unless `--show`, submits it
(`POST`) in the call's conversation, where it waits for an approver with its own dry run like
any change. Exit codes: 0 submitted (or shown), 1 the call cannot be undone or the server
refused (the message says why), 2 usage.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from opsgate.cli.options import ServerOption, TokenOption


def undo(
    call_id: Annotated[str, typer.Argument(help="The id of the change (tool call) that ran.")],
    show: Annotated[
        bool, typer.Option("--show", help="Only say what the undo would be; submit nothing.")
    ] = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Undo a change that ran: submit the call restoring what it replaced (it waits for
    approval, with its own dry run). Exit 0 when submitted, 1 when it cannot be undone.

    Example: `opsgate undo 3deef2fe-4cef-4609-8989-ff4dd089f4f6`
    """
    from opsgate.cli import client
    from opsgate.cli.common import visible
    from opsgate.engine.undo import UndoOffer

    with client.connect(server, token) as api:
        offer = UndoOffer.model_validate(api.request("GET", f"/calls/{call_id}/undo"))
        if offer.undo is None:
            typer.echo(visible(f"cannot undo {offer.tool} call {offer.call_id}: {offer.reason}"))
            raise typer.Exit(1)
        call = f"{offer.undo.tool} {json.dumps(offer.undo.args, sort_keys=True)}"
        if show:
            typer.echo(visible(f"undo of {offer.tool} call {offer.call_id}: {call}"))
            return
        started = api.request("POST", f"/calls/{call_id}/undo")
    typer.echo(
        visible(
            f"undo of {offer.tool} call {offer.call_id} submitted as run {started['run_id']}: "
            f"{offer.undo.tool}, waiting for approval (opsgate approvals list)"
        )
    )
