"""One `opsgate serve` per SQLite file: an OS lock on a file beside the database.

`opsgate serve` (and `opsgate demo`) call `hold_single_server` before they serve. SQLite
serialises writers, but the engine's lease, stream and approval paths are built for one
server process per file; several replicas need PostgreSQL. The lock is `flock` on
`<database>.serve.lock`, so the OS releases it when the process dies, however it dies: no
stale pid file to clean up after a SIGKILL. Short-lived admin commands (`opsgate users`,
`opsgate audit`) and the MCP gateway do not take it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import make_url

from opsgate.errors import ConfigError

LOCK_SUFFIX = ".serve.lock"


class ServerLock:
    """The held lock; released by `release()` or by the process ending."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def hold_single_server(database_url: str) -> ServerLock | None:
    """Take the one-server lock of a SQLite database; None for PostgreSQL (no limit).

    Raises:
        ConfigError: another live process serves this SQLite file.
    """
    parsed = make_url(database_url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    path = Path(parsed.database + LOCK_SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"another opsgate server already uses the SQLite database {parsed.database!r}: "
            "SQLite supports one opsgate process; use PostgreSQL "
            "(OPSGATE_DATABASE_URL=postgresql+psycopg://...) for replicas"
        ) from None
    return ServerLock(path, fd)
