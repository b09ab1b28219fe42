"""Users, API tokens and sessions (stored hashed) on both databases."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from opsgate.errors import Conflict, NotFound
from opsgate.store.sql import SqlStore
from tests.fixtures.postgres import RawSql


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def test_created_user_reads_back_with_password_hash(store: SqlStore) -> None:
    user = await store.create_user("alice", "approver", "argon2-hash")
    loaded = await store.get_user(user.id)
    assert loaded.username == "alice"
    assert loaded.role == "approver"
    assert loaded.password_hash == "argon2-hash"
    assert loaded.created_at.tzinfo is not None
    assert (await store.get_user_by_name("alice")).id == user.id
    assert await store.count_users() == 1


async def test_duplicate_username_is_a_conflict(store: SqlStore) -> None:
    await store.create_user("alice", "viewer", None)
    with pytest.raises(Conflict, match="alice"):
        await store.create_user("alice", "admin", None)


async def test_unknown_user_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound):
        await store.get_user("usr_missing")
    with pytest.raises(NotFound):
        await store.get_user_by_name("nobody")
    with pytest.raises(NotFound):
        await store.update_user("usr_missing", role="admin")


async def test_update_user_changes_only_given_fields(store: SqlStore) -> None:
    user = await store.create_user("bob", "viewer", "h1")
    updated = await store.update_user(user.id, role="operator", disabled=True)
    assert (updated.role, updated.disabled) == ("operator", True)
    assert (await store.get_user(user.id)).password_hash == "h1"
    await store.update_user(user.id, password_hash="h2")
    assert (await store.get_user(user.id)).password_hash == "h2"
    assert [u.username for u in await store.list_users()] == ["bob"]


async def test_user_groups_start_empty_and_read_back_in_order(store: SqlStore) -> None:
    user = await store.create_user("dana", "operator", None)
    assert user.groups == ()
    await store.update_user(user.id, groups=("sre-prod", "payments"))
    assert (await store.get_user(user.id)).groups == ("sre-prod", "payments")
    assert (await store.get_user_by_name("dana")).groups == ("sre-prod", "payments")
    await store.update_user(user.id, role="viewer")
    assert (await store.get_user(user.id)).groups == ("sre-prod", "payments")


async def test_find_token_returns_live_token_and_marks_it_used(store: SqlStore) -> None:
    user = await store.create_user("carol", "operator", None)
    token = await store.create_token(user.id, "ci", _hash("secret-1"), "og_abc", None)
    assert token.last_used_at is None
    found = await store.find_token(_hash("secret-1"))
    assert found is not None
    assert found[0].id == token.id
    assert found[1].username == "carol"
    assert found[0].last_used_at is not None
    assert (await store.list_tokens(user.id))[0].last_used_at == found[0].last_used_at
    again = await store.find_token(_hash("secret-1"))
    assert again is not None
    # Refreshed at most once a minute, so authentication rarely takes the write lock.
    assert again[0].last_used_at == found[0].last_used_at
    assert await store.find_token(_hash("other")) is None


async def test_revoked_expired_or_disabled_tokens_are_not_found(store: SqlStore) -> None:
    user = await store.create_user("dave", "operator", None)
    revoked = await store.create_token(user.id, "a", _hash("a"), "og_a", None)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await store.create_token(user.id, "b", _hash("b"), "og_b", past)
    await store.create_token(user.id, "c", _hash("c"), "og_c", None)
    assert (await store.revoke_token(revoked.id)).revoked_at is not None
    assert await store.find_token(_hash("a")) is None
    assert await store.find_token(_hash("b")) is None
    assert await store.find_token(_hash("c")) is not None
    await store.update_user(user.id, disabled=True)
    assert await store.find_token(_hash("c")) is None


async def test_list_tokens_by_user(store: SqlStore) -> None:
    erin = await store.create_user("erin", "admin", None)
    frank = await store.create_user("frank", "viewer", None)
    await store.create_token(erin.id, "one", _hash("1"), "og_1", None)
    await store.create_token(frank.id, "two", _hash("2"), "og_2", None)
    assert [t.name for t in await store.list_tokens(erin.id)] == ["one"]
    assert {t.name for t in await store.list_tokens()} == {"one", "two"}
    with pytest.raises(NotFound):
        await store.revoke_token("tok_missing")
    with pytest.raises(NotFound):
        await store.create_token("usr_missing", "x", _hash("x"), "og_x", None)


async def test_token_records_who_made_it(store: SqlStore) -> None:
    owner = await store.create_user("gwen", "approver", None)
    own = await store.create_token(
        owner.id, "own", _hash("own"), "og_own", None, created_by=owner.id
    )
    cli = await store.create_token(owner.id, "cli", _hash("cli"), "og_cli", None)
    assert (own.created_by, own.made_by_owner) == (owner.id, True)
    assert (cli.created_by, cli.made_by_owner) == (None, False)
    found = await store.find_token(_hash("cli"))
    assert found is not None
    assert found[0].made_by_owner is False
    assert {t.name: t.created_by for t in await store.list_tokens(owner.id)} == {
        "own": owner.id,
        "cli": None,
    }


async def test_a_session_is_live_until_ended_and_never_after(store: SqlStore) -> None:
    user = await store.create_user("hana", "viewer", "h1")
    later = datetime.now(UTC) + timedelta(hours=1)
    await store.create_session(_hash("s1"), user.id, "10.0.0.1", later)
    found = await store.find_session(_hash("s1"))
    assert found is not None
    assert found.username == "hana"
    assert not hasattr(found, "password_hash")
    assert await store.find_session(_hash("other")) is None
    await store.end_session(_hash("s1"))
    await store.end_session(_hash("s1"))
    assert await store.find_session(_hash("s1")) is None


async def test_expired_sessions_are_not_found_and_swept(store: SqlStore, raw_sql: RawSql) -> None:
    user = await store.create_user("ines", "viewer", None)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await store.create_session(_hash("old"), user.id, "10.0.0.1", past)
    assert await store.find_session(_hash("old")) is None
    await store.create_session(_hash("new"), user.id, "10.0.0.1", past + timedelta(hours=2))
    assert await raw_sql("SELECT count(*) FROM sessions") == [(1,)]


async def test_password_change_or_disabling_ends_the_users_sessions(store: SqlStore) -> None:
    jo = await store.create_user("jo", "operator", "h1")
    kai = await store.create_user("kai", "operator", "h1")
    later = datetime.now(UTC) + timedelta(hours=1)
    for name, user in (("jo-1", jo), ("jo-2", jo), ("kai-1", kai)):
        await store.create_session(_hash(name), user.id, "10.0.0.1", later)
    await store.update_user(jo.id, role="approver")
    assert await store.find_session(_hash("jo-1")) is not None
    await store.update_user(jo.id, password_hash="h2")
    assert await store.find_session(_hash("jo-1")) is None
    assert await store.find_session(_hash("jo-2")) is None
    assert await store.find_session(_hash("kai-1")) is not None
    await store.update_user(kai.id, disabled=True)
    await store.update_user(kai.id, disabled=False)
    assert await store.find_session(_hash("kai-1")) is None


async def test_addresses_a_user_signed_in_from_are_remembered(store: SqlStore) -> None:
    lea = await store.create_user("lea", "viewer", None)
    max_ = await store.create_user("max", "viewer", None)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await store.signed_in_from(lea.id, "10.0.0.1") is False
    await store.create_session(_hash("l1"), lea.id, "10.0.0.1", later)
    await store.create_session(_hash("l2"), lea.id, "10.0.0.1", later)
    await store.end_session(_hash("l1"))
    await store.end_session(_hash("l2"))
    assert await store.signed_in_from(lea.id, "10.0.0.1") is True
    assert await store.signed_in_from(lea.id, "10.0.0.2") is False
    assert await store.signed_in_from(max_.id, "10.0.0.1") is False
