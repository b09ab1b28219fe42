"""`opsgate local-login`: turn local password sign-in on or off, on the database itself.

The break-glass way back when single sign-on fails: whoever holds the database (and the
server's settings) runs `opsgate local-login on`, and passwords work again at once on every
replica. Goes through `api.sso.set_local_login` like the admin API, so turning it off needs
single sign-on or proxy sign-in configured and every change is audited (actor "cli").
"""

from __future__ import annotations

import typer

from opsgate.cli.common import console, load_settings, local_store, run

local_login_app = typer.Typer(
    help="Turn local password sign-in on or off (break glass: `on`).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _set(enabled: bool) -> None:
    from opsgate.api import accounts, sso

    async def go() -> None:
        settings = load_settings()
        async with local_store(settings) as store:
            await sso.set_local_login(store, settings, enabled, actor=accounts.CLI, via="cli")
        word = "on" if enabled else "off"
        console.print(f"local password sign-in is now {word}")

    run(go())


@local_login_app.command("on")
def local_login_on() -> None:
    """Accept usernames and passwords again (the way back when single sign-on fails).

    Example: `opsgate local-login on`
    """
    _set(True)


@local_login_app.command("off")
def local_login_off() -> None:
    """Refuse password sign-in (only once single sign-on or proxy sign-in is configured).

    Example: `opsgate local-login off`
    """
    _set(False)


@local_login_app.command("status")
def local_login_status() -> None:
    """Say whether local password sign-in is on.

    Example: `opsgate local-login status`
    """
    from opsgate.api import sso

    async def go() -> None:
        async with local_store(load_settings()) as store:
            enabled = await sso.local_login_enabled(store)
        console.print(f"local password sign-in is {'on' if enabled else 'off'}")

    run(go())
