"""`opsgate approvals`: list and decide pending approvals on a running server."""

from __future__ import annotations

from typing import Annotated

import typer

from opsgate.cli.client import ApiClient, ServerOption, TokenOption, connect
from opsgate.cli.common import args_json, console

approvals_app = typer.Typer(help="List and decide pending approvals.", no_args_is_help=True)


@approvals_app.command("list")
def approvals_list(server: ServerOption = None, token: TokenOption = None) -> None:
    """List pending approvals.

    Example: `opsgate approvals list`
    """
    with connect(server, token) as client:
        items = client.request("GET", "/approvals", params={"status": "pending"})["items"]
    if not items:
        console.print("no pending approvals")
    for approval in items:
        console.print(
            f"[bold]{approval['id']}[/] run {approval['run_id']} expires {approval['expires_at']}",
            highlight=False,
        )
        for item in approval["items"]:
            flag = " [red]destructive[/]" if item["destructive"] else ""
            console.print(
                f"  {item['call_id']} {item['status']}: {item['tool']} "
                f"{args_json(item['args'])}{flag}",
                highlight=False,
            )


def _decide(
    approval_id: str, call: str | None, approve: bool, reason: str | None, client: ApiClient
) -> None:
    if call:
        body = {"call_id": call, "approve": approve, "reason": reason}
        result = client.request("POST", f"/approvals/{approval_id}/decision", json=body)
    else:
        body = {"approve": approve, "reason": reason}
        result = client.request("POST", f"/approvals/{approval_id}/decide-all", json=body)
    approval = result.get("approval", result)
    console.print(f"{approval['id']}: {approval['status']}", highlight=False)


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[str, typer.Argument(help="The approval request's id.")],
    call: Annotated[str | None, typer.Option(help="Only this call (default: every call).")] = None,
    reason: Annotated[str | None, typer.Option(help="Required for destructive calls.")] = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Approve a pending request (each call gets its own decision record).

    Example: `opsgate approvals approve apr_01H... --reason "scale for the sale"`
    """
    with connect(server, token) as client:
        _decide(approval_id, call, True, reason, client)


@approvals_app.command("reject")
def approvals_reject(
    approval_id: Annotated[str, typer.Argument(help="The approval request's id.")],
    reason: Annotated[str, typer.Option(help="Why; the model sees it.")],
    call: Annotated[str | None, typer.Option(help="Only this call (default: every call).")] = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Reject a pending request with a reason.

    Example: `opsgate approvals reject apr_01H... --reason "not during the freeze"`
    """
    with connect(server, token) as client:
        _decide(approval_id, call, False, reason, client)
