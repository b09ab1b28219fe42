"""Starting `opsgate serve` replicas as separate processes for the tests in this package.

Each replica has a data directory of its own (its own engine id) and the environment given;
replicas of one deployment share the database and the keys through that environment.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from opsgate.api import accounts
from opsgate.cli.common import local_store
from opsgate.domain.roles import Role
from opsgate.settings import Settings
from tests.fixtures.cli import OPSGATE, cli_env
from tests.fixtures.net import free_port

START_TIMEOUT_S = 60
T = TypeVar("T")


async def add_users(settings: Settings, users: Mapping[str, Role]) -> dict[str, str]:
    """Token-only users made on the database of `settings`, each with an API token."""
    tokens: dict[str, str] = {}
    async with local_store(settings) as store:
        for username, role in users.items():
            user = await store.create_user(username, role, None)
            token = accounts.new_token()
            await store.create_token(
                user.id,
                "replicas",
                accounts.token_hash(token),
                accounts.display_prefix(token),
                None,
                created_by=user.id,
            )
            tokens[username] = token
    return tokens


def eventually(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def shared_keys() -> dict[str, str]:
    """The keys every replica of one deployment must share (each would generate its own)."""
    names = ("SECRET_KEY", "APPROVAL_KEY", "AUDIT_KEY", "SESSION_KEY")
    return {f"OPSGATE_{name}": secrets.token_urlsafe(32) for name in names}


@dataclass
class Replica:
    """One running `opsgate serve` process."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a node dies."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


def start_replica(name: str, workdir: Path, env: dict[str, str], *, wait: bool = True) -> Replica:
    """`opsgate serve` on a free loopback port, data in `workdir/name`; waits for /healthz."""
    port = free_port()
    data_dir = workdir / name
    log = workdir / f"{name}.log"
    full_env = cli_env(
        data_dir, **{"OPSGATE_LOG_LEVEL": "WARNING", **env, "OPSGATE_PORT": str(port)}
    )
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(OPSGATE), "serve"], cwd=workdir, env=full_env, stdout=out, stderr=out
        )
    replica = Replica(name, f"http://127.0.0.1:{port}", proc, log)
    if wait:
        wait_healthy(replica)
    return replica


def wait_healthy(replica: Replica) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        assert replica.proc.poll() is None, replica.log.read_text()
        try:
            if httpx.get(f"{replica.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"replica {replica.name} did not come up"
        time.sleep(0.2)
