"""`audit_log.chain_text` is byte-identical to `canonical_json` of `chain_hash`'s fields
(keyed events and the legacy text without `tool`).

The store hashes and verifies the audit chain with `chain_text` (the payload's canonical text
spliced in, not re-encoded); these tests compare it with the one definition in
`opsgate.domain` over thousands of generated events: unicode, escapes, nesting, numbers.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsgate.domain.audit import chain_hash
from opsgate.domain.canonical import canonical_json, sha256_hex
from opsgate.store import audit_log

_ALPHABET = (
    "abcXYZ019 _-./:"
    '"\\\b\f\n\r\t\x00\x01\x1f\x7f'
    "éüßñ€£¥©ΩπЖж中文字日本語한국어"
    "\u2028\u2029\u200b\ufeff\u0301"
    "😀🚀👩‍💻🇫🇷"
)


def _text(rng: random.Random, longest: int = 12) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, longest)))


def _scalar(rng: random.Random) -> Any:
    kind = rng.randrange(8)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-(2**70), 2**70)
    if kind == 3:
        return rng.choice([0.0, -0.0, 0.1, 1e16, 1e-7, 123456.789, 2.5e300, -1.5])
    if kind == 4:
        return rng.uniform(-1e6, 1e6)
    return _text(rng, 40)


def _value(rng: random.Random, depth: int) -> Any:
    if depth <= 0 or rng.random() < 0.5:
        return _scalar(rng)
    if rng.random() < 0.5:
        return [_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    return {_text(rng, 8): _value(rng, depth - 1) for _ in range(rng.randint(0, 5))}


def _event(rng: random.Random, index: int) -> dict[str, Any]:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        seconds=rng.randint(0, 10**8), microseconds=rng.choice([0, rng.randint(1, 999_999)])
    )
    payload = {_text(rng, 8): _value(rng, 4) for _ in range(rng.randint(0, 6))}
    if rng.random() < 0.5:
        payload["tool"] = _text(rng)

    def maybe() -> str | None:
        return None if rng.random() < 0.3 else _text(rng, 20)

    return {
        "seq": rng.choice([index, rng.randint(1, 2**62)]),
        "at": at,
        "actor_id": maybe(),
        "actor_name": _text(rng, 20),
        "kind": rng.choice(["request", "tool.finished", "approval.granted", _text(rng)]),
        "conversation_id": maybe(),
        "run_id": maybe(),
        "call_id": maybe(),
        "payload": payload,
        "prev_hash": sha256_hex(str(index)),
    }


def test_chain_text_is_canonical_json_byte_for_byte() -> None:
    rng = random.Random(20261125)
    for index in range(1, 5001):
        event = _event(rng, index)
        payload, payload_text = audit_log.normalise_payload(event["payload"])
        tool = audit_log.stored_tool(payload) if rng.random() < 0.8 else _text(rng)
        legacy = rng.random() < 0.25
        fields = {**event, "payload": payload, "tool": tool}
        spliced = audit_log.chain_text(
            seq=fields["seq"],
            at=event["at"].isoformat(),
            actor_id=fields["actor_id"],
            actor_name=fields["actor_name"],
            kind=fields["kind"],
            conversation_id=fields["conversation_id"],
            run_id=fields["run_id"],
            call_id=fields["call_id"],
            tool=tool,
            payload_text=payload_text,
            prev_hash=fields["prev_hash"],
            legacy=legacy,
        )
        hashed = {**fields, "at": event["at"].isoformat()}
        if legacy:  # events older than the audit key: their text has no tool
            del hashed["tool"]
        reference = canonical_json(hashed)
        assert spliced.encode("utf-8") == reference.encode("utf-8")
        assert sha256_hex(spliced) == chain_hash(**fields, legacy=legacy)


def test_chain_text_refuses_a_seq_that_would_encode_differently() -> None:
    with pytest.raises(TypeError):
        audit_log.chain_text(
            seq=True,
            at="2026-01-01T00:00:00+00:00",
            actor_id=None,
            actor_name="engine",
            kind="request",
            conversation_id=None,
            run_id=None,
            call_id=None,
            tool=None,
            payload_text="{}",
            prev_hash="0" * 64,
        )
