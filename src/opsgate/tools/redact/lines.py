"""Line rules: masking for text that is not a whole YAML/JSON document.

Called by `documents.redact_text` for output that does not parse (cut short by the output
cap, `kubectl describe`, logs, `env` and `kubectl set env --list` output, INI files) and for
multi-line strings inside documents. Fails closed: without a `kind` in sight, a `data:` block
is taken for a Secret's. Rules, each keeping the keys and hiding the values:

- a Secret's `data`/`stringData` block, in YAML or JSON (also on one line), whole;
- `key: value` and `"key": "value"` lines whose key names a secret, and the block scalar
  (`password: |`) that follows such a key;
- container env written over two lines (`- name: DB_PASSWORD` then `value: ...`);
- `kubectl describe configmap` data (`DB_PASSWORD:`, `----`, then the value's lines).

Kept: booleans, null, `kubectl describe secret`'s byte counts and describe's references
(`<set to the key 'password' in secret 'db'>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsgate.tools.redact import keys
from opsgate.tools.redact.masks import REDACTED, Mask, apply, is_masked

_YAML_PAIR = re.compile(r"""^(\s*(?:-\s+)?)(["']?([A-Za-z0-9_.-]+)["']?\s*:\s+)(\S.*?)\s*$""")
_JSON_PAIR = re.compile(r"""^(\s*)("([^"]+)"\s*:\s*)("(?:[^"\\]|\\.)*"|[0-9.eE+-]+)(\s*,?\s*)$""")
_SECRET_KIND = re.compile(r"""(?m)^\s*"?kind"?\s*:\s*"?Secret"?\s*,?\s*$""")
_ANY_KIND = re.compile(r"""(?m)^\s*"?kind"?\s*:""")
_INLINE_SECRET_DATA = re.compile(r'("(?:data|stringData)"\s*:\s*\{)([^{}]*)(\})')
_SECRET_KIND_INLINE = re.compile(r'"kind"\s*:\s*"Secret"')
_DATA_BLOCK_START = re.compile(r"""^(\s*)"?(data|stringData)"?\s*:\s*\{?\s*$""")
_BLOCK_SCALAR = re.compile(r"[|>][-+0-9]*")
_DESCRIBE_KEY = re.compile(r"^(\S[^:]*):$")
_DESCRIBE_RULE = "----"
_DESCRIBE_SECTION_END = re.compile(r"^(BinaryData|Events:)")


@dataclass
class _Block:
    """Lines masked whole until the indentation returns to `indent` (or the block ends)."""

    indent: int
    keep_keys: bool
    """Secret data: mask each line's value, keep its key. Block scalars: mask each line."""
    describe_key: str | None = None
    """A `kubectl describe` value of this key: ends at the next `KEY:` / `----` header instead."""


@dataclass
class _EnvName:
    """The last `name:` of a list item, waiting for its sibling `value:`."""

    column: int
    name: str


def redact_lines(text: str, mask: Mask) -> str:
    """Mask secrets line by line (see the module docstring)."""
    # kubectl sorts keys, so `data` precedes `kind`: output cut inside `data` shows no kind.
    in_secret = bool(_SECRET_KIND.search(text)) or not _ANY_KIND.search(text)
    lines = text.split("\n")
    if '"Secret"' in text:
        lines = [_inline_secret(line, mask) for line in lines]
    block: _Block | None = None
    env: _EnvName | None = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block is not None and _block_ends(block, lines, index, stripped, indent):
            block = None
        if block is not None:
            if _masked_in_block(block, line, stripped):
                lines[index] = _mask_line(line, mask, keep_key=block.keep_keys)
            continue
        if _starts_describe_value(lines, index):
            if keys.is_secret_key(stripped[:-1]):
                block = _Block(indent=0, keep_keys=False, describe_key=stripped[:-1])
            continue
        start = _DATA_BLOCK_START.match(line)
        if start and in_secret:
            block = _Block(indent=len(start.group(1)), keep_keys=True)
            continue
        lines[index], opens_block, env = _pair(line, mask, env)
        if opens_block:
            block = _Block(indent=indent, keep_keys=False)
    return "\n".join(lines)


def _masked_in_block(block: _Block, line: str, stripped: str) -> bool:
    if not stripped:
        return False
    if block.describe_key is not None:
        return line != _DESCRIBE_RULE and not keys.shown_text(stripped, block.describe_key)
    return True


def _block_ends(block: _Block, lines: list[str], index: int, stripped: str, indent: int) -> bool:
    if block.describe_key is not None:
        return _starts_describe_value(lines, index) or bool(_DESCRIBE_SECTION_END.match(stripped))
    if block.keep_keys and stripped in ("", "}", "},"):
        return True
    return bool(stripped) and indent <= block.indent


def _starts_describe_value(lines: list[str], index: int) -> bool:
    """`KEY:` followed by `----`: how `kubectl describe configmap` introduces each value."""
    return (
        index + 1 < len(lines)
        and lines[index + 1] == _DESCRIBE_RULE
        and bool(_DESCRIBE_KEY.match(lines[index]))
    )


def _mask_line(line: str, mask: Mask, *, keep_key: bool) -> str:
    if keep_key:
        json_pair = _JSON_PAIR.match(line)
        if json_pair:
            return f'{json_pair[1]}{json_pair[2]}"{_mask_quoted(json_pair[4], mask)}"{json_pair[5]}'
        yaml_pair = _YAML_PAIR.match(line)
        if yaml_pair and not _BLOCK_SCALAR.fullmatch(yaml_pair[4]):
            return f"{yaml_pair[1]}{yaml_pair[2]}{apply(mask, yaml_pair[4])}"
        if yaml_pair:
            return line
    if is_masked(line):
        return line
    return line[: len(line) - len(line.lstrip())] + mask(line.strip())


def _mask_quoted(value: str, mask: Mask) -> str:
    inner = value[1:-1] if value.startswith('"') and value.endswith('"') else value
    return apply(mask, inner)


def _pair(line: str, mask: Mask, env: _EnvName | None) -> tuple[str, bool, _EnvName | None]:
    """One line's `key: value` rule; returns the line, whether a secret block scalar opens,
    and the pending env `name:`."""
    json_pair = _JSON_PAIR.match(line)
    if json_pair:
        column = len(json_pair[1])
        key, value = json_pair[3], json_pair[4]
        env = _follow_env(env, column, key, value.strip('"'))
        if _hides(key, value, env, column):
            line = f'{json_pair[1]}{json_pair[2]}"{_mask_quoted(value, mask)}"{json_pair[5]}'
        return line, False, env
    yaml_pair = _YAML_PAIR.match(line)
    if not yaml_pair:
        return line, False, env
    column = len(yaml_pair[1])
    key, value = yaml_pair[3], yaml_pair[4]
    env = _follow_env(env, column, key, value.strip("\"'"))
    if _BLOCK_SCALAR.fullmatch(value):
        return line, keys.is_secret_key(key), env
    if _hides(key, value, env, column):
        line = f"{yaml_pair[1]}{yaml_pair[2]}{apply(mask, value)}"
    return line, False, env


def _follow_env(env: _EnvName | None, column: int, key: str, value: str) -> _EnvName | None:
    if key == "name":
        return _EnvName(column, value)
    if env is not None and column < env.column:
        return None
    return env


def _hides(key: str, value: str, env: _EnvName | None, column: int) -> bool:
    if key == "value" and env is not None and env.column == column:
        key = env.name  # container env: `value` holds what `name` says
    if not keys.is_secret_key(key) or keys.shown_text(value, key) or is_masked(value):
        return False
    if value.startswith(("{", "[")):
        return False  # a mapping or list opens here; its own lines are judged one by one
    # "token: expired, asking for a new one" is a log line; a password may hold spaces.
    return keys.is_password_key(key) or " " not in value.strip("\"'")


def _inline_secret(line: str, mask: Mask) -> str:
    """A one-line JSON Secret, e.g. a `last-applied-configuration` in output cut short."""
    if not _SECRET_KIND_INLINE.search(line):
        return line
    return _INLINE_SECRET_DATA.sub(
        lambda m: f'{m[1]}"{REDACTED}":"{apply(mask, m[2])}"{m[3]}', line
    )
