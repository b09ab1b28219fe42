"""Label and field selectors as the Kubernetes API parses them (`-l`, `--field-selector`).

Used by `api` for list, watch and deletecollection requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)([\w./-]+)\s*(?:(in|notin)\s*\((.*)\))?\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside `in (a,b)` parentheses."""
    terms, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def _label_term(term: str) -> Predicate:
    for op in ("!=", "==", "="):
        if op in term and "(" not in term:
            key, value = (part.strip() for part in term.split(op, 1))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    match = _SET_RE.match(term)
    if not match:
        raise ValueError(f"unable to parse requirement: {term!r}")
    negate, key, set_op, values = match.groups()
    if set_op:
        members = {v.strip() for v in values.split(",")}
        if set_op == "in":
            return lambda labels: labels.get(key) in members
        return lambda labels: labels.get(key) not in members
    if negate:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def label_selector(selector: str | None) -> Predicate:
    """A predicate over objects for a label selector string (empty matches everything)."""
    if not selector:
        return lambda obj: True
    preds = [_label_term(term) for term in _split_terms(selector)]

    def match(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(pred(labels) for pred in preds)

    return match


def match_labels(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """Whether `labels` satisfy a structured LabelSelector (matchLabels/matchExpressions)."""
    if not selector:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string value at a dotted field path (`spec.nodeName`), `""` when absent."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def field_selector(selector: str | None) -> Predicate:
    """A predicate for a field selector such as `status.phase!=Running,spec.nodeName=n1`."""
    if not selector:
        return lambda obj: True
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(selector):
        for op in ("!=", "==", "="):
            if op in term:
                key, value = term.split(op, 1)
                terms.append((key.strip(), op == "!=", value.strip()))
                break
        else:
            raise ValueError(f"invalid field selector term: {term!r}")

    def match(obj: dict[str, Any]) -> bool:
        for key, negate, value in terms:
            equal = field_value(obj, key) == value
            if equal == negate:
                return False
        return True

    return match
