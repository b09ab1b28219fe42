"""kubectl's printers, byte for byte: server-side Tables, `-o name`, `-o json`, `-o yaml`.

Called by `native.get`. A Table prints as kubectl's `tablePrinter` through Go's `tabwriter`
(minimum width 6, padding 3, the last column unpadded): upper-cased headers, priority-0
columns (all with `wide`), a NAMESPACE column first across namespaces. JSON is Go's
`MarshalIndent` (sorted keys, four spaces, `<`, `>`, `&` escaped); YAML is sigs.k8s.io/yaml
(go-yaml v2: sorted keys, unindented sequences, literal blocks for multi-line strings). A
value these cannot print as kubectl does (a float, a control character in a cell) raises
`NotNative`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml

from opsgate.errors import NotNative

_MIN_WIDTH = 6
_PADDING = 3
_BREAKS = "\f\n\r"


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        cut = min((value.index(c) for c in _BREAKS if c in value), default=-1)
        text = value if cut < 0 else value[:cut] + "..."
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text.replace("\t", "")) or "\t" in text:
            raise NotNative("a table cell holds a control character")
        return text
    raise NotNative(f"a table cell holds a {type(value).__name__}")


def tabwriter(rows: Sequence[Sequence[str]]) -> str:
    """Rows aligned as Go's tabwriter aligns tab-separated cells (the last one unpadded)."""
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    widths = [
        max([_MIN_WIDTH, *(len(row[i]) + _PADDING for row in rows if i < len(row) - 1)])
        for i in range(columns)
    ]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + row[-1] + "\n")
    return "".join(lines)


def table(document: dict[str, Any], *, wide: bool, with_namespace: bool) -> str:
    """What `kubectl get` prints for a `meta.k8s.io/v1` Table (no rows: the empty string)."""
    definitions = document.get("columnDefinitions") or []
    shown = [i for i, c in enumerate(definitions) if wide or int(c.get("priority") or 0) == 0]
    header = [str(definitions[i].get("name", "")).upper() for i in shown]
    rows: list[list[str]] = []
    for row in document.get("rows") or []:
        cells = row.get("cells") or []
        if len(cells) < len(definitions):
            raise NotNative("a table row has fewer cells than columns")
        line = [_cell_text(cells[i]) for i in shown]
        if with_namespace:
            meta = (row.get("object") or {}).get("metadata") or {}
            line.insert(0, str(meta.get("namespace") or ""))
        rows.append(line)
    if not rows:
        return ""
    if with_namespace:
        header.insert(0, "NAMESPACE")
    return tabwriter([header, *rows])


def name_lines(objects: Sequence[dict[str, Any]], kind: str, group: str) -> str:
    """`-o name`: `kind.group/name` per object (`pod/web` in the core group)."""
    prefix = f"{kind.lower()}.{group}" if group else kind.lower()
    return "".join(f"{prefix}/{obj['metadata']['name']}\n" for obj in objects)


def _check_no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise NotNative("the object holds a float, which Go formats differently")
    if isinstance(value, dict):
        for item in value.values():
            _check_no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _check_no_floats(item)


def as_list(items: Sequence[dict[str, Any]], api_version: str, kind: str) -> dict[str, Any]:
    """The `List` kubectl prints for several objects, each with its apiVersion and kind."""
    shown = [{"apiVersion": api_version, "kind": kind, **item} for item in items]
    return {"apiVersion": "v1", "items": shown, "kind": "List", "metadata": {"resourceVersion": ""}}


def json_text(value: Any) -> str:
    """Go's `json.MarshalIndent(value, "", "    ")` plus a newline."""
    _check_no_floats(value)
    text = json.dumps(value, indent=4, sort_keys=True, ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"


class _GoYamlDumper(yaml.SafeDumper):
    """PyYAML set to write what go-yaml v2 writes for the same JSON value (both fold long
    plain and single-quoted strings at the first space past column 80)."""


_STR = "tag:yaml.org,2002:str"


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar(_STR, value, style="|")
    resolved = dumper.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if resolved in _OTHER_TYPES:
        # go-yaml double-quotes a string that would read back as another type ("250",
        # "True", a timestamp) and leaves the rest to the emitter (plain, else single quotes).
        if len(value) > _FOLD_SAFE:
            raise NotNative("a long double-quoted string, which the YAML writers fold apart")
        return dumper.represent_scalar(_STR, value, style='"')
    if resolved not in (_STR, "tag:yaml.org,2002:yaml"):
        raise NotNative(f"a string PyYAML reads as {resolved!r}")
    return dumper.represent_str(value)


_OTHER_TYPES = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "null", "timestamp")
)
_FOLD_SAFE = 60


_GoYamlDumper.add_representer(str, _string)


def yaml_text(value: Any) -> str:
    """sigs.k8s.io/yaml's rendering of `value` (as `kubectl get -o yaml` prints it)."""
    _check_no_floats(value)
    _check_yaml_strings(value)
    text: str = yaml.dump(value, Dumper=_GoYamlDumper, sort_keys=True, allow_unicode=True, width=80)
    return text


def _check_yaml_strings(value: Any) -> None:
    # Strings PyYAML and go-yaml write differently: leave them to kubectl.
    if isinstance(value, str):
        if value in _YAML11_ONLY_BOOLS:
            raise NotNative(f"the string {value!r}, which go-yaml quotes and PyYAML does not")
        if "\n" in value and (value.endswith("\n\n") or value.startswith((" ", "\n"))):
            raise NotNative("a multi-line string go-yaml writes differently")
        if "\n" in value and any(line != line.rstrip(" \t") for line in value.split("\n")):
            raise NotNative("a multi-line string with trailing spaces")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_yaml_strings(key)
            _check_yaml_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_yaml_strings(item)


_YAML11_ONLY_BOOLS = frozenset({"y", "Y", "n", "N"})
