"""The JSONPath subset CRD printer columns and selectable fields use.

Called by `http.tables` for `additionalPrinterColumns` (`.spec.replicas`,
`.status.conditions[?(@.type=="Ready")].status`, `.metadata.labels['app\\.kubernetes\\.io/name']`,
`.items[*].name`).
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_$-]+)"""
    r"""|\[(?P<index>-?\d+|\*)\]"""
    r"""|\[\?\(@\.(?P<key>[\w.-]+)\s*(?P<op>==|!=)\s*(?P<quote>['"]?)(?P<value>[^'"\)]*)(?P=quote)\)\]"""
    r"""|\[(?P<q>['"])(?P<name>(?:\\.|[^'"])*)(?P=q)\]"""
)


class JsonPathError(ValueError):
    """The expression is outside the supported subset."""


def _steps(expression: str) -> list[re.Match[str]]:
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    text = text.removeprefix("$")
    steps, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise JsonPathError(f"unsupported JSONPath {expression!r} at {text[pos:]!r}")
        steps.append(match)
        pos = match.end()
    return steps


def _field(node: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def find(obj: Any, expression: str) -> list[Any]:
    """Every value `expression` selects in `obj` (empty when the path is missing)."""
    current = [obj]
    for step in _steps(expression):
        found: list[Any] = []
        for node in current:
            if step.group("field") is not None or step.group("name") is not None:
                key = step.group("field") or step.group("name").replace("\\.", ".")
                if isinstance(node, dict) and key in node:
                    found.append(node[key])
            elif step.group("index") is not None:
                if not isinstance(node, list):
                    continue
                if step.group("index") == "*":
                    found.extend(node)
                else:
                    index = int(step.group("index"))
                    if -len(node) <= index < len(node):
                        found.append(node[index])
            else:
                if not isinstance(node, list):
                    continue
                wanted, negate = step.group("value"), step.group("op") == "!="
                for item in node:
                    value = _field(item, step.group("key"))
                    if (str(value) == wanted if value is not None else False) != negate:
                        found.append(item)
        current = found
    return current
