"""`opsgate approvals`: list, show and decide approvals on a running server.

`list` is the user's inbox (`GET /inbox`): one row per pending change they may decide, across
conversations (tool, object, namespace, context, proposer, age, time left, destructive, what
the approval policy requires), or `--json`; `show` prints one request, pending or decided, as
an approver needs it (the exact command, the dry run's diff, every argument); `approve` and
`reject` print each decided call's own outcome as the server answered it (an approval a
policy's quorum counted says so, not "approved"). Exit codes: 0 every targeted call got the
decision, 1 the server refused it or could not be reached (the message says why), 2 usage.
"""

from __future__ import annotations

from typing import Annotated

import typer

from opsgate.cli.options import ServerOption, TokenOption

approvals_app = typer.Typer(
    help="List and decide pending approvals.", no_args_is_help=True, rich_markup_mode=None
)


@approvals_app.command("list")
def approvals_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the inbox as JSON.")] = False,
    destructive: Annotated[bool, typer.Option(help="Only destructive changes.")] = False,
    expiring_soon: Annotated[
        bool, typer.Option(help="Only requests with under 5 minutes left.")
    ] = False,
    mine: Annotated[bool, typer.Option(help="Only changes you proposed.")] = False,
    waiting_on_me: Annotated[
        bool, typer.Option(help="Only changes your decision would count for now.")
    ] = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """List the pending changes you may decide, across conversations: your approvals inbox.

    One row per change: approval, tool and object, namespace, context, proposer, age, time
    left, marks (destructive, yours, waiting on you) and what the approval policy requires.
    `opsgate approvals show ID` prints one with its diff and command.

    Example: `opsgate approvals list --waiting-on-me`
    """
    from opsgate.cli import approval_views

    filters = {
        "destructive": destructive,
        "expiring_soon": expiring_soon,
        "proposed_by_me": mine,
        "waiting_on_me": waiting_on_me,
    }
    approval_views.list_inbox(server, token, filters, as_json=as_json)


@approvals_app.command("show")
def approvals_show(
    approval_id: Annotated[str, typer.Argument(help="The approval request's id.")],
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Show one approval request as its card: each change's command, dry-run diff and
    arguments, what its policy requires and who has approved so far.

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
