"""One accounts module: users and tokens made by the setup route, the admin API, the CLI and the
demo are recorded the same way (one audit payload per event kind, one token format)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from opsgate.api.sessions import CSRF_COOKIE, CSRF_HEADER
from opsgate.cli import serve
from opsgate.store import sql
from opsgate.store.protocol import Store
from opsgate.store.records import AuditFilter
from tests.fixtures.api import PASSWORD, SETUP_TOKEN, api_settings, running_app
from tests.fixtures.cli import RunCli


async def _payloads(store: Store, kind: str) -> list[dict[str, Any]]:
    events = await store.list_audit(AuditFilter(kind=kind), limit=100, after_seq=0)
    return [event.payload for event in events if event.kind == kind]


async def _stored_payloads(data_dir: Path, kind: str) -> list[dict[str, Any]]:
    settings = api_settings(data_dir)
    store = await sql.open_store(
        settings.sqlalchemy_url(),
        secret_key=settings.key("secret_key"),
        audit_key=settings.key("audit_key"),
    )
    try:
        return await _payloads(store, kind)
    finally:
        await store.close()


async def test_user_created_is_one_payload_whoever_creates_the_user(
    tmp_path: Path, run_cli: RunCli
) -> None:
    data_dir = tmp_path / "data"
    async with running_app(data_dir, with_users=False) as env, env.client() as client:
        body = {"setup_token": SETUP_TOKEN, "username": "root", "password": PASSWORD}
        assert (await client.post("/api/v1/setup", json=body)).status_code == 200
        created = await client.post(
            "/api/v1/users",
            json={"username": "dana", "role": "approver", "password": PASSWORD},
            headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]},
        )
        assert created.status_code == 201
    added = await asyncio.to_thread(run_cli, "users", "add", "erin", "--password", PASSWORD)
    assert added.returncode == 0, added.stderr
    demo_dir = tmp_path / "demo"
    await asyncio.to_thread(serve._ensure_demo_admin, api_settings(demo_dir))

    payloads = await _stored_payloads(data_dir, "user.created")
    payloads += await _stored_payloads(demo_dir, "user.created")
    assert [(p["username"], p["via"]) for p in payloads] == [
        ("root", "setup"),
        ("dana", "api"),
        ("erin", "cli"),
        ("admin", "demo"),
    ]
    assert len({tuple(sorted(p)) for p in payloads}) == 1, payloads
    assert all(p["user_id"].startswith("usr_") for p in payloads)


async def test_api_and_cli_tokens_share_one_format_and_display_prefix(
    tmp_path: Path, run_cli: RunCli
) -> None:
    async with running_app(tmp_path / "data") as env, env.client("admin") as admin:
        made = (await admin.post("/api/v1/tokens", json={"name": "mine"})).json()
    api_token, api_prefix = made["token"], made["record"]["prefix"]
    created = await asyncio.to_thread(run_cli, "tokens", "create", "operator", "--name", "ci")
    assert created.returncode == 0, created.stderr
    cli_token = created.stdout.strip().splitlines()[-1]

    settings = api_settings(tmp_path / "data")
    store = await sql.open_store(
        settings.sqlalchemy_url(),
        secret_key=settings.key("secret_key"),
        audit_key=settings.key("audit_key"),
    )
    try:
        (cli_record,) = [t for t in await store.list_tokens() if t.name == "ci"]
        token_events = await _payloads(store, "token.created")
    finally:
        await store.close()
    assert api_token.startswith(api_prefix)
    assert cli_token.startswith(cli_record.prefix)
    assert len(cli_record.prefix) == len(api_prefix)
    assert len(cli_token) == len(api_token)
    assert len({tuple(sorted(p)) for p in token_events}) == 1, token_events
