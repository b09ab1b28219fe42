"""SQLite serves one opsgate process: a second `opsgate serve` on the same file is refused at
start with a message naming PostgreSQL; the lock dies with its holder, even by SIGKILL."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.errors import ConfigError
from opsgate.store import sqlite_lock
from tests.replicas.servers import shared_keys, start_replica

pytestmark = pytest.mark.slow


def test_a_second_server_on_one_sqlite_file_is_refused_until_the_first_dies(
    tmp_path: Path,
) -> None:
    database = tmp_path / "shared.db"
    env = {"OPSGATE_DATABASE_URL": f"sqlite+aiosqlite:///{database}", **shared_keys()}
    first = start_replica("a", tmp_path, env)
    try:
        second = start_replica("b", tmp_path, env, wait=False)
        assert second.proc.wait(timeout=60) == 1
        said = second.log.read_text()
        assert "SQLite supports one opsgate process" in said
        assert "OPSGATE_DATABASE_URL=postgresql+psycopg://" in said
        assert first.proc.poll() is None
        first.kill()
        third = start_replica("c", tmp_path, env)
        third.stop()
    finally:
        first.stop()


def test_the_lock_is_per_database_file_and_released(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    held = sqlite_lock.hold_single_server(url)
    assert held is not None
    with pytest.raises(ConfigError, match="use PostgreSQL"):
        sqlite_lock.hold_single_server(url)
    other = sqlite_lock.hold_single_server(f"sqlite+aiosqlite:///{tmp_path / 'two.db'}")
    assert other is not None
    other.release()
    held.release()
    again = sqlite_lock.hold_single_server(url)
    assert again is not None
    again.release()


def test_postgresql_takes_no_lock() -> None:
    assert sqlite_lock.hold_single_server("postgresql+psycopg://u@127.0.0.1:1/db") is None


def test_refused_before_it_listens(tmp_path: Path) -> None:
    # Nothing but the message: the refused server never opened its port or the database.
    database = tmp_path / "x.db"
    held = sqlite_lock.hold_single_server(f"sqlite+aiosqlite:///{database}")
    assert held is not None
    try:
        env = {"OPSGATE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
        refused = start_replica("r", tmp_path, env, wait=False)
        assert refused.proc.wait(timeout=60) == 1
        assert not database.exists()
    finally:
        held.release()
