"""Helpers every `opsgate` subcommand shares: the console, settings, async entry, the local store,
and the one way untrusted text reaches the terminal (`visible`, `untrusted`).

Called by the command modules of this package only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from opsgate.settings import Settings
    from opsgate.store.protocol import Store

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `.env`, with explicit command-line values on top."""
    from opsgate.settings import Settings

    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

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


_KEPT_IN_BLOCKS = {"\n", "\t"}
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x100:  # C0/C1 controls and DEL: as a terminal user writes them, e.g. \x1b
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"  # zero-width, bidi, line separators, odd spaces, surrogates


def visible(text: str, *, block: bool = False) -> str:
    """`text` with every character a terminal would act on or not show made visible.

    Escape sequences (`\\x1b`), other controls, zero-width and bidirectional marks
    (`<U+200B>`, `<U+202E>`) are written out instead of being sent to the terminal, so text
    chosen by the model, the cluster or another user can neither move the cursor, recolour
    the screen, hide a word nor reorder one. With `block` (tool output, manifests, diffs) line
    breaks and tabs stay as they are (a `\\r\\n` line end becomes `\\n`); a lone `\\r`,
    which would overwrite the line, is shown.
    """
    if block:
        text = text.replace("\r\n", "\n")
        if text.replace("\n", "").replace("\t", "").isprintable():
            return text
        return "".join(c if c.isprintable() or c in _KEPT_IN_BLOCKS else _shown(c) for c in text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _shown(c) for c in text)


def untrusted(text: str, style: str = "", *, block: bool = False) -> Text:
    """Untrusted text as a Rich `Text`: never parsed as markup or emoji codes, made `visible`.

    Everything that did not come from opsgate's own code (model text, arguments, tool output,
    names, reasons, server messages) reaches the console through this.
    """
    return Text(visible(text, block=block), style=style)
