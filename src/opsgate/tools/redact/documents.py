"""Redaction of whole texts: YAML and JSON walked as data, everything else line by line.

`redact_text` is what the runner applies to every stdout/stderr (and tool families to text they
produce themselves); `redact_value` walks decoded JSON/YAML (Jenkins replies, arguments). In a
document, what is masked: the values of a Secret's `data`/`stringData`; values under keys that
name a secret (`keys.is_secret_key`), whatever the kind (ConfigMap data, Helm values, kubeconfig
credentials); container env `{name: DB_PASSWORD, value: ...}`; the applied manifest kept in
`last-applied-configuration`; and, inside every string value, what the line and pattern rules
find (an INI file in a ConfigMap, a token in a message).

YAML is never re-serialised: the secret scalars are located in the parsed node tree and
replaced in place (as double-quoted strings), so the rest of the text, comments and layout
included, comes back byte for byte and the result still parses. Cheaper, too: composing the
node tree costs about half of loading, and re-dumping YAML cost more than both.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from opsgate.tools.redact import keys, lines, patterns
from opsgate.tools.redact.masks import Mask, apply, hide, is_masked

# The C parser when libyaml is present: same safe semantics, much faster on big `-o yaml` output.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"

_MAY_HOLD_SECRET = re.compile(
    r"=|://|: |\":|PRIVATE KEY|eyJ|AKIA|ASIA|gh[pousr]_|github_pat_|xox|_live_|_test_|whsec_"
    r"|(?i:bearer|authorization)"
)
"""A cheap test before the pattern rules run on one string value: nothing they find lacks it."""


def redact_text(text: str, *, truncated: bool = False, mask: Mask = hide) -> str:
    """Mask every secret this package knows how to find in `text`.

    Args:
        text: tool output (or a document proposed as an argument).
        truncated: the text was cut short; a cut document can still parse (without the
            `kind` that marks it a Secret), so only the line rules, which fail closed, apply.
        mask: what replaces each secret (`hide` for output, `masks.marker` for arguments).
    """
    if not text:
        return text
    # `/proc/*/environ` and `xargs -0` style output separate entries with NUL, not newlines.
    text = text.replace("\x00", "\n")
    structured = None if truncated else _redact_structured(text, mask)
    if structured is None:
        structured = lines.redact_lines(text, mask)
    return patterns.redact_patterns(structured, mask)


def redact_value(value: Any, mask: Mask = hide) -> Any:
    """Walk decoded JSON/YAML and mask secrets; returns a new value (unchanged parts equal)."""
    if isinstance(value, str):
        return redact_string(value, mask)
    if isinstance(value, list):
        return [redact_value(item, mask) for item in value]
    if not isinstance(value, dict):
        return value
    secret_object = value.get("kind") == "Secret"
    env_name = value.get("name")
    result: dict[Any, Any] = {}
    for key, item in value.items():
        judged = _judged_key(key, env_name) if _is_scalar(item) else None
        if not isinstance(key, str):
            result[key] = redact_value(item, mask)
        elif secret_object and key in ("data", "stringData") and isinstance(item, dict):
            result[key] = {name: _mask_all(data, mask) for name, data in item.items()}
        elif judged is not None:
            keep = keys.shown_scalar(item, judged) or (isinstance(item, str) and is_masked(item))
            result[key] = item if keep else mask(str(item))
        elif _is_applied_manifest(key) and isinstance(item, str) and item:
            result[key] = _redact_embedded_json(item, mask)
        else:
            result[key] = redact_value(item, mask)
    return result


def redact_string(text: str, mask: Mask = hide) -> str:
    """One string value: a whole text when it holds several lines or a document, else patterns."""
    if "\n" in text.strip() or text.lstrip().startswith(("{", "[")):
        return redact_text(text, mask=mask)
    if not _MAY_HOLD_SECRET.search(text):
        return text
    return patterns.redact_patterns(text, mask)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float)


def _judged_key(key: object, env_name: object) -> str | None:
    """The key whose name decides whether a scalar is secret, or None when it is not.

    Container env written inline, `{name: DB_PASSWORD, value: ...}`: the `value` is judged by
    the `name` beside it.
    """
    if not isinstance(key, str):
        return None
    if key == "value" and isinstance(env_name, str) and keys.is_secret_key(env_name):
        return env_name
    return key if keys.is_secret_key(key) else None


def _is_applied_manifest(key: str) -> bool:
    # kubectl keeps the whole applied manifest (a Secret's data too) in this annotation.
    return key.endswith("last-applied-configuration")


def _mask_all(value: Any, mask: Mask) -> Any:
    if isinstance(value, dict):
        return {key: _mask_all(item, mask) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_all(item, mask) for item in value]
    if value is None or (isinstance(value, str) and is_masked(value)):
        return value
    return mask(str(value))


def _redact_embedded_json(text: str, mask: Mask) -> str:
    try:
        decoded = json.loads(text)
    except ValueError:
        return apply(mask, text)  # unreadable, so nothing in it can be shown safely
    redacted = redact_value(decoded, mask)
    return text if redacted == decoded else _dump_json_like(redacted, text)


def _redact_structured(text: str, mask: Mask) -> str | None:
    """The redacted document, or None when `text` is not a YAML/JSON object or list."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            decoded = json.loads(text)
        except ValueError:
            return None
        redacted = redact_value(decoded, mask)
        if redacted == decoded:
            return text
        return _dump_json_like(redacted, text)
    if "\n" not in text.strip():
        return None  # one line (a log line, a message) is text, not a document
    if ":" not in text and "- " not in text:
        return None
    try:
        documents = list(yaml.compose_all(text, Loader=_SAFE_LOADER))
    except yaml.YAMLError:
        return None
    collections = (yaml.MappingNode, yaml.SequenceNode)
    if not any(isinstance(document, collections) for document in documents):
        return None
    edits: dict[int, tuple[int, str]] = {}
    for document in documents:
        if document is not None:
            _walk(document, text, mask, edits)
    return _apply_edits(text, edits)


