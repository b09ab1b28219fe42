"""How users sign in (`users.sign_in`/`subject`) and instance options, on both databases."""

from __future__ import annotations

import pytest

from opsgate.errors import Conflict
from opsgate.store.sql import SqlStore


async def test_external_users_are_found_by_sign_in_and_subject_only(store: SqlStore) -> None:
    local = await store.create_user("erin", "admin", None)
    sso = await store.create_user(
        "erin-oidc", "viewer", None, sign_in="oidc", subject="u-1", groups=("devs",)
    )
    assert (local.sign_in, local.subject) == ("local", None)
    found = await store.find_external_user("oidc", "u-1")
    assert found is not None
    assert (found.id, found.sign_in, found.subject, found.groups) == (
        sso.id,
        "oidc",
        "u-1",
        ("devs",),
    )
    assert await store.find_external_user("proxy", "u-1") is None
    assert await store.find_external_user("oidc", "erin") is None
    assert (await store.get_user(sso.id)).sign_in == "oidc"


async def test_one_account_per_subject_and_way_of_signing_in(store: SqlStore) -> None:
    await store.create_user("fay", "viewer", None, sign_in="proxy", subject="fay@example.com")
    with pytest.raises(Conflict):
        await store.create_user("fay2", "viewer", None, sign_in="proxy", subject="fay@example.com")
    other = await store.create_user(
        "fay3", "viewer", None, sign_in="oidc", subject="fay@example.com"
    )
    assert other.sign_in == "oidc"
    # Local users have no subject; any number of them may exist.
    await store.create_user("gil", "viewer", None)
    await store.create_user("hal", "viewer", None)


async def test_instance_options_start_unset_and_keep_the_last_value(store: SqlStore) -> None:
    assert await store.get_option("local_login") is None
    await store.set_option("local_login", False)
    assert await store.get_option("local_login") is False
    await store.set_option("local_login", True)
    assert await store.get_option("local_login") is True
