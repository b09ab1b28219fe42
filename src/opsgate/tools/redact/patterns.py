"""Secrets found by their shape anywhere in a text: token formats and inline `key=value` pairs.

Called by `documents` on every text it redacts (after the structured or line rules) and on
single-line string values inside documents, and by `arguments` on argv elements. What is
masked: PEM private keys, `Authorization:` headers and bearer tokens, passwords in URLs, Slack
webhook URLs, AWS access key ids, GitHub, Slack and Stripe tokens, JWTs, `NAME=value` lines and
mid-line `password=...` whose key names a secret, JSON `"password": "..."` pairs (also escaped
inside another JSON string), and `token: <credential-looking value>` mid-line (at the start
of a line, `key: value` is the line and document rules' business).
"""

from __future__ import annotations

import re

from opsgate.tools.redact import keys
from opsgate.tools.redact.masks import Mask, apply, is_masked

_PEM_PRIVATE_KEY = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)(.*?)(-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_AUTHORIZATION = re.compile(r"(?im)^(\s*(?:proxy-)?authorization\s*[:=]\s*)(\S+\s+)?(\S.*)$")
_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{8,})")
_URL_PASSWORD = re.compile(r"""(://[^/\s:@"',]*:)([^@\s/"',]+)(@)""")
"""`scheme://user:password@host`; quotes and commas end it (`"containerd://…","image":"x@…"`)."""
_SLACK_WEBHOOK = re.compile(
    r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/)([\w/-]+)"
)
_TOKENS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,255}\b")),
    (("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}")),
    (("xox",), re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    (("_live_", "_test_"), re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}")),
    (("whsec_",), re.compile(r"\bwhsec_[A-Za-z0-9]{10,}")),
    (("eyJ",), re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")),
)
"""AWS access key ids, GitHub, Slack and Stripe tokens, and JWTs: secret whatever the key.
Each runs only when one of its literal prefixes occurs (a substring test costs ~nothing)."""

_INLINE_ENV = re.compile(
    r"""(name\\?["']?\s*:\s*\\?["']?)([A-Za-z_][A-Za-z0-9_.-]*)"""
    r"""(\\?["']?\s*,\s*\\?["']?value\\?["']?\s*:\s*)"""
    r"""(\\"[^"\\\n]*\\"|"[^"\n]*"|'[^'\n]*'|[^\s,}"'\\]+)"""
)
"""Container env on one line: `{"name":"DB_PASSWORD","value":"..."}` (also escaped inside a
JSON string, as in a `last-applied-configuration` cut short) or `{name: X, value: ...}`."""

_EQUALS = re.compile(r"=(?!=)")
_COLON = re.compile(r":")
_VALUE = re.compile(r"""\\"[^"\\\n]*\\"|"[^"\n]*"|'[^'\n]*'|[^\s"'\\,;&]+""")
_JSON_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_ESCAPED_JSON_STRING = re.compile(r'\\"([^"\\\n]*)\\"')
_COLON_VALUE = re.compile(r"""["']?([^\s"',;<(\\][^\s"',;\\]*)""")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def redact_patterns(text: str, mask: Mask) -> str:
    """Mask every secret recognisable by its shape or by the key written just before it."""
    if "PRIVATE KEY-----" in text:
        text = _PEM_PRIVATE_KEY.sub(lambda m: _pem(m, mask), text)
    lowered = text.lower()
    if "authorization" in lowered:
        text = _AUTHORIZATION.sub(lambda m: f"{m[1]}{m[2] or ''}{apply(mask, m[3])}", text)
    if "bearer" in lowered:
        text = _BEARER.sub(lambda m: f"{m[1]}{apply(mask, m[2])}", text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m[1]}{apply(mask, m[2])}{m[3]}", text)
        if "hooks.slack.com" in text:
            text = _SLACK_WEBHOOK.sub(lambda m: f"{m[1]}{apply(mask, m[2])}", text)
    for prefixes, pattern in _TOKENS:
        if any(prefix in text for prefix in prefixes):
            text = pattern.sub(lambda m: apply(mask, m[0]), text)
    if "value" in text:
        text = _INLINE_ENV.sub(lambda m: _inline_env(m, mask), text)
    if "=" in text:
        text = _assignments(text, mask)
    if ":" in text:
        text = _colon_pairs(text, mask)
    return text


def _key_before(text: str, end: int, floor: int) -> tuple[int, str]:
    """The `[A-Za-z_][A-Za-z0-9_.-]*` word ending at `end` (blanks skipped), and where it starts.

    A backward scan from the `=` or `:`: regular expressions that start with a character class
    try every position of the text, which costs far more than the few separators there are.
    """
    while end > floor and text[end - 1] in " \t":
        end -= 1
    start = end
    while start > floor and text[start - 1] in _KEY_CHARS:
        start -= 1
    while start < end and not (text[start].isalpha() or text[start] == "_"):
        start += 1  # `--password=`: the key starts at its first letter
    return start, text[start:end]


def _assignments(text: str, mask: Mask) -> str:
    """`NAME=value`: the rest of the line at the start of a line (env, INI), else one value."""
    pieces: list[str] = []
    done = 0
    for separator in _EQUALS.finditer(text):
        equals = separator.start()
        if equals < done:
            continue
        start, key = _key_before(text, equals, done)
        if not key or not keys.is_secret_key(key):
            continue
        position = equals + 1
        while position < len(text) and text[position] in " \t":
            position += 1
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].strip() in ("", "export"):
            end = text.find("\n", position)
            end = len(text) if end == -1 else end
        else:
            value = _VALUE.match(text, position)
            if value is None:
                continue
            end = value.end()
        masked = _assigned(text[position:end], key, mask)
        if masked is not None:
            pieces += [text[done:position], masked]
            done = end
    return "".join([*pieces, text[done:]]) if pieces else text


