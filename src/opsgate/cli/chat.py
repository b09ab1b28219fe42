"""`opsgate chat` and `opsgate ask`: the commands; what they do is in `opsgate.cli.session`.

Only the signatures live here, so `--help` imports nothing but Typer (see `opsgate.cli.main`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from opsgate.cli.options import ServerOption, TokenOption


def chat(
    server: ServerOption = None,
    token: TokenOption = None,
    conversation: Annotated[
        str | None, typer.Option(help="Continue this conversation instead of starting one.")
    ] = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context for a new one.")] = None,
) -> None:
    """Talk to opsgate in the terminal; decide each change at the prompt.

    At a change: a approves, r rejects (with a reason), s leaves it for another approver,
    d shows the whole dry run, ? helps; there is no default.

    Example: `opsgate chat --token $OPSGATE_API_TOKEN`
    """
    from opsgate.cli import session

    session.chat(server, token, conversation, context)


def ask(
    text: Annotated[str, typer.Argument(help="What to ask, in plain language.")],
    server: ServerOption = None,
    token: TokenOption = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.")] = None,
) -> None:
    """Ask one question, print what the run did, and exit with how it ended.

    Exit codes: 0 the run completed; 3 it waits for approval (its cards and the approval ids
    are printed; decide with `opsgate approvals`); 1 anything else (completed with failures,
    rejected, expired, stopped, failed, or the stream was lost), with the status and why.

    Example: `opsgate ask "why is the api deployment in shop crashing?"`
    """
    from opsgate.cli import session

    session.ask(text, server, token, context)
