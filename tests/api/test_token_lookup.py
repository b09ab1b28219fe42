"""A bearer request's authentication: two statements, and nothing remembered across requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from opsgate.domain.grants import Grant
from opsgate.store.sql import SqlStore
from tests.fixtures.api import ApiEnv


@contextmanager
def _statements(store: SqlStore) -> Iterator[list[str]]:
    """The SQL statements the store's SQLite engines send meanwhile (the writer's engine is
    the reader's with other options, so listening on the reader hears both)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    engine = store._engines.sync_read
    assert engine is not None  # the API fixture runs on SQLite
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_token_request_reads_its_token_user_and_grants_in_two_statements(
    api_env: ApiEnv,
) -> None:
    store = api_env.state.store
    assert isinstance(store, SqlStore)
    operator = api_env.users["operator"]
    await store.grant_role(operator.id, Grant(role="approver", context="prod", namespace="shop"))
    async with api_env.client("operator") as client:
        # The first request also stamps the token's last use (a write, once a minute).
        first = await client.get("/api/v1/auth/me")
        assert first.status_code == 200, first.text

        with _statements(store) as seen:
            me = await client.get("/api/v1/auth/me")

    assert me.status_code == 200
    assert me.json()["username"] == "operator"
    assert me.json()["role"] == "operator"
    assert me.json()["grants"] == [{"role": "approver", "context": "prod", "namespace": "shop"}]
    assert [s.split()[0] for s in seen if not s.startswith("BEGIN")] == ["SELECT", "SELECT"]


async def test_the_next_request_sees_a_revoked_token_a_disabled_user_and_new_grants(
    api_env: ApiEnv,
) -> None:
    store = api_env.state.store
    viewer, operator = api_env.users["viewer"], api_env.users["operator"]
    async with api_env.client("operator") as client:
        assert (await client.get("/api/v1/auth/me")).json()["grants"] == []
        await store.grant_role(operator.id, Grant(role="admin", context="prod"))
        granted = (await client.get("/api/v1/auth/me")).json()["grants"]
        assert granted == [{"role": "admin", "context": "prod", "namespace": None}]
        (token,) = await store.list_tokens(operator.id)
        await store.revoke_token(token.id)
        revoked = await client.get("/api/v1/auth/me")
        assert revoked.status_code == 401
        assert "unknown, revoked or expired" in revoked.json()["error"]["message"]
    async with api_env.client("viewer") as client:
        assert (await client.get("/api/v1/auth/me")).status_code == 200
        await store.update_user(viewer.id, disabled=True)
        assert (await client.get("/api/v1/auth/me")).status_code == 401
