"""`opsgate users` and `opsgate tokens`: accounts on the local database.

These commands open the configured database directly (the same one `opsgate serve` uses), so
the first admin can be created before any server runs. Every change is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from opsgate.cli.common import audit_as_cli, console, load_settings, local_store, run
from opsgate.domain.roles import ROLES, Role

users_app = typer.Typer(help="Manage users and their roles.", no_args_is_help=True)


tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


RoleOption = Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")]


def _role(value: str) -> Role:
    if value not in ROLES:
        raise typer.BadParameter(f"{value!r} is not a role; choose one of {', '.join(ROLES)}")
    return value


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The login name.")],
    role: RoleOption = "operator",
    password: Annotated[
        str | None,
        typer.Option(
            help="Password; prompted for when omitted (use --no-password for token-only)."
        ),
    ] = None,
    no_password: Annotated[bool, typer.Option(help="Create a token-only user.")] = False,
) -> None:
    """Add a user.

    Example: `opsgate users add alice --role admin`
    """
    checked = _role(role)
    if password is None and not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from opsgate.api import auth, passwords

    if password is not None:
        passwords.check_strength(password)
    password_hash = auth.hash_password(password) if password is not None else None

    async def go() -> None:
        async with local_store(load_settings()) as store:
            user = await store.create_user(username, checked, password_hash)
            await audit_as_cli(
                store, "user.created", {"username": user.username, "role": user.role, "via": "cli"}
            )
            console.print(f"created user [bold]{user.username}[/] with role {user.role}")

    run(go())


@users_app.command("list")
def users_list() -> None:
    """List users.

    Example: `opsgate users list`
    """

    async def go() -> None:
        async with local_store(load_settings()) as store:
            table = Table("id", "username", "role", "disabled", "created")
            for user in await store.list_users():
                table.add_row(
                    user.id,
                    user.username,
                    user.role,
                    str(user.disabled),
                    user.created_at.isoformat(),
                )
            console.print(table)

    run(go())


async def _update_user(
    username: str, *, role: Role | None = None, disabled: bool | None = None
) -> None:
    async with local_store(load_settings()) as store:
        user = await store.get_user_by_name(username)
        updated = await store.update_user(user.id, role=role, disabled=disabled)
        await audit_as_cli(
            store,
            "user.disabled" if disabled else "user.updated",
            {"username": updated.username, "role": updated.role, "disabled": updated.disabled},
        )
        console.print(f"{updated.username}: role {updated.role}, disabled {updated.disabled}")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="The login name.")]) -> None:
    """Disable a user (their sessions and tokens stop working).

    Example: `opsgate users disable bob`
    """
    run(_update_user(username, disabled=True))


@users_app.command("set-role")
def users_set_role(
    username: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
) -> None:
    """Change a user's role.

    Example: `opsgate users set-role bob approver`
    """
    run(_update_user(username, role=_role(role)))


@tokens_app.command("create")
def tokens_create(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="A label for the token.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Create an API token; it is printed once and stored only as a hash.

    Example: `opsgate tokens create alice --name ci --days 30`
    """

    from opsgate.api import auth

    async def go() -> None:
        async with local_store(load_settings()) as store:
            user = await store.get_user_by_name(username)
            token = auth.new_api_token()
            expires = datetime.now(UTC) + timedelta(days=days) if days else None
            record = await store.create_token(
                user.id, name, auth.hash_api_token(token), token[:12], expires
            )
            await audit_as_cli(
                store,
                "token.created",
                {"token_id": record.id, "name": name, "username": user.username},
            )
            console.print(f"token {record.id} for {user.username} (shown once):")
            print(token)

    run(go())


@tokens_app.command("list")
def tokens_list() -> None:
    """List API tokens (never their values).

    Example: `opsgate tokens list`
    """

    async def go() -> None:
        async with local_store(load_settings()) as store:
            table = Table("id", "user", "name", "prefix", "expires", "revoked", "last used")
            for tok in await store.list_tokens():
                table.add_row(
                    tok.id,
                    tok.user_id,
                    tok.name,
                    tok.prefix,
                    str(tok.expires_at or "-"),
                    str(tok.revoked_at or "-"),
                    str(tok.last_used_at or "-"),
                )
            console.print(table)

    run(go())


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token.

    Example: `opsgate tokens revoke tok_01H...`
    """

    async def go() -> None:
        async with local_store(load_settings()) as store:
            record = await store.revoke_token(token_id)
            await audit_as_cli(store, "token.revoked", {"token_id": record.id})
            console.print(f"revoked {record.id}")

    run(go())
