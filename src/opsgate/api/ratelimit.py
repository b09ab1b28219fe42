"""Login throttling: exponential back-off per account and per client address, never a lock-out.

Used by the login and setup routes (policy in docs/security.md). Each failure counts against
the client's address and against the account; after a few free failures a key must wait
twice as long as the last time (capped) before its next attempt, and attempts during the wait
are refused with `RateLimited` (429, `Retry-After`) before any password is checked, and do not
count. Failures against an account from an address that user signed in from before count on
their own key (account and address), so nobody elsewhere can keep a user out of the address
they work from, however they space their guesses.
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

    def __init__(self, retry_after_s: float, what: str = "too many failed attempts") -> None:
        super().__init__(f"{what}; retry in {int(retry_after_s) + 1} s")
        self.retry_after_s = retry_after_s


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


@dataclass
class LoginLimiter:
    """Counts failures per key and says how long a key must wait before its next attempt.

    Keys: `addr:IP` (every attempt from the address), and for the account either
    `user:NAME` (attempts from addresses the user never signed in from) or `known:NAME@IP`
    (attempts from an address they did: `known=True`).
    """

    free_failures_per_account: int = 5
    free_failures_per_address: int = 20
    base_delay_s: float = 1.0
    max_delay_s: float = 15 * 60.0
    forget_after_s: float = 24 * 3600.0
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _Record] = field(default_factory=dict)

    def check(self, username: str, address: str, *, known: bool = False) -> None:
        """Raise `RateLimited` if the address or the account (as seen from it) must wait."""
        now = self.clock()
        wait = max(
            self._remaining(f"addr:{address}", now),
            self._remaining(self._account_key(username, address, known), now),
        )
        if wait > 0:
            raise RateLimited(wait)

    def failed(self, username: str, address: str, *, known: bool = False) -> None:
        now = self.clock()
        self._fail(self._account_key(username, address, known), self.free_failures_per_account, now)
        self._fail(f"addr:{address}", self.free_failures_per_address, now)

    def succeeded(self, username: str, address: str, *, known: bool = False) -> None:
        """Clear the account's record as seen from this address (a real user got in)."""
        self._records.pop(self._account_key(username, address, known), None)

    @staticmethod
    def _account_key(username: str, address: str, known: bool) -> str:
        name = username.lower()
        return f"known:{name}@{address}" if known else f"user:{name}"

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
