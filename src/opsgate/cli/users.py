"""`opsgate users` and `opsgate tokens`: accounts on the local database.

These commands open the configured database directly (the same one `opsgate serve` uses), so
the first admin can be created before any server runs. They go through `opsgate.api.accounts`
like the API does: the same username rule, the same token format, the same audit events
(actor "cli"). A token made here for a user is marked as not made by them: it works for
everything but deciding approvals. `tokens login` is the exception: it signs in to a running
server with the user's password and makes the token there, as them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from opsgate.cli.common import console, load_settings, local_store, run
from opsgate.cli.options import ServerOption
from opsgate.domain.roles import ROLES, Role

if TYPE_CHECKING:
    from opsgate.domain.grants import Grant

users_app = typer.Typer(
    help="Manage users and their roles.", no_args_is_help=True, rich_markup_mode=None
)


tokens_app = typer.Typer(
    help="Create, list and revoke API tokens.", no_args_is_help=True, rich_markup_mode=None
)


RoleOption = Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")]


SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


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
    from opsgate.api import accounts
    from opsgate.api.passwords import Passwords, check_strength

    accounts.check_username(username)
    if password is None and not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password is not None:
        check_strength(password)

    async def go() -> None:
        async with local_store(load_settings()) as store:
            user = await accounts.create_user(
                store, Passwords(), username, checked, password, actor=accounts.CLI, via="cli"
            )
            console.print(f"created user [bold]{escape(user.username)}[/] with role {user.role}")

    run(go())


@users_app.command("list")
def users_list() -> None:
    """List users.

    Example: `opsgate users list`
    """

    async def go() -> None:
        async with local_store(load_settings()) as store:
            from rich.table import Table

            table = Table("id", "username", "role", "grants", "disabled", "created")
            for user in await store.list_users():
                table.add_row(
                    user.id,
                    escape(user.username),
                    user.role,
                    escape(_grants_text(user.grants)),
                    str(user.disabled),
                    user.created_at.isoformat(),
                )
            console.print(table)

    run(go())


async def _update_user(
    username: str, *, role: Role | None = None, disabled: bool | None = None
) -> None:
    from opsgate.api import accounts
    from opsgate.api.passwords import Passwords

    async with local_store(load_settings()) as store:
        user = await store.get_user_by_name(username)
        updated = await accounts.update_user(
            store,
            Passwords(),
            user.id,
            role=role,
            disabled=disabled,
            actor=accounts.CLI,
            via="cli",
        )
        console.print(
            f"{escape(updated.username)}: role {updated.role}, disabled {updated.disabled}"
        )


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


def _grants_text(grants: Sequence[Grant]) -> str:
    return ", ".join(f"{g.role} for {g.scope}" for g in grants) or "-"


ContextOption = Annotated[
    str, typer.Option("--context", help="The kubeconfig context the grant applies in.")
]
NamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", help="Only this namespace of the context (default: all of it)."),
]


@users_app.command("show")
def users_show(username: Annotated[str, typer.Argument(help="The login name.")]) -> None:
    """Show a user's global role and scoped grants.

    Example: `opsgate users show alice`
    """

    async def go() -> None:
        async with local_store(load_settings()) as store:
            user = await store.get_user_by_name(username)
            console.print(f"{escape(user.username)}: role {user.role} everywhere")
            for grant in user.grants:
                console.print(f"  {grant.role} for {escape(grant.scope)}")
            if not user.grants:
                console.print("  no scoped grants")

    run(go())


@users_app.command("grant")
def users_grant(
    username: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
    context: ContextOption,
    namespace: NamespaceOption = None,
) -> None:
    """Grant a role in one context, or one namespace of it (audited).

    The user's role there becomes the highest of their global role and their grants there.

    Example: `opsgate users grant alice approver --context prod --namespace payments`
    """
    checked = _role(role)
    from opsgate.api import accounts

    async def go() -> None:
        async with local_store(load_settings()) as store:
            user = await store.get_user_by_name(username)
            updated = await accounts.grant_role(
                store, user, checked, context, namespace, actor=accounts.CLI, via="cli"
            )
            console.print(f"{escape(updated.username)}: {escape(_grants_text(updated.grants))}")

    run(go())


@users_app.command("revoke")
def users_revoke(
    username: Annotated[str, typer.Argument(help="The login name.")],
    context: ContextOption,
    namespace: NamespaceOption = None,
) -> None:
    """Take back a user's grant at exactly this scope (audited).

    Example: `opsgate users revoke alice --context prod --namespace payments`
    """
    from opsgate.api import accounts

    async def go() -> None:
        async with local_store(load_settings()) as store:
            user = await store.get_user_by_name(username)
            updated = await accounts.revoke_grant(
                store, user, context, namespace, actor=accounts.CLI, via="cli"
            )
            console.print(f"{escape(updated.username)}: {escape(_grants_text(updated.grants))}")

    run(go())


@tokens_app.command("create")
def tokens_create(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="A label for the token.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Create an API token; it is printed once and stored only as a hash.

    It is marked as made by the CLI, not by the user: it cannot decide approvals.

    Example: `opsgate tokens create alice --name ci --days 30`
    """
    from opsgate.api import accounts

    async def go() -> None:
        async with local_store(load_settings()) as store:
            user = await store.get_user_by_name(username)
            expires = datetime.now(UTC) + timedelta(days=days) if days else None
            token, record = await accounts.create_token(
                store, user, name, expires, actor=accounts.CLI, via="cli"
            )
            console.print(f"token {record.id} for {escape(user.username)} (shown once):")
            print(token)

    run(go())


