"""Helpers every `opsgate` subcommand shares: the console, settings, async entry, the local store.

Called by the command modules of this package only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from rich.console import Console

from opsgate.settings import Settings
from opsgate.store.protocol import Store

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `.env`, with explicit command-line values on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@asynccontextmanager
async def local_store(settings: Settings, *, check_audit_head: bool = True) -> AsyncIterator[Store]:
    """Open the configured database directly (migrations applied), for admin commands.

    `check_audit_head=False` opens a database whose audit log does not match its signed head
    (the `opsgate audit` commands, which report what is wrong); appends stay refused.
    """
    from opsgate.store import sql

    store: Store = await sql.open_store(
        settings.sqlalchemy_url(),
        secret_key=settings.key("secret_key"),
        audit_key=settings.key("audit_key"),
        check_audit_head=check_audit_head,
    )
    try:
        yield store
    finally:
        await store.close()


def args_json(args: dict[str, Any]) -> str:
    """A call's arguments on one line, as the terminal shows them."""
    return json.dumps(args, ensure_ascii=False)
