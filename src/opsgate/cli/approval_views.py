"""What `opsgate approvals` prints: the inbox's rows, each change as an approver needs it
(with its diff), and each decided call's own outcome. Imported by the commands in
`opsgate.cli.approvals` when they run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from opsgate.api.schemas import ApprovalAnswer, ApprovalItemOut, ApprovalOut, InboxList, Me
from opsgate.cli import cards, words
from opsgate.cli.client import ApiClient, connect
from opsgate.cli.common import console, untrusted
from opsgate.domain.runs import DecisionKind


def item_lines(approval: ApprovalOut, item: ApprovalItemOut, me: Me) -> list[RenderableType]:
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
    lines: list[RenderableType] = [
        head,
        where,
        Text.assemble("    command ", command),
        Padding(cards.preview_view(item, full=True), (0, 0, 0, 4)),
        Text("    arguments"),
        cards.args_text(item.args, indent="      "),
        untrusted(f"    call {item.call_id}", "dim"),
    ]
    lines[2:2] = [Text.assemble(("    policy ", "bold"), untrusted(p)) for p in item.progress]
    if approval.proposed_by == me.id:
        lines.insert(1, Text("    you proposed this change", "bold yellow"))
    if item.may_decide is not None and item.status == "pending":
        said = (
            ("    you may decide it: ", "green")
            if item.may_decide
            else ("    you may not decide it: ", "red")
        )
        lines.insert(2, Text.assemble(said, untrusted(item.decide_why or "")))
    return lines


def via_client(approval: ApprovalOut) -> Text:
    """` via NAME VERSION` for a change an outside MCP client asked for, else nothing."""
    if not approval.client_name:
        return Text()
    version = f" {approval.client_version}" if approval.client_version else ""
    return Text.assemble(" via ", untrusted(f"{approval.client_name}{version}"))


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def inbox_table(listed: InboxList, now: datetime) -> Table:
    """The inbox's rows as `opsgate approvals list` prints them (every cell untrusted text)."""
    table = Table(
        "approval", "change", "namespace", "context", "proposer", "age", "left", "marks", "policy"
    )
    for column in table.columns:
        column.overflow = "fold"
    for row in listed.items:
        marks = Text()
        if row.destructive:
            marks.append("DESTRUCTIVE ", style="bold red")
        if row.proposed_by_me:
            marks.append("yours ", style="bold yellow")
        marks.append("waiting on you" if row.waiting_on_me else "not waiting on you")
        table.add_row(
            untrusted(row.approval_id),
            untrusted(f"{row.tool} {cards.target_of(row.tool, row.args)}", "bold"),
            untrusted(row.namespace or "(none given)"),
            untrusted(row.context or "(the default context)"),
            untrusted(row.proposed_by_name),
            _age((now - row.created_at).total_seconds()),
            _age(row.seconds_left) if row.seconds_left else "expiring",
            marks,
            untrusted("; ".join(row.progress) or "one approval (built-in gate)"),
        )
    return table


def list_inbox(
    server: str | None, token: str | None, filters: Mapping[str, bool], *, as_json: bool
) -> None:
    """Print the user's inbox as `opsgate approvals list` shows it (or its JSON)."""
    params = {name: "true" for name, on in filters.items() if on}
    with connect(server, token) as client:
        listed = InboxList.model_validate(client.request("GET", "/inbox", params=params))
    if as_json:
        print(json.dumps(listed.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    shown = ", ".join(name.replace("_", " ") for name, on in filters.items() if on)
    summary = (
        f"{listed.pending} pending change{'s' if listed.pending != 1 else ''} you may decide, "
        f"{listed.waiting_on_me} waiting on you"
    )
    if not listed.items:
        console.print(f"{summary}; none {'matches ' + shown if shown else 'to list'}")
        return
    console.print(f"{summary}{f'; showing {len(listed.items)} ({shown})' if shown else ''}")
    console.print(inbox_table(listed, datetime.now(UTC)))
    console.print(Text("`opsgate approvals show ID` prints a change with its diff", "dim"))


def show(server: str | None, token: str | None, approval_id: str) -> None:
    """Print one approval request, pending or decided, as `opsgate approvals show` shows it."""
    with connect(server, token) as client:
        me = Me.model_validate(client.request("GET", "/auth/me"))
        approval = ApprovalOut.model_validate(client.request("GET", f"/approvals/{approval_id}"))
    _print(approval, me)


def _print(approval: ApprovalOut, me: Me) -> None:
    console.print(
        Text.assemble(
            ("approval ", "bold"),
            untrusted(approval.id, "bold"),
            " proposed by ",
            untrusted(approval.proposed_by_name),
            via_client(approval),
            f" · expires {cards.expiry(approval.expires_at)}",
            untrusted(f" · run {approval.run_id}", "dim"),
        )
    )
    for item in approval.items:
        for line in item_lines(approval, item, me):
            console.print(line)


def decide(
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
        if item.status == "pending":
            # A policy's quorum counted the approval; the call still waits for more.
            label = untrusted(cards.label(item.tool, item.args))
            console.print(Text.assemble("approval counted, not settled yet: ", label))
            for progress in item.progress:
                console.print(Text.assemble("    policy ", untrusted(progress)))
            continue
        recorded = item.decision.decision if item.decision else decision
        line = Text.assemble(
            words.DECIDED[recorded].text(), " ", untrusted(cards.label(item.tool, item.args))
        )
        if item.decision is not None:
            line.append_text(Text.assemble(" by ", untrusted(item.decision.decided_by_name)))
            if item.decision.decided_via == "elicitation":
                line.append(" via elicitation in the MCP client (lower assurance)", style="yellow")
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
