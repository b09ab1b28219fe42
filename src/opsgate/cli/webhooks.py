"""`opsgate webhooks`: add, list and remove outgoing webhooks, and read their delivery logs.

Admins only, on a running server through the API (`api.routes.webhooks`), so the server
audits every change. `add` prints the signing secret once; nothing shows it again. Exit
codes: 0 done, 1 the server refused or could not be reached (the message says why), 2 usage.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from opsgate.cli.options import ServerOption, TokenOption

webhooks_app = typer.Typer(
    help="Add, list and remove outgoing webhooks; read their delivery logs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _call(server: str | None, token: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """One API request; an error answer is an `OpsgateError` that `cli.main` prints."""
    from opsgate.cli import client

    with client.connect(server, token) as api:
        return api.request(method, path, **kwargs)


def _say(line: str) -> None:
    # URLs and receivers' error texts are not ours: never markup, never terminal escapes.
    from opsgate.cli.common import console, untrusted

    console.print(untrusted(line), soft_wrap=True)


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="Where deliveries are POSTed (http or https).")],
    events: Annotated[
        list[str],
        typer.Option(
            "--event",
            help="An event to tell (repeat): approval.requested, approval.decided, "
            "approval.expired, run.finished, run.failed, verification.failed.",
        ),
    ],
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Add a webhook; prints its id and its signing secret (shown this once only).

    Example: `opsgate webhooks add https://hooks.example.com/opsgate --event run.failed`
    """
    created = _call(server, token, "POST", "/webhooks", json={"url": url, "events": events})
    webhook = created["webhook"]
    _say(f"added webhook {webhook['id']} -> {webhook['url']} ({', '.join(webhook['events'])})")
    _say(f"signing secret (shown only now): {created['secret']}")


@webhooks_app.command("list")
def webhooks_list(server: ServerOption = None, token: TokenOption = None) -> None:
    """List the webhooks: id, URL, events, who added them and when."""
    items = _call(server, token, "GET", "/webhooks")["items"]
    if not items:
        _say("no webhooks")
    for webhook in items:
        events = ", ".join(webhook["events"])
        _say(f"{webhook['id']}  {webhook['url']}  [{events}]  added {webhook['created_at']}")


@webhooks_app.command("remove")
def webhooks_remove(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")],
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Remove a webhook and its delivery log; nothing more is sent to it."""
    _call(server, token, "DELETE", f"/webhooks/{webhook_id}")
    _say(f"removed webhook {webhook_id}")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")],
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 20,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Show a webhook's deliveries, newest first, with every attempt's answer or error."""
    path = f"/webhooks/{webhook_id}/deliveries"
    items = _call(server, token, "GET", path, params={"limit": limit})["items"]
    if not items:
        _say("no deliveries yet")
    for delivery in items:
        _say(
            f"{delivery['id']}  {delivery['event']}  audit #{delivery['audit_seq']}  "
            f"{delivery['state']} after {delivery['attempts']} attempt(s)"
        )
        for attempt in delivery["attempt_log"]:
            answer = (
                f"answered {attempt['status_code']}"
                if attempt["status_code"] is not None
                else attempt["error"]
            )
            _say(f"    {attempt['at']}  {answer}  ({attempt['duration_ms']} ms)")
