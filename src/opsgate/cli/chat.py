"""`opsgate chat` and `opsgate ask`: the terminal client of a running server.

`chat` streams the model's text and tool cards live and asks for decisions at approvals;
`ask` does one request and exits 3 when it ends awaiting approval (approval ids printed).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax

from opsgate.cli.client import ApiClient, ServerOption, SseEvent, TokenOption, connect
from opsgate.cli.common import args_json, console

AWAITING_APPROVAL_EXIT = 3


OUTPUT_LINES = 25


class Renderer:
    """Prints engine events as they arrive; remembers what an approval prompt needs."""

    def __init__(self) -> None:
        self.in_text = False
        self.pending: list[dict[str, Any]] = []
        self.answer: str | None = None

    def _end_text(self) -> None:
        if self.in_text:
            console.print()
            self.in_text = False

    def show(self, event: SseEvent) -> None:
        data = event.data
        kind = event.type
        if kind == "token":
            console.print(data["text"], end="", highlight=False, markup=False)
            self.in_text = True
            return
        self._end_text()
        if kind == "plan":
            for call in data.get("calls", []):
                badge = "[cyan]read[/]" if call["classification"] == "read" else "[yellow]change[/]"
                if call.get("error"):
                    badge = "[red]invalid[/]"
                console.print(
                    f"  {badge} {call['tool']} {args_json(call['args'])}", highlight=False
                )
        elif kind == "tool.started":
            console.print(f"  [dim]▶ running {data['tool']}…[/]")
        elif kind == "tool.progress":
            console.print(f"  [dim]… {escape(data['text'])}[/]", highlight=False)
        elif kind == "tool.finished":
            style = "green" if data["status"] == "succeeded" else "red"
            title = f"{data['tool']} · {data['status']} · {data.get('duration_ms', 0)} ms"
            console.print(Panel(_fold(data.get("output", "")), title=title, border_style=style))
        elif kind == "approval.requested":
            self.pending = [
                {**call, "approval_id": data["approval_id"]} for call in data.get("calls", [])
            ]
            console.print(
                f"[bold yellow]approval needed[/] ({data['approval_id']}, "
                f"expires {data['expires_at']})"
            )
        elif kind == "approval.decided":
            colour = "green" if data["decision"] == "approve" else "red"
            reason = f": {data['reason']}" if data.get("reason") else ""
            who = data["decided_by"]
            console.print(
                f"  [{colour}]{data['decision']}d[/] {data['call_id']} by {who}{reason}",
                highlight=False,
            )
        elif kind == "verify":
            mark = {
                "verified": "[green]✔ verified[/]",
                "failed": "[red]✘ verification failed[/]",
            }.get(data["verdict"], "[yellow]○ not verified[/]")
            console.print(f"  {mark} {data['tool']}: {data['summary']}", highlight=False)
        elif kind == "answer":
            self.answer = data["text"]
        elif kind == "run.error":
            console.print(f"[red]error[/] {data['code']}: {data['message']}", highlight=False)
        elif kind == "run.finished":
            reason = f" ({data['reason']})" if data.get("reason") else ""
            console.print(f"[dim]run {data['status']}{reason}[/]", highlight=False)


def _fold(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= OUTPUT_LINES:
        return text or "(no output)"
    return "\n".join([*lines[:OUTPUT_LINES], f"… {len(lines) - OUTPUT_LINES} more lines"])


def _follow_run(
    client: ApiClient, conversation_id: str, run_id: str, after: int, renderer: Renderer
) -> tuple[int, str]:
    """Stream until this run finishes or pauses for approval; return (last id, status)."""
    last = after
    for event in client.events(conversation_id, after):
        last = event.id or last
        if event.data.get("run_id") not in (None, run_id):
            continue
        renderer.show(event)
        if event.type == "run.finished":
            return last, str(event.data["status"])
        if event.type == "approval.requested":
            return last, "awaiting_approval"
    return last, "disconnected"


def _prompt_decisions(client: ApiClient, renderer: Renderer) -> None:
    for call in renderer.pending:
        console.print(
            Panel(
                Syntax(json.dumps(call["args"], indent=2), "json", word_wrap=True),
                title=f"{call['tool']} on context {call.get('context')}"
                + (" [red]DESTRUCTIVE[/]" if call.get("destructive") else ""),
                border_style="red" if call.get("destructive") else "yellow",
            )
        )
        if call.get("preview"):
            console.print(Syntax(_fold(call["preview"]), "diff", word_wrap=True))
        answer = typer.prompt("approve? [y/N/r=reason/s=skip]", default="n", show_default=False)
        choice = answer.strip().lower()
        if choice == "s":
            console.print("  left pending for another approver")
            continue
        approve = choice in ("y", "yes", "r")
        reason: str | None = None
        if choice == "r" or not approve or call.get("destructive"):
            reason = typer.prompt("reason")
        client.request(
            "POST",
            f"/approvals/{call['approval_id']}/decision",
            json={"call_id": call["call_id"], "approve": approve, "reason": reason},
        )
    renderer.pending = []


def chat(
    server: ServerOption = None,
    token: TokenOption = None,
    conversation: Annotated[
        str | None, typer.Option(help="Continue this conversation instead of starting one.")
    ] = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context for a new one.")] = None,
) -> None:
    """Talk to opsgate in the terminal; approve or reject changes at the prompt.

    Example: `opsgate chat --token $OPSGATE_API_TOKEN`
    """
    with connect(server, token) as client:
        me = client.request("GET", "/auth/me")
        if conversation is None:
            body = {"title": "terminal chat", "context": context}
            conversation = str(client.request("POST", "/conversations", json=body)["id"])
        console.print(f"conversation {conversation}; Ctrl-D to leave, Ctrl-C stops a run")
        # Events of earlier runs are skipped by run id; `after` then follows this session.
        after = 0
        renderer = Renderer()
        while True:
            try:
                text = typer.prompt("you", prompt_suffix="> ")
            except (EOFError, typer.Abort):
                console.print()
                return
            run = client.request(
                "POST", f"/conversations/{conversation}/messages", json={"text": text}
            )
            run_id = str(run["run_id"])
            while True:
                try:
                    with console.status("working…"):
                        after, status = _follow_run(client, conversation, run_id, after, renderer)
                except KeyboardInterrupt:
                    if typer.confirm("\nstop the run?", default=True):
                        client.request("POST", f"/runs/{run_id}/stop")
                    continue
                if renderer.answer:
                    console.print(Panel(renderer.answer, title="opsgate", border_style="blue"))
                    renderer.answer = None
                if status != "awaiting_approval":
                    break
                if me["role"] in ("approver", "admin"):
                    _prompt_decisions(client, renderer)
                else:
                    console.print("waiting for an approver (your role cannot approve)…")


def ask(
    text: Annotated[str, typer.Argument(help="What to ask, in plain language.")],
    server: ServerOption = None,
    token: TokenOption = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.")] = None,
) -> None:
    """Ask one question and print the answer; exit 3 if it ends awaiting approval.

    Example: `opsgate ask "why is the api deployment in shop crashing?"`
    """
    with connect(server, token) as client:
        created = client.request(
            "POST", "/conversations", json={"title": text[:60], "context": context}
        )
        conversation = str(created["id"])
        run_id = str(
            client.request("POST", f"/conversations/{conversation}/messages", json={"text": text})[
                "run_id"
            ]
        )
        renderer = Renderer()
        _, status = _follow_run(client, conversation, run_id, 0, renderer)
        if renderer.answer:
            console.print(renderer.answer, highlight=False, markup=False)
        if status == "awaiting_approval":
            ids = sorted({call["approval_id"] for call in renderer.pending})
            console.print(f"awaiting approval: {' '.join(ids)}", highlight=False)
            raise typer.Exit(AWAITING_APPROVAL_EXIT)
        if status != "completed":
            raise typer.Exit(1)
