"""Redaction of secrets from tool output and argv, applied before anything leaves the tool layer.

Called by the command runner on every stdout/stderr and argv, and by tool families on text
they produce themselves (HTTP bodies). What is masked: values of Secret `data`/`stringData`
(YAML, JSON, lists, truncated output), kubeconfig credentials, values under secret-looking
keys (password, token, apiKey...), bearer tokens and `Authorization:` headers, passwords in
URLs, PEM private keys, JWTs, and `NAME=value` lines whose name looks secret (`env` output).
`kubectl describe secret` only shows byte counts, which are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import yaml

REDACTED = "**REDACTED**"

# The C loader when libyaml is present: same safe semantics, much faster on big `-o yaml` output.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SECRET_KEY_SUFFIXES = (
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "secretkey",
    "privatekey",
    "accesskey",
    "credentials",
    "keydata",
    "clientkey",
)


def is_secret_key(key: str) -> bool:
    """True for keys such as `password`, `DB_PASSWORD`, `apiKey`, `client-key-data`."""
    normalized = re.sub(r"[^a-z0-9]", "", key.lower())
    return normalized.endswith(_SECRET_KEY_SUFFIXES)


def _names_a_secret(mapping: dict[str, Any]) -> bool:
    name = mapping.get("name")
    return isinstance(name, str) and is_secret_key(name)


def _mask_mapping_values(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: REDACTED for key in mapping}


def redact_value(value: Any) -> Any:
    """Walk decoded JSON/YAML and mask secrets; returns a new value."""
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if not isinstance(value, dict):
        return value
    is_secret_object = value.get("kind") == "Secret"
    result: dict[str, Any] = {}
    for key, item in value.items():
        if is_secret_object and key in ("data", "stringData") and isinstance(item, dict):
            result[key] = _mask_mapping_values(item)
        elif isinstance(key, str) and is_secret_key(key) and isinstance(item, str | int | float):
            result[key] = REDACTED
        elif key == "value" and isinstance(item, str) and _names_a_secret(value):
            # Container env given inline: `{name: DB_PASSWORD, value: ...}`.
            result[key] = REDACTED
        elif str(key).endswith("last-applied-configuration") and isinstance(item, str) and item:
            # kubectl keeps the whole applied manifest (a Secret's data too) in this annotation.
            result[key] = _redact_embedded_json(item)
        else:
            result[key] = redact_value(item)
    return result


def _redact_embedded_json(text: str) -> str:
    try:
        decoded = json.loads(text)
    except ValueError:
        return REDACTED
    redacted = redact_value(decoded)
    return text if redacted == decoded else json.dumps(redacted, separators=(",", ":"))


_PEM_PRIVATE_KEY = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)(.*?)(-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_AUTHORIZATION = re.compile(r"(?im)^(\s*(?:proxy-)?authorization\s*[:=]\s*)(\S+\s+)?\S.*$")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(@)")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")
_ASSIGNMENT = re.compile(r"(?m)^(\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*)(\S.*)$")
_YAML_PAIR = re.compile(r"""^(\s*-?\s*["']?([A-Za-z0-9_.-]+)["']?\s*:\s+)(\S.*)$""")
_JSON_PAIR = re.compile(r"""^(\s*"([^"]+)"\s*:\s*)("(?:[^"\\]|\\.)*"|[0-9.eE+-]+)(\s*,?\s*)$""")
_SECRET_KIND = re.compile(r"""(?m)^\s*"?kind"?\s*:\s*"?Secret"?\s*,?\s*$""")
_ANY_KIND = re.compile(r"""(?m)^\s*"?kind"?\s*:""")
_INLINE_SECRET_DATA = re.compile(r'("(?:data|stringData)"\s*:\s*\{)[^{}]*(\})')
_BYTE_COUNT = re.compile(r"[0-9]+ bytes")
_BLOCK_START = re.compile(r"""^(\s*)"?(data|stringData)"?\s*:\s*\{?\s*$""")


def _redact_inline_secrets(text: str) -> str:
    """One-line JSON Secrets, e.g. a `last-applied-configuration` in output cut short."""
    if '"Secret"' not in text:
        return text
    return "\n".join(
        _INLINE_SECRET_DATA.sub(rf'\1"{REDACTED}":"{REDACTED}"\2', line)
        if re.search(r'"kind"\s*:\s*"Secret"', line)
        else line
        for line in text.split("\n")
    )


def _redact_patterns(text: str) -> str:
    text = _redact_inline_secrets(text)
    text = _PEM_PRIVATE_KEY.sub(lambda m: f"{m.group(1)}\n{REDACTED}\n{m.group(3)}", text)
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(2)}", text)
    text = _JWT.sub(REDACTED, text)
    return _ASSIGNMENT.sub(
        lambda m: f"{m.group(1)}{REDACTED}" if is_secret_key(m.group(2)) else m.group(0), text
    )


def _redact_lines(text: str) -> str:
    """Line-based masking for output that does not parse (truncated, or not YAML/JSON)."""
    # kubectl sorts keys, so `data` precedes `kind`: output cut inside `data` shows no kind.
    in_secret = bool(_SECRET_KIND.search(text)) or not _ANY_KIND.search(text)
    lines = text.split("\n")
    block_indent: int | None = None
    for index, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if line.strip() in ("", "}", "},") or indent <= block_indent:
                block_indent = None
            else:
                lines[index] = _mask_pair(line, force=True)
                continue
        start = _BLOCK_START.match(line)
        if start and in_secret:
            block_indent = len(start.group(1))
            continue
        lines[index] = _mask_pair(line, force=False)
    return "\n".join(lines)


def _mask_pair(line: str, *, force: bool) -> str:
    json_pair = _JSON_PAIR.match(line)
    if json_pair and (force or is_secret_key(json_pair.group(2))):
        return f'{json_pair.group(1)}"{REDACTED}"{json_pair.group(4)}'
    yaml_pair = _YAML_PAIR.match(line)
    if yaml_pair and (force or is_secret_key(yaml_pair.group(2))):
        value = yaml_pair.group(3).strip()
        # `kubectl describe secret` shows only sizes ("8 bytes"): nothing to hide.
        if value in ("|", ">", "|-", ">-", "{}", "[]") or _BYTE_COUNT.fullmatch(value):
            return line
        return f"{yaml_pair.group(1)}{REDACTED}"
    if force and line.strip():
        # A continuation of a multi-line value inside a Secret's data.
        return line[: len(line) - len(line.lstrip())] + REDACTED
    return line


def _redact_structured(text: str) -> str | None:
    """Parse as JSON, else YAML; return the re-encoded redacted text if anything changed."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            decoded = json.loads(text)
        except ValueError:
            return None
        redacted = redact_value(decoded)
        if redacted == decoded:
            return text
        return json.dumps(redacted, indent=4) + ("\n" if text.endswith("\n") else "")
    if ":" not in text:
        return None
    try:
        documents = list(yaml.load_all(text, Loader=_SAFE_LOADER))
    except yaml.YAMLError:
        return None
    if not any(isinstance(doc, dict | list) for doc in documents):
        return None
    redacted_docs = [redact_value(doc) for doc in documents]
    if redacted_docs == documents:
        return text
    return yaml.safe_dump_all(redacted_docs, sort_keys=False, default_flow_style=False)


def redact_text(text: str, *, truncated: bool = False) -> str:
    """Mask every secret this module knows how to find in `text`.

    Args:
        text: tool output.
        truncated: the text was cut short; a cut document can still parse (without the
            `kind` that marks it a Secret), so only the line rules, which fail closed, apply.
    """
    if not text:
        return text
    # `/proc/*/environ` and `xargs -0` style output separate entries with NUL, not newlines.
    text = text.replace("\x00", "\n")
    structured = None if truncated else _redact_structured(text)
    if structured is not None:
        return _redact_patterns(structured)
    return _redact_patterns(_redact_lines(text))


_SECRET_FLAGS = frozenset({"--token", "--password", "--client-key", "--username-password"})
_SET_FLAGS = frozenset({"--set", "--set-string", "--set-literal"})


def mask_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """The argv for display and audit: values of secret flags and `--set k=v` secrets masked."""
    masked: list[str] = []
    previous = ""
    for argument in argv:
        if previous in _SECRET_FLAGS:
            masked.append(REDACTED)
        elif previous in _SET_FLAGS:
            masked.append(_mask_assignments(argument))
        elif argument.startswith("--patch="):
            masked.append("--patch=" + _mask_patch(argument.removeprefix("--patch=")))
        elif "=" in argument and argument.split("=", 1)[0] in _SECRET_FLAGS:
            masked.append(f"{argument.split('=', 1)[0]}={REDACTED}")
        else:
            masked.append(_redact_patterns(argument))
        previous = argument
    return tuple(masked)


def _mask_patch(text: str) -> str:
    """A patch's `data`/`stringData` values: the patch does not say it targets a Secret."""
    try:
        body = json.loads(text)
    except ValueError:
        return _redact_patterns(text)
    if isinstance(body, dict) and "kind" not in body:
        body = redact_value({**body, "kind": "Secret"})
        del body["kind"]
    else:
        body = redact_value(body)
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def _mask_assignments(argument: str) -> str:
    pairs = []
    for pair in argument.split(","):
        key, sep, _value = pair.partition("=")
        pairs.append(f"{key}={REDACTED}" if sep and is_secret_key(key.split(".")[-1]) else pair)
    return ",".join(pairs)


def redact_jsonpath_output(text: str, *, resource: str, jsonpath: str) -> str:
    """`-o jsonpath` on Secrets prints bare values; mask all unless only metadata is read."""
    kind = resource.split("/", 1)[0].split(".", 1)[0]
    if kind not in ("secret", "secrets"):
        return text
    fields = re.findall(r"\.([A-Za-z]+)", jsonpath)
    reads_only_metadata = all(name in ("items", "metadata", "name", "namespace") for name in fields)
    if reads_only_metadata:
        return text
    return REDACTED
