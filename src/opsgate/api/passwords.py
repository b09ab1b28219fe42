"""Password hashing with argon2id; used by the API's login and admin routes and by the CLI.

One `Passwords` object per app (tests may build it with cheaper parameters); routes use the
`*_async` forms, which run argon2 in a worker thread. Verifying against
an unknown user still spends one hash so response times do not reveal which names exist.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from opsgate.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


@dataclass
class Passwords:
    """Hashes and checks passwords; `hasher` defaults to argon2-cffi's current parameters."""

    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    _dummy_hash: str = ""

    async def hash_async(self, password: str) -> str:
        """`hash` in a worker thread: argon2 is CPU-bound and must not stall the event loop."""
        check_strength(password)
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify_async(self, password_hash: str | None, password: str) -> bool:
        """`verify` in a worker thread."""
        return await asyncio.to_thread(self.verify, password_hash, password)

    def hash(self, password: str) -> str:
        check_strength(password)
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; always spends one verification."""
        if password_hash is None:
            if not self._dummy_hash:
                self._dummy_hash = self.hasher.hash("opsgate-dummy-password")
            password_hash = self._dummy_hash
            password = password + "\0never"
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def fast_passwords() -> Passwords:
    """Cheap argon2 parameters, for tests and benchmarks only."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must have at most {MAX_PASSWORD_LENGTH} characters")
