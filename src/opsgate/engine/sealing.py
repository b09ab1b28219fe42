"""Proposed arguments as everyone sees and stores them, and as they run.

Every call the engine carries in a run's state holds `args`, the arguments as they are shown
and stored everywhere (stream, audit, tool-call records, approval cards, the model's history,
checkpoints): the proposal with every secret value replaced by a keyed marker
(`tools.redact.redact_args`); and `sealed`, the exact arguments encrypted under a key derived
from the server's secret key. Only the engine opens `sealed`: to validate and hash the call for
its approval, and to hand the tool the exact bytes that were approved. Used by `steps` and
`execution`; built once per engine from `EngineDeps.secret_key`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from opsgate.domain.canonical import canonical_json
from opsgate.errors import ConfigError, DecisionRefused
from opsgate.tools import redact
from opsgate.tools.redact.masks import Mask


class Held(Protocol):
    """A call as the run's state holds it (`state.ProposedCall`, `state.CheckpointedCall`)."""

    @property
    def call_id(self) -> str: ...
    @property
    def args(self) -> dict[str, Any]: ...
    @property
    def sealed(self) -> str | None: ...


def _derive(secret_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key)


@dataclass(frozen=True)
class Sealer:
    """Redacts arguments for display and seals the exact ones for the run."""

    fernet: Fernet
    mask: Mask

    @classmethod
    def from_key(cls, secret_key: bytes) -> Sealer:
        if len(secret_key) < 16:
            raise ConfigError("secret_key must be at least 16 bytes")
        sealing = _derive(secret_key, b"opsgate sealed arguments")
        markers = _derive(secret_key, b"opsgate argument markers")
        return cls(Fernet(base64.urlsafe_b64encode(sealing)), redact.keyed_marker(markers))

    def display(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """`args` as they may be shown and stored: secret values replaced by markers."""
        return redact.redact_args(tool, args, self.mask)

    def hold(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """The `args` / `sealed` pair a call carries in the run's state."""
        sealed = self.fernet.encrypt(canonical_json(args).encode("utf-8")).decode("ascii")
        return {"args": self.display(tool, args), "sealed": sealed}

    def open(self, call: Held) -> dict[str, Any]:
        """The exact arguments of a call held with `hold`.

        A call without `sealed` is from a run checkpointed before arguments were sealed; its
        `args` are then the exact ones (what runs must still match the approved hash).

        Raises:
            DecisionRefused: the sealed arguments were not sealed by this server (a state
                written elsewhere, or edited): nothing may run from them.
        """
        if call.sealed is None:
            return call.args
        try:
            opened: dict[str, Any] = json.loads(self.fernet.decrypt(call.sealed.encode("ascii")))
        except (InvalidToken, ValueError) as e:
            raise DecisionRefused(
                f"the sealed arguments of call {call.call_id!r} do not open"
            ) from e
        return opened