def _dump_json_like(value: Any, original: str) -> str:
    """JSON laid out as `original` was: kubectl's `-o json` indent, or one compact line."""
    if "\n" in original.strip():
        dumped = json.dumps(value, indent=4, ensure_ascii=False)
    elif '": ' in original or '", ' in original:
        dumped = json.dumps(value, ensure_ascii=False)
    else:
        dumped = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return dumped + ("\n" if original.endswith("\n") else "")


_Edits = dict[int, tuple[int, str]]
"""Start offset of a scalar -> (its end offset, the text that replaces it)."""


def _walk(node: yaml.Node, text: str, mask: Mask, edits: _Edits) -> None:
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _walk(item, text, mask, edits)
    elif isinstance(node, yaml.MappingNode):
        _walk_mapping(node, text, mask, edits)
    elif isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "str":
        redacted = redact_string(node.value, mask)
        if redacted != node.value:
            _replace(node, redacted, text, edits)


def _walk_mapping(node: yaml.MappingNode, text: str, mask: Mask, edits: _Edits) -> None:
    by_key = {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}
    kind, name = by_key.get("kind"), by_key.get("name")
    secret_object = isinstance(kind, yaml.ScalarNode) and kind.value == "Secret"
    env_name = _string(name)
    for key_node, value in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        scalar = isinstance(value, yaml.ScalarNode)
        judged = _judged_key(key, env_name) if scalar else None
        if not isinstance(key, str):
            _walk(value, text, mask, edits)
        elif secret_object and key in ("data", "stringData"):
            _mask_nodes(value, text, mask, edits)
        elif judged is not None:
            if not (keys.shown_scalar(_typed(value), judged) or is_masked(value.value)):
                _replace(value, mask(value.value), text, edits)
        elif _is_applied_manifest(key) and isinstance(value, yaml.ScalarNode) and value.value:
            redacted = _redact_embedded_json(value.value, mask)
            if redacted != value.value:
                _replace(value, redacted, text, edits)
        else:
            _walk(value, text, mask, edits)


def _string(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "str":
        return str(node.value)
    return None


def _mask_nodes(node: yaml.Node, text: str, mask: Mask, edits: _Edits) -> None:
    """Every scalar under `node` (a Secret's data), keys kept."""
    if isinstance(node, yaml.MappingNode):
        for _key, value in node.value:
            _mask_nodes(value, text, mask, edits)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _mask_nodes(item, text, mask, edits)
    elif _maskable(node):
        _replace(node, mask(node.value), text, edits)


def _maskable(node: yaml.Node) -> bool:
    """A scalar with something to hide: not null, and not masked already by an earlier pass."""
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag != _TAG + "null"
        and not is_masked(node.value)
    )


def _typed(node: yaml.ScalarNode) -> object:
    """Enough of the scalar's type for `keys.shown_scalar`: bool, null and number tags."""
    tag = node.tag.removeprefix(_TAG)
    if tag == "bool":
        return True
    if tag == "null":
        return None
    if tag in ("int", "float"):
        return 0
    return node.value


def _replace(node: yaml.Node, value: str, text: str, edits: _Edits) -> None:
    start, end = node.start_mark.index, node.end_mark.index
    original = text[start:end]
    # A block scalar's span ends with its line breaks; the replacement must keep them.
    tail = original[len(original.rstrip("\n")) :]
    edits[start] = (end, json.dumps(value, ensure_ascii=False) + tail)


def _apply_edits(text: str, edits: _Edits) -> str:
    if not edits:
        return text
    pieces: list[str] = []
    position = 0
    for start in sorted(edits):
        end, replacement = edits[start]
        if start < position:
            continue  # an alias repeats a node already replaced
        pieces += [text[position:start], replacement]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