def _colon_pairs(text: str, mask: Mask) -> str:
    """JSON `"key": "value"` (also escaped inside a JSON string) and mid-line `key: value`."""
    pieces: list[str] = []
    done = 0
    for separator in _COLON.finditer(text):
        colon = separator.start()
        if colon < done:
            continue
        found = _colon_pair(text, colon, done, mask)
        if found is not None:
            start, end, masked = found
            pieces += [text[done:start], masked]
            done = end
    return "".join([*pieces, text[done:]]) if pieces else text


def _colon_pair(text: str, colon: int, floor: int, mask: Mask) -> tuple[int, int, str] | None:
    """The value after `colon` to replace, as (start, end, replacement), or None."""
    escaped = text.startswith('\\"', colon - 2)
    quoted = escaped or text.startswith('"', colon - 1)
    key_end = colon - (2 if escaped else 1 if quoted else 0)
    if quoted:
        opening = text.rfind('"', max(floor, key_end - 129), key_end)
        if opening == -1:
            return None
        key = text[opening + 1 : key_end].rstrip("\\")
        if not key or "\\" in key or '"' in key or not keys.is_secret_key(key):
            return None
        position = colon + 1
        while position < len(text) and text[position] in " \t":
            position += 1
        string = (_ESCAPED_JSON_STRING if escaped else _JSON_STRING).match(text, position)
        if string is None:
            return None
        value = string[1]
        if keys.shown_text(value, key) or is_masked(value):
            return None
        quote = '\\"' if escaped else '"'
        return string.start(), string.end(), f"{quote}{mask(value)}{quote}"
    if not text.startswith((" ", "\t"), colon + 1):
        return None
    start, key = _key_before(text, colon, floor)
    line_start = text.rfind("\n", 0, start) + 1
    if not key or not text[line_start:start].strip():
        return None  # at the start of a line, `key: value` is the line and document rules' job
    if not keys.is_secret_key(key):
        return None
    position = colon + 1
    while position < len(text) and text[position] in " \t":
        position += 1
    found = _COLON_VALUE.match(text, position)
    if found is None:
        return None
    value = found[1]
    if keys.shown_text(value, key) or is_masked(value):
        return None
    if not (keys.is_password_key(key) or _looks_like_a_credential(value)):
        return None  # "token: expired" is a message, not a token
    return found.start(1), found.end(1), mask(value)


def _assigned(value: str, key: str, mask: Mask) -> str | None:
    """What replaces the `value` assigned to secret `key` (quotes kept), or None to keep it."""
    if keys.shown_text(value, key) or is_masked(value):
        return None
    for quote in ('\\"', '"', "'"):
        if len(value) > 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return f"{quote}{mask(value[len(quote) : -len(quote)])}{quote}"
    return mask(value)


def _inline_env(match: re.Match[str], mask: Mask) -> str:
    name = match[2]
    masked = _assigned(match[4], name, mask) if keys.is_secret_key(name) else None
    return match[0] if masked is None else f"{match[1]}{name}{match[3]}{masked}"


def _pem(match: re.Match[str], mask: Mask) -> str:
    body = match[2]
    if is_masked(body):
        return match[0]
    # Inside a JSON string the key's lines are joined by escaped newlines; keep the string valid.
    newline = "\\n" if "\\n" in body and "\n" not in body else "\n"
    return f"{match[1]}{newline}{apply(mask, body)}{newline}{match[3]}"


def _looks_like_a_credential(value: str) -> bool:
    if len(value) >= 16:
        return True
    has_digit = any(char.isdigit() for char in value)
    return len(value) >= 8 and has_digit and any(char.isalpha() for char in value)