@tokens_app.command("login")
def tokens_login(
    username: Annotated[str, typer.Argument(help="Your login name.")],
    name: Annotated[str, typer.Option(help="A label for the token.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
    password: Annotated[
        str | None, typer.Option(help="Your password; prompted for when omitted.")
    ] = None,
    server: ServerOption = None,
) -> None:
    """Sign in to the server and create an API token of your own; it is printed once.

    Unlike `tokens create`, the token is made by you, signed in, so it may also decide
    approvals (`opsgate approvals approve`, `opsgate chat`).

    Example: `opsgate tokens login alice --name laptop --server http://127.0.0.1:8080`
    """
    from opsgate.cli.client import ApiClient

    if password is None:
        password = typer.prompt("Password", hide_input=True)
    body: dict[str, object] = {"name": name}
    if days:
        body["expires_in_days"] = days
    with ApiClient(server or load_settings().server_url, None) as client:
        client.sign_in(username, password)
        try:
            created = client.request("POST", "/tokens", json=body)
        finally:
            client.request("POST", "/auth/logout")
    console.print(f"token {escape(created['record']['id'])} for {escape(username)} (shown once):")
    print(created["token"])


@tokens_app.command("list")
def tokens_list() -> None:
    """List API tokens (never their values).

    Example: `opsgate tokens list`
    """

    async def go() -> None:
        async with local_store(load_settings()) as store:
            names = {user.id: user.username for user in await store.list_users()}
            from rich.table import Table

            table = Table(
                "id", "user", "name", "prefix", "made by", "expires", "revoked", "last used"
            )
            for tok in await store.list_tokens():
                maker = "cli" if tok.created_by is None else names.get(tok.created_by, "?")
                table.add_row(
                    tok.id,
                    escape(names.get(tok.user_id, tok.user_id)),
                    escape(tok.name),
                    tok.prefix,
                    escape(maker),
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

    from opsgate.api import accounts

    async def go() -> None:
        async with local_store(load_settings()) as store:
            record = await accounts.revoke_token(store, token_id, actor=accounts.CLI, via="cli")
            console.print(f"revoked {escape(record.id)}")

    run(go())


@users_app.command("link-slack")
def users_link_slack(
    username: Annotated[str, typer.Argument(help="The login name.")],
    slack_user_id: Annotated[str, typer.Argument(help="The Slack user's id (U…, W…).")],
) -> None:
    """Let a Slack user decide approvals from Slack as this user (audited).

    Their presses are judged exactly as this user's decisions in opsgate: role, scope,
    policy, distinct approver. Example: `opsgate users link-slack alice U024BE7LH`
    """
    if not SLACK_USER_ID.fullmatch(slack_user_id):
        raise typer.BadParameter("a Slack user id looks like U024BE7LH", param_hint="SLACK_ID")
    from opsgate.domain import audit_payloads as ap

    async def go() -> None:
        async with local_store(load_settings()) as store:
            user = await store.get_user_by_name(username)
            await store.link_slack(user.id, slack_user_id)
            linked = ap.SlackLinked(
                user_id=user.id, username=user.username, slack_user_id=slack_user_id, via="cli"
            )
            await store.append_audit(linked.kind, linked.payload(), actor_id=None, actor_name="cli")
            console.print(f"Slack user {slack_user_id} now decides as {escape(user.username)}")

    run(go())
