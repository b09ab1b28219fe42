"""`opsgate approvals`: list, show and decide approvals on a running server.

`list` shows each pending change as an approver needs it (tool, object, namespace, context,
cluster, proposer, expiry, whether it is destructive, what its dry run found, the exact
command, every argument, and what the approval policy still requires); `show` prints one
request, pending or decided; `approve` and `reject` print each decided call's own outcome as
the server answered it (an approval a policy's quorum counted says so, not "approved"). Exit
codes: 0 every targeted call got the decision, 1 the server refused it or could not be
reached (the message says why), 2 usage.
"""

from __future__ import annotations

from typing import Annotated

import typer

from opsgate.cli.options import ServerOption, TokenOption

approvals_app = typer.Typer(
    help="List and decide pending approvals.", no_args_is_help=True, rich_markup_mode=None
)


@approvals_app.command("list")
def approvals_list(server: ServerOption = None, token: TokenOption = None) -> None:
    """List pending approvals, each change with everything needed to decide it.

    Example: `opsgate approvals list`
    """
    from opsgate.cli import approval_views

    approval_views.list_pending(server, token)


@approvals_app.command("show")
def approvals_show(
    approval_id: Annotated[str, typer.Argument(help="The approval request's id.")],
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Show one approval request, with what its policy requires and who has approved so far.

    Example: `opsgate approvals show apr_01H...`
    """
    from opsgate.cli import approval_views

    approval_views.show(server, token, approval_id)


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[str, typer.Argument(help="The approval request's id.")],
    call: Annotated[str | None, typer.Option(help="Only this call (default: every call).")] = None,
    reason: Annotated[
        str | None,
        typer.Option(help="Required for destructive calls and for a change whose dry run failed."),
    ] = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Approve a pending request (each call gets its own decision record) and print each
    decided call's outcome. Exit 0 when approved, 1 when the server refused.

    Example: `opsgate approvals approve apr_01H... --reason "scale for the sale"`
    """
    from opsgate.cli import approval_views, client

    with client.connect(server, token) as api:
        approval_views.decide(api, approval_id, call, "approve", reason)


@approvals_app.command("reject")
def approvals_reject(
    approval_id: Annotated[str, typer.Argument(help="The approval request's id.")],
    reason: Annotated[str, typer.Option(help="Why; the model sees it.")],
    call: Annotated[str | None, typer.Option(help="Only this call (default: every call).")] = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Reject a pending request with a reason and print each decided call's outcome.
    Exit 0 when rejected, 1 when the server refused.

    Example: `opsgate approvals reject apr_01H... --reason "not during the freeze"`
    """
    from opsgate.cli import approval_views, client

    with client.connect(server, token) as api:
        approval_views.decide(api, approval_id, call, "reject", reason)
