"""`opsgate approvals`: list and decide pending approvals on a running server.

`list` shows each pending change as an approver needs it (tool, object, namespace, context,
cluster, proposer, expiry, whether it is destructive, what its dry run found, the exact
command, every argument); `approve` and `reject` print each decided call's own outcome as
the server answered it. Exit codes: 0 every targeted call got the decision, 1 the server
refused it or could not be reached (the message says why), 2 usage.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from opsgate.api.schemas import ApprovalAnswer, ApprovalItemOut, ApprovalList, ApprovalOut, Me
from opsgate.cli import cards, words
from opsgate.cli.client import ApiClient, ServerOption, TokenOption, connect
from opsgate.cli.common import console, untrusted
from opsgate.domain.runs import DecisionKind

approvals_app = typer.Typer(help="List and decide pending approvals.", no_args_is_help=True)


def _item_lines(approval: ApprovalOut, item: ApprovalItemOut, me: Me) -> list[Text]:
    head = Text("  ")
    if item.destructive:
        head.append("DESTRUCTIVE ", style="bold red")
    head.append_text(untrusted(cards.label(item.tool, item.args), "bold"))
    head.append("  ")
    head.append_text(words.APPROVAL[item.status].text())
    if item.call_status is not None:
        head.append_text(Text.assemble(" · call ", words.CALL[item.call_status].text()))
    where = Text.assemble(
        "    namespace ",
        untrusted(item.namespace or "(none given)"),
        " · context ",
        untrusted(item.context or "(the default context)"),
        " · cluster ",
        untrusted(item.cluster or "(not resolved)"),
    )
    command = (
        untrusted(item.command)
        if item.command
        else Text("not given by the server; the arguments below are what will run", "dim")
    )
    lines = [
        head,
        where,
        Text.assemble("    ", words.PREVIEW[item.preview_state].text()),
        Text.assemble("    command ", command),
        Text("    arguments"),
        cards.args_text(item.args, indent="      "),
        untrusted(f"    call {item.call_id}", "dim"),
    ]
    if approval.proposed_by == me.id:
        lines.insert(1, Text("    you proposed this change", "bold yellow"))
    return lines


@approvals_app.command("list")
def approvals_list(server: ServerOption = None, token: TokenOption = None) -> None:
    """List pending approvals, each change with everything needed to decide it.

    Example: `opsgate approvals list`
    """
    with connect(server, token) as client:
        me = Me.model_validate(client.request("GET", "/auth/me"))
        found = ApprovalList.model_validate(
            client.request("GET", "/approvals", params={"status": "pending"})
        )
    if not found.items:
        console.print("no pending approvals")
    for approval in found.items:
        console.print(
            Text.assemble(
                ("approval ", "bold"),
                untrusted(approval.id, "bold"),
                " proposed by ",
                untrusted(approval.proposed_by_name),
                f" · expires {cards.expiry(approval.expires_at)}",
                untrusted(f" · run {approval.run_id}", "dim"),
            )
        )
        for item in approval.items:
            for line in _item_lines(approval, item, me):
                console.print(line)


def _decide(
    client: ApiClient,
    approval_id: str,
    call: str | None,
    decision: DecisionKind,
    reason: str | None,
) -> None:
    body: dict[str, object] = {"approve": decision == "approve", "reason": reason}
    if call:
        path = f"/approvals/{approval_id}/decision"
        body["call_id"] = call
    else:
        path = f"/approvals/{approval_id}/decide-all"
    answer = ApprovalAnswer.model_validate(client.request("POST", path, json=body))
    items = {item.call_id: item for item in answer.approval.items}
    for call_id in answer.decided:
        item = items.get(call_id)
        if item is None:
            console.print(untrusted(f"call {call_id}: decided, but the answer does not show it"))
            continue
        recorded = item.decision.decision if item.decision else decision
        line = Text.assemble(
            words.DECIDED[recorded].text(), " ", untrusted(cards.label(item.tool, item.args))
        )
        if item.decision is not None:
            line.append_text(Text.assemble(" by ", untrusted(item.decision.decided_by_name)))
        if item.call_status is not None:
            line.append_text(Text.assemble(" · call ", words.CALL[item.call_status].text()))
        line.append_text(untrusted(f"  call {call_id}, approval {approval_id}", "dim"))
        console.print(line)
    if answer.decided:
        console.print(
            Text(
                "the run goes on on the server once every change of the request is decided; "
                "`opsgate chat --conversation ID` or the Command Center follows it",
                "dim",
            )
        )


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
    with connect(server, token) as client:
        _decide(client, approval_id, call, "approve", reason)


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
    with connect(server, token) as client:
        _decide(client, approval_id, call, "reject", reason)
