"""The key-name rules of redaction: which keys name a secret, and which values never are one.

Used by every rule of the package (documents, lines, patterns, arguments). A key is split into
words (`DB_PASSWORD`, `secretKeyBase`, `client-key-data`, `spring.datasource.password`) and judged
by its last words, so `DB_PASSWORD` names a secret while `DB_PASSWORD_FILE`, `secretName`,
`secretKeyRef`, `passwordSecretRef` and `tokenExpirationSeconds` name a path, a reference or a
duration. Values are judged apart: booleans, null and empty values are never hidden, numbers
only under a password-like key (a numeric password is still a password; a count is not).
"""

from __future__ import annotations

import functools
import re

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

_SECRET_WORDS = frozenset(
    {"password", "passwd", "pass", "passphrase", "secret", "token", "credential", "credentials"}
    | {"creds", "apikey", "dsn", "auth", "webhook"}
)
"""A key whose last word is one of these names a secret (`DB_PASSWORD`, `GITHUB_TOKEN`)."""

_QUALIFIED_WORDS = frozenset({"pat", "pwd"})
"""Secret only after another word: `GITHUB_PAT`, `DB_PWD`, but not the shell's own `PWD`."""

_GLUED_SUFFIXES = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "secretkey",
    "privatekey",
    "accesskey",
    "clientkey",
    "credentials",
)
"""Words run together without separators: `dbpassword`, `authtoken`, `clientsecret`."""

_PLAIN_KEY_QUALIFIERS = frozenset(
    {"public", "topology", "sort", "partition", "primary", "foreign", "routing", "cache"}
    | {"label", "group", "node", "hash", "shard", "lookup", "match", "object", "idempotency"}
    | {"annotation", "map", "config", "field", "metric", "index", "row", "column", "unique"}
    | {"dedup", "correlation", "trace", "request", "s3", "sharding", "cluster", "join"}
)
"""`X_KEY` is a secret (`STRIPE_KEY`, `API_KEY`, `tls.key`) unless X says it is an identifier."""

_REFERENCE_QUALIFIERS = frozenset({"tls", "pull"})
"""`tlsSecret`, `imagePullSecret`: the name of a Secret, not its content."""

_COMPOUND_ENDINGS = (
    ("key", "data"),
    ("key", "base"),
    ("webhook", "url"),
    ("connection", "string"),
)
"""Two-word endings that still name the secret: `client-key-data`, `secret_key_base`."""

_NOT_SECRET = frozenset({"automountserviceaccounttoken", "serviceaccounttoken"})
"""Schema fields whose names end in a secret word: a boolean and a projected-volume source."""

_PASSWORD_WORDS = frozenset({"password", "passwd", "pass", "passphrase", "pwd"})

_NEVER_SECRET_TEXT = frozenset({"", "true", "false", "null", "~", "<none>"})
"""Values shown whatever their key says (lowercased): booleans, null, empty, kubectl's `<none>`."""

_DESCRIBED = re.compile(
    r"<set to the key '[^']*' (in secret|of config map) '[^']*'>.*|[0-9]+ bytes"
)
"""What `kubectl describe` prints instead of a value: where it comes from, or its size."""

_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _words(key: str) -> list[str]:
    """`secretKeyBase` -> [secret, key, base]; `DB_PASSWORD` -> [db, password]."""
    return [word.lower() for word in _WORD.findall(key)]


@functools.lru_cache(maxsize=8192)
def is_secret_key(key: str) -> bool:
    """True for keys such as `password`, `DB_PASSWORD`, `apiKey`, `client-key-data`, `GITHUB_PAT`.

    False for the names, references, paths and durations around secrets: `secretName`,
    `secretKeyRef`, `existingSecret`, `DB_PASSWORD_FILE`, `tokenExpirationSeconds`.
    """
    parts = _words(key)
    if not parts or _words(re.split(r"[./]", key)[-1])[:1] == ["existing"]:
        return False  # `existingSecret`, `auth.existingSecretPasswordKey`: a Secret's name
    if "".join(parts) in _NOT_SECRET:
        return False
    for first, second in _COMPOUND_ENDINGS:
        if len(parts) >= 2 and parts[-2] == first and parts[-1] == second:
            parts = parts[:-1]
            break
    last = parts[-1]
    previous = parts[-2] if len(parts) >= 2 else None
    if last == "secret" and previous in _REFERENCE_QUALIFIERS:
        return False
    if last in _SECRET_WORDS:
        return True
    if last in _QUALIFIED_WORDS:
        return previous is not None
    if last == "key":
        return previous is not None and previous not in _PLAIN_KEY_QUALIFIERS
    return last.endswith(_GLUED_SUFFIXES)


@functools.lru_cache(maxsize=4096)
def is_password_key(key: str) -> bool:
    """A secret key whose values may be plain numbers (`password`, `DB_PASS`, `db_pwd`)."""
    parts = _words(key)
    return (
        bool(parts)
        and is_secret_key(key)
        and (parts[-1] in _PASSWORD_WORDS or parts[-1].endswith(("password", "passwd")))
    )


def shown_text(value: str, key: str) -> bool:
    """Whether a value written as text under secret key `key` stays visible.

    Booleans, null, empty values and what `kubectl describe` shows instead of a value always
    do; a bare number does unless `key` is password-like.
    """
    text = value.strip().strip("\"'")
    if text.lower() in _NEVER_SECRET_TEXT or _DESCRIBED.fullmatch(text):
        return True
    return bool(_NUMBER.fullmatch(text)) and not is_password_key(key)


def shown_scalar(value: object, key: str) -> bool:
    """Whether a decoded scalar under secret key `key` stays visible (see `shown_text`)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return not is_password_key(key)
    if isinstance(value, str):
        return shown_text(value, key)
    return True
