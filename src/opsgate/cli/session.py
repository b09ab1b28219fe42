"""What `opsgate chat` and `opsgate ask` do: the terminal client of a running server.

`chat` streams the model's text and tool results live and, when a run pauses at the gate,
shows each change's card and asks for its decision (`cli.decide`); it then follows the run to
its next pause or its end and prints the status the engine derived. `ask` does one request,
prints the same stream, and its exit code says how the run ended (see `ask --help`).
Imported by the commands in `opsgate.cli.chat` when they run.
"""

from __future__ import annotations

from typing import Literal

import typer
from rich.text import Text

from opsgate.cli import decide
from opsgate.cli.client import ApiClient, connect
from opsgate.cli.common import console, untrusted
from opsgate.cli.render import Renderer

AWAITING_APPROVAL_EXIT = 3
"""`ask`'s exit code when the run waits for approval."""


Stop = Literal["paused", "finished", "disconnected"]
"""Where following a run stopped: at the gate, at its end, or when the stream ended."""


def follow_run(client: ApiClient, conversation_id: str, run_id: str, renderer: Renderer) -> Stop:
    """Print this run's events (from after `renderer.after`) until it pauses or finishes."""
    try:
        for event in client.events(conversation_id, renderer.after):
            renderer.after = event.id or renderer.after
            if event.data.get("run_id") not in (None, run_id):
                continue
            renderer.show(event)
            if event.type == "run.paused":
                return "paused"
            if event.type == "run.finished":
                return "finished"
    finally:
        renderer.progress.clear()
    return "disconnected"


def _lost() -> None:
    console.print(
        Text(
            "the event stream ended before the run did: its status is not known here "
            "(see `opsgate approvals list` or the Command Center)",
            "yellow",
        )
    )


def _run_to_rest(
    client: ApiClient,
    conversation_id: str,
    run_id: str,
    renderer: Renderer,
    approver: decide.Approver,
) -> None:
    """Follow the run, deciding at each pause, until it ends or the person leaves it."""
    while True:
        try:
            stop = follow_run(client, conversation_id, run_id, renderer)
            if stop == "disconnected":
                _lost()
                return
            if stop == "finished" or renderer.pending is None:
                return
            pending, renderer.pending = renderer.pending, None
            decide.decide(client, console, approver, pending)
            console.print(Text("following the run (Ctrl-C to stop it or leave it)", "dim"))
        except KeyboardInterrupt:
            if typer.confirm("\nstop the run?", default=False):
                client.request("POST", f"/runs/{run_id}/stop")
                continue  # follow it to its end, to show what stopping it did
            console.print(Text("left the run going on the server", "yellow"))
            return


def chat(
    server: str | None, token: str | None, conversation: str | None, context: str | None
) -> None:
    """The chat loop (see `opsgate.cli.chat.chat`)."""
    with connect(server, token) as client:
        approver = decide.Approver.of(client)
        if conversation is None:
            body = {"title": "terminal chat", "context": context}
            conversation = str(client.request("POST", "/conversations", json=body)["id"])
        console.print(
            untrusted(f"conversation {conversation}; Ctrl-D to leave, Ctrl-C stops a run")
        )
        # Events of earlier runs are skipped by run id; `after` then follows this session.
        after = 0
        while True:
            try:
                text = console.input(Text("you> "))
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            if not text.strip():
                continue
            run = client.request(
                "POST", f"/conversations/{conversation}/messages", json={"text": text}
            )
            renderer = Renderer(console, after=after)
            _run_to_rest(client, conversation, str(run["run_id"]), renderer, approver)
            after = renderer.after


def ask(text: str, server: str | None, token: str | None, context: str | None) -> None:
    """One question, followed to its end or its first pause (see `opsgate.cli.chat.ask`)."""
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
        renderer = Renderer(console)
        stop = follow_run(client, conversation, run_id, renderer)
        if stop == "paused" and renderer.pending is not None:
            pending = renderer.pending
            approver = decide.Approver.of(client)
            for index in range(1, len(pending.calls) + 1):
                console.print(decide.card(approver, pending, index))
            console.print(untrusted(f"awaiting approval: {pending.approval_id}"))
            raise typer.Exit(AWAITING_APPROVAL_EXIT)
        if stop == "disconnected":
            _lost()
        if renderer.status != "completed":
            raise typer.Exit(1)
