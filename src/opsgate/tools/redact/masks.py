"""What a hidden value is replaced by: `REDACTED` in tool output, a hash marker in arguments.

Every rule of the package takes a `Mask` and calls it with the exact secret it found, so one
rule set serves both: tool output uses `hide` (the model and the logs learn nothing, not even
whether two secrets are equal); proposed arguments use `marker`, so an approver sees that a
value is there and can tell two values apart without seeing either.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

REDACTED = "**REDACTED**"

_MASK_PREFIX = "**REDACTED"

Mask = Callable[[str], str]
"""Given the secret text found, returns what to show instead."""


def hide(value: str) -> str:
    """The mask for tool output: always `REDACTED`."""
    return REDACTED


def marker(value: str) -> str:
    """`**REDACTED sha256:0123456789ab**`: the first 12 hex digits of the value's SHA-256."""
    digest = hashlib.sha256(value.encode("utf-8", errors="surrogatepass")).hexdigest()
    return f"{_MASK_PREFIX} sha256:{digest[:12]}**"


def keyed_marker(key: bytes) -> Mask:
    """Like `marker`, with an HMAC-SHA256 under a server-held key instead of a bare hash: the
    marker still tells two values apart, but nobody holding only the marker (an audit export,
    a stream) can test guesses of a weak password against it."""

    def mask(value: str) -> str:
        digest = hmac.new(key, value.encode("utf-8", errors="surrogatepass"), hashlib.sha256)
        return f"{_MASK_PREFIX} hmac:{digest.hexdigest()[:12]}**"

    return mask


def is_masked(text: str) -> bool:
    """Already replaced by a mask (so a second pass leaves it, and its hash, alone)."""
    return text.strip().strip("\"'").startswith(_MASK_PREFIX)


def apply(mask: Mask, value: str) -> str:
    """`mask(value)`, unless `value` is a mask already."""
    return value if is_masked(value) else mask(value)
