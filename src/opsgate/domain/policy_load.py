"""Reading an approval policy from YAML text, refusing it with the line of what is wrong.

Called by `opsgate policy check`, by the engine's policy source (the settings' file and the
versions admins save) and by the API's validate and save routes. A file is refused whole:
a value that would loosen the gate (`approvals: 0`, `requester_excluded: false`, a key such
as `exempt`), an unknown key, a duplicate key or a bad value names its line; nothing of a
refused file is used.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from opsgate.domain.policy import Policy
from opsgate.errors import PolicyError

Path = tuple[str | int, ...]

LOOSENING_KEYS = frozenset(
    {"exempt", "allow", "skip", "bypass", "auto_approve", "no_approval", "unless", "except"}
)
"""Keys people reach for to let something through: refused with the reason, not as typos."""

_LOOSENING = "rules can only add requirements to the gate, never exempt a call from approval"


def load_policy(text: str) -> Policy:
    """The policy in `text` (empty text: no rules); `PolicyError` names the offending line."""
    loader: yaml.SafeLoader | None = None
    try:
        # The reader checks the characters as it is built: a bad one raises already here.
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return Policy()
        lines: dict[Path, int] = {}
        data = _plain(loader, node, (), lines, set())
    except yaml.YAMLError as e:
        raise PolicyError(f"not valid YAML: {_problem(e)}", _error_line(e, text)) from e
    except RecursionError as e:
        raise PolicyError("nested too deeply to be a policy") from e
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise PolicyError("a policy is a mapping with a `rules` list", node.start_mark.line + 1)
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        error = e.errors()[0]
        where: Path = tuple(error["loc"])
        message = _message(where, error["msg"], error["input"])
        raise PolicyError(message, _line(lines, where)) from e


def _problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.reader.ReaderError):
        return f"unacceptable character #x{error.character:04x}"
    return str(getattr(error, "problem", None) or "cannot be parsed")


def _error_line(error: yaml.YAMLError, text: str) -> int | None:
    if isinstance(error, yaml.reader.ReaderError):
        return text[: error.position].count("\n") + 1
    mark = getattr(error, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def _plain(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int], seen: set[int]
) -> Any:
    """The node as plain data, each path's line noted; duplicate and loosening keys refused,
    and aliases too (a value in two places hides what a rule says, and nested aliases grow
    without bound)."""
    lines.setdefault(path, node.start_mark.line + 1)  # a key's own line when it has one
    if id(node) in seen:
        raise PolicyError("anchors and aliases are not allowed; write each value out", lines[path])
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise PolicyError("keys must be plain words", line)
            if key in mapping:
                raise PolicyError(f"{key!r} is given twice", line)
            if key in LOOSENING_KEYS:
                raise PolicyError(f"{key!r} is not allowed: {_LOOSENING}", line)
            lines[(*path, key)] = line
            mapping[key] = _plain(loader, value_node, (*path, key), lines, seen)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_plain(loader, item, (*path, i), lines, seen) for i, item in enumerate(node.value)]
    if node.tag.endswith((":timestamp", ":int", ":float")) and ":" in str(node.value):
        # YAML 1.1 reads `16:00` as the number 960; times of day stay text for pydantic.
        return node.value
    return loader.construct_object(node, deep=True)


def _line(lines: dict[Path, int], where: Path) -> int | None:
    while where:
        if where in lines:
            return lines[where]
        where = where[:-1]
    return lines.get(())


def _message(where: Path, msg: str, value: object) -> str:
    field = ".".join(str(part) for part in where)
    if where and where[-1] == "approvals":
        return f"{field}: must be at least 1 ({_LOOSENING}); got {value!r}"
    if where and where[-1] in ("requester_excluded", "reason") and value is False:
        return f"{field}: can only be true ({_LOOSENING}); leave it out instead"
    if msg.startswith("Extra inputs"):
        return f"{field}: unknown key"
    return f"{field}: {msg.removeprefix('Value error, ')}"
