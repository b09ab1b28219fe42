"""Short, time-ordered, unique ids for store records (`run_…`, `call_…`, `apr_…`).

Used by `SqlStore` (and by the engine for call ids, if it wants the same shape). Ids sort by
creation time: 11 base32 characters of microseconds since the epoch, made strictly increasing
within one generator, then 8 random base32 characters so that processes never collide.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _base32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


class IdFactory:
    """Makes ids that sort in creation order; one per store (no module state)."""

    def __init__(self) -> None:
        self._last_us = 0
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        """A fresh id such as `run_0cz4k3m1q2r7x9abcdefgh`."""
        with self._lock:
            now_us = max(time.time_ns() // 1000, self._last_us + 1)
            self._last_us = now_us
        return f"{prefix}_{_base32(now_us, 11)}{_base32(secrets.randbits(40), 8)}"
