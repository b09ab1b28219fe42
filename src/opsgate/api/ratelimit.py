"""Login throttling per account and per client address, with delays that grow per failure.

Used by the login and setup routes. After a few free failures each further failure locks the
key for twice as long as the last (capped); a success clears the account's record. A locked
key is refused at once with `RateLimited` (429, `Retry-After`), before any password is checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opsgate.errors import AuthError

_MAX_KEYS = 50_000


class RateLimited(AuthError):
    """Too many failed attempts; try again later."""

    code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed attempts; retry in {int(retry_after_s) + 1} s")
        self.retry_after_s = retry_after_s


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


@dataclass
class LoginLimiter:
    """Counts failures per key (`user:NAME`, `addr:IP`) and says how long a key is locked."""

    free_failures_per_account: int = 5
    free_failures_per_address: int = 20
    base_delay_s: float = 1.0
    max_delay_s: float = 15 * 60.0
    forget_after_s: float = 24 * 3600.0
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _Record] = field(default_factory=dict)

    def check(self, username: str, address: str) -> None:
        """Raise `RateLimited` if the account or the address is locked right now."""
        now = self.clock()
        wait = max(
            self._remaining(f"user:{username.lower()}", now),
            self._remaining(f"addr:{address}", now),
        )
        if wait > 0:
            raise RateLimited(wait)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        self._fail(f"user:{username.lower()}", self.free_failures_per_account, now)
        self._fail(f"addr:{address}", self.free_failures_per_address, now)

    def succeeded(self, username: str) -> None:
        self._records.pop(f"user:{username.lower()}", None)

    def _remaining(self, key: str, now: float) -> float:
        record = self._records.get(key)
        return 0.0 if record is None else max(0.0, record.locked_until - now)

    def _fail(self, key: str, free: int, now: float) -> None:
        record = self._records.get(key)
        if record is None or now - record.last_failure > self.forget_after_s:
            if len(self._records) >= _MAX_KEYS:
                self._evict(now)
            record = self._records[key] = _Record()
        record.failures += 1
        record.last_failure = now
        over = record.failures - free
        if over > 0:
            delay = min(self.max_delay_s, self.base_delay_s * 2 ** (over - 1))
            record.locked_until = now + delay

    def _evict(self, now: float) -> None:
        self._records = {
            key: record
            for key, record in self._records.items()
            if now - record.last_failure <= self.forget_after_s and record.locked_until > now
        }
