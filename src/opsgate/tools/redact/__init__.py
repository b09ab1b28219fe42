"""Redaction of secrets, applied before anything leaves the tool layer or is shown or stored.

Called by the command runner on every stdout/stderr and argv, by tool families on text they
produce themselves (HTTP bodies, manifests they diff), and by the engine on every proposed
call's arguments. Secrets are found three ways:

- by structure: a Secret's `data`/`stringData`, and values under keys that name a secret
  (`keys`), in YAML and JSON (`documents`) and in text that is not a document (`lines`:
  output cut short, `kubectl describe`, env and INI files);
- by shape, anywhere (`patterns`): private keys, bearer tokens, URL passwords, AWS, GitHub,
  Slack and Stripe tokens, JWTs, `password=...` mid-line;
- by what was asked (`arguments`): argv flags, Helm `--set`, JSONPath answers.

Output gets `REDACTED`; arguments get `marker(value)`, a hash prefix that tells values apart.
Never hidden: booleans, null, numbers under keys that are not password-like, and the names and
references around secrets (`secretName`, `secretKeyRef`, `DB_PASSWORD_FILE`).
"""

from __future__ import annotations

from opsgate.tools.redact.arguments import mask_argv, redact_args, redact_jsonpath_output
from opsgate.tools.redact.documents import redact_text, redact_value
from opsgate.tools.redact.keys import is_secret_key
from opsgate.tools.redact.masks import REDACTED, keyed_marker, marker

__all__ = [
    "REDACTED",
    "is_secret_key",
    "keyed_marker",
    "marker",
    "mask_argv",
    "redact_args",
    "redact_jsonpath_output",
    "redact_text",
    "redact_value",
]
