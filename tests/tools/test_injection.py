"""The injection corpus, applied to every string parameter of every tool of every family.

Flag injection, shell metacharacters, newlines and NUL, path traversal and unicode look-alikes
must each be refused by the parameter model, with an error naming the parameter, so that
nothing reaches an argv. New families are covered as soon as the registry lists them.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from opsgate.errors import InvalidInput
from opsgate.tools import registry, validate
from opsgate.tools.base import Tool

CORPUS = [
    "-x",
    "--kubeconfig=/etc/x",
    "a; id",
    "a|id",
    "a && id",
    "$(id)",
    "${HOME}",
    "`id`",
    "a\nb",
    "a\rb",
    "a\x00b",
    "../../etc/passwd",
    "w\u0435b",  # Cyrillic "е"
    "\uff0dx",  # fullwidth hyphen-minus
    "a > /tmp/x",
]

TOOLS = registry.all_tools()


def _options(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return list(prop.get("anyOf", [prop]))


def _is_string(schema: dict[str, Any]) -> bool:
    return any(option.get("type") == "string" for option in _options(schema))


def string_slots(tool: Tool) -> list[tuple[str, str]]:
    """(parameter, shape) for every place a string goes: plain, list item, map key or value."""
    slots: list[tuple[str, str]] = []
    properties = tool.input_schema().get("properties", {})
    for name, prop in properties.items():
        for option in _options(prop):
            kind = option.get("type")
            if kind == "string":
                slots.append((name, "plain"))
            elif kind == "array" and _is_string(option.get("items", {})):
                slots.append((name, "item"))
            elif kind == "object" and "additionalProperties" in option:
                slots.append((name, "key"))
                if _is_string(option["additionalProperties"]):
                    slots.append((name, "value"))
    return slots


def _shaped(shape: str, value: str) -> Any:
    return {
        "plain": value,
        "item": [value],
        "key": {value: "v"},
        "value": {"k": value},
    }[shape]


SLOTS = [
    pytest.param(name, parameter, shape, id=f"{name}.{parameter}[{shape}]")
    for name, tool in sorted(TOOLS.items())
    for parameter, shape in string_slots(tool)
]


def test_the_corpus_reaches_many_parameters() -> None:
    assert len(SLOTS) > 60
    assert {"k8s_get", "k8s_exec", "k8s_apply"} <= {slot.values[0] for slot in SLOTS}


@pytest.mark.parametrize(("name", "parameter", "shape"), SLOTS)
def test_every_injection_is_refused_naming_the_parameter(
    name: str, parameter: str, shape: str
) -> None:
    accepted = []
    for value in CORPUS:
        try:
            TOOLS[name].parse({parameter: _shaped(shape, value)})
        except ValidationError as e:
            locations = [error["loc"] for error in e.errors()]
            if not any(loc and loc[0] == parameter for loc in locations):
                accepted.append((value, f"error did not name {parameter!r}: {locations}"))
            continue
        accepted.append((value, "accepted"))
    assert accepted == []


def test_invalid_input_names_the_parameter_and_the_rule() -> None:
    with pytest.raises(ValidationError) as caught:
        TOOLS["k8s_scale"].parse({"resource": "deployment/web", "replicas": 2, "namespace": "-x"})
    error = validate.invalid_input(caught.value)
    assert isinstance(error, InvalidInput)
    assert error.parameter == "namespace"
    assert "must not start with '-'" in str(error)


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(ValidationError, match="kubeconfig"):
        TOOLS["k8s_get"].parse({"resource": "pods", "kubeconfig": "/etc/x"})
