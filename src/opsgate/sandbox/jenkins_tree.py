"""Jenkins's `tree=` query filter (`jobs[name,builds[number]{0,5}]`), applied to JSON.

Used by `opsgate.sandbox.jenkins` on every `api/json` answer. Ranges follow Jenkins:
`{M,N}` keeps indices M..N-1, `{M,}` from M, `{,N}` up to N, `{N}` only index N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsgate.sandbox.jenkins_state import JenkinsRequestError


@dataclass(frozen=True)
class TreeField:
    """One requested field, its sub-tree (None: the whole value) and an optional list range."""

    children: dict[str, TreeField] | None
    start: int | None = None
    stop: int | None = None


def parse_tree(spec: str) -> dict[str, TreeField]:
    """Parse a tree spec; raises a 400 `JenkinsRequestError` when it is malformed."""
    fields, position = _parse_fields(spec, 0)
    if position != len(spec):
        raise JenkinsRequestError(400, f"Malformed tree expression at {position}: {spec[:200]!r}")
    return fields


def _parse_fields(spec: str, position: int) -> tuple[dict[str, TreeField], int]:
    fields: dict[str, TreeField] = {}
    while position < len(spec):
        end = position
        while end < len(spec) and spec[end] not in ",[]{}":
            end += 1
        name = spec[position:end].strip()
        if not name:
            raise JenkinsRequestError(400, f"Malformed tree expression at {position}")
        position = end
        children: dict[str, TreeField] | None = None
        start: int | None = None
        stop: int | None = None
        if position < len(spec) and spec[position] == "[":
            children, position = _parse_fields(spec, position + 1)
            if position >= len(spec) or spec[position] != "]":
                raise JenkinsRequestError(400, "Malformed tree expression: missing ']'")
            position += 1
        if position < len(spec) and spec[position] == "{":
            close = spec.find("}", position)
            if close < 0:
                raise JenkinsRequestError(400, "Malformed tree expression: missing '}'")
            start, stop = _parse_range(spec[position + 1 : close])
            position = close + 1
        fields[name] = TreeField(children, start, stop)
        if position < len(spec) and spec[position] == ",":
            position += 1
        elif position < len(spec) and spec[position] == "]":
            return fields, position
    return fields, position


def _parse_range(text: str) -> tuple[int | None, int | None]:
    try:
        if "," not in text:
            index = int(text)
            return index, index + 1
        low, high = text.split(",", 1)
        return (int(low) if low.strip() else None, int(high) if high.strip() else None)
    except ValueError as e:
        raise JenkinsRequestError(400, f"Malformed tree range: {text[:50]!r}") from e


def apply_tree(value: Any, fields: dict[str, TreeField]) -> Any:
    """Keep only the requested fields (plus `_class`, as Jenkins does) of a JSON value."""
    if isinstance(value, list):
        return [apply_tree(item, fields) for item in value]
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    if "_class" in value:
        kept["_class"] = value["_class"]
    for name, wanted in fields.items():
        if name not in value:
            continue
        item = value[name]
        if isinstance(item, list) and (wanted.start is not None or wanted.stop is not None):
            item = item[wanted.start : wanted.stop]
        kept[name] = item if wanted.children is None else apply_tree(item, wanted.children)
    return kept
