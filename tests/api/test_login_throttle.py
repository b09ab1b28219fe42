"""Login throttling backs off per account and per address, and nobody can lock a user out of an
address they signed in from before (a fake clock stands in for the waiting)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from opsgate.api.ratelimit import LoginLimiter
from tests.fixtures.api import PASSWORD, ApiEnv, running_app

OFFICE = "10.0.0.1"
ATTACKER = "203.0.113.66"
WRONG = "wrong password!!"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


async def _login(env: ApiEnv, address: str, password: str) -> httpx.Response:
    async with env.client(address=address) as client:
        return await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": password}
        )


async def test_spaced_wrong_passwords_never_lock_out_a_known_address(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = LoginLimiter(clock=clock)
    async with running_app(tmp_path / "data", limiter=limiter) as env:
        assert (await _login(env, OFFICE, PASSWORD)).status_code == 200
        waits: list[int] = []
        failures = 0
        while failures < 40:
            attempt = await _login(env, ATTACKER, WRONG)
            if attempt.status_code == 429:
                wait = int(attempt.headers["retry-after"])
                waits.append(wait)
                clock.now += wait
                continue
            assert attempt.status_code == 401
            failures += 1
        # Back-off, not a lock: each wait doubles up to the cap, and then stays there.
        assert waits[:4] == [2, 3, 5, 9]
        assert max(waits) == int(limiter.max_delay_s) + 1
        assert (await _login(env, ATTACKER, PASSWORD)).status_code == 429
        assert (await _login(env, "198.51.100.7", PASSWORD)).status_code == 429
        # The admin at the address they signed in from before gets in at once.
        assert (await _login(env, OFFICE, PASSWORD)).status_code == 200
        # Once the attacker stops, the back-off ends for every address.
        clock.now += limiter.max_delay_s + 1
        assert (await _login(env, "198.51.100.7", PASSWORD)).status_code == 200


async def test_wrong_passwords_from_a_known_address_back_off_too(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = LoginLimiter(clock=clock)
    async with running_app(tmp_path / "data", limiter=limiter) as env:
        assert (await _login(env, OFFICE, PASSWORD)).status_code == 200
        for _ in range(limiter.free_failures_per_account):
            assert (await _login(env, OFFICE, WRONG)).status_code == 401
        assert (await _login(env, OFFICE, WRONG)).status_code == 401
        throttled = await _login(env, OFFICE, PASSWORD)
        assert throttled.status_code == 429
        clock.now += int(throttled.headers["retry-after"])
        assert (await _login(env, OFFICE, PASSWORD)).status_code == 200
