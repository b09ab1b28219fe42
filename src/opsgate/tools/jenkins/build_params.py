"""A job's declared build parameters, and validation of requested values against them.

Used by `jenkins_get_job_parameters` (to describe them) and `jenkins_trigger_build` (run,
preview and verify), so a trigger sends only declared names with values of the declared type,
and choices from the declared list. Pure: parses the JSON Jenkins returns, does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from opsgate.errors import InvalidInput

Kind = Literal["string", "text", "boolean", "choice", "password", "other"]
_KINDS: dict[str, Kind] = {
    "StringParameterDefinition": "string",
    "TextParameterDefinition": "text",
    "BooleanParameterDefinition": "boolean",
    "ChoiceParameterDefinition": "choice",
    "PasswordParameterDefinition": "password",
}
PARAMETERS_TREE = "parameterDefinitions[name,type,description,choices,defaultParameterValue[value]]"
"""The part of a `tree=` that reads parameter definitions (under `property` or `actions`)."""
MASK = "****"


@dataclass(frozen=True)
class DeclaredParam:
    """One parameter as the job declares it."""

    name: str
    kind: Kind
    type_name: str
    default: str | bool | None
    description: str
    choices: tuple[str, ...] = ()


def declared_params(job: Mapping[str, Any]) -> list[DeclaredParam]:
    """Parameter definitions from a job's api/json (`property`, or `actions` on old Jenkins)."""
    found: dict[str, DeclaredParam] = {}
    holders = [*(job.get("property") or []), *(job.get("actions") or [])]
    for holder in holders:
        if not isinstance(holder, dict):
            continue
        for definition in holder.get("parameterDefinitions") or []:
            name = str(definition.get("name", ""))
            if not name or name in found:
                continue
            type_name = str(definition.get("type", ""))
            kind = _KINDS.get(type_name, "other")
            default_value = (definition.get("defaultParameterValue") or {}).get("value")
            found[name] = DeclaredParam(
                name=name,
                kind=kind,
                type_name=type_name,
                default=None if kind == "password" else default_value,
                description=str(definition.get("description") or ""),
                choices=tuple(str(c) for c in definition.get("choices") or ()),
            )
    return list(found.values())


def _as_form_value(param: DeclaredParam, value: str | bool | int) -> str:
    if param.kind == "boolean":
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise InvalidInput(f"parameters.{param.name}", "must be true or false")
        return text
    if isinstance(value, bool):
        raise InvalidInput(
            f"parameters.{param.name}", f"is a {param.kind} parameter, not a boolean"
        )
    text = str(value)
    if param.kind == "choice" and text not in param.choices:
        allowed = ", ".join(repr(c) for c in param.choices)
        raise InvalidInput(f"parameters.{param.name}", f"must be one of {allowed}")
    if param.kind == "other":
        raise InvalidInput(
            f"parameters.{param.name}",
            f"has type {param.type_name!r}, which opsgate cannot set; leave it to its default",
        )
    return text


def validate_values(
    declared: list[DeclaredParam], given: Mapping[str, str | bool | int]
) -> dict[str, str]:
    """The form values to submit: only declared names, typed as declared. Raises `InvalidInput`."""
    by_name = {param.name: param for param in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        names = ", ".join(repr(p.name) for p in declared) or "none"
        raise InvalidInput(
            "parameters",
            f"the job does not declare {', '.join(map(repr, unknown))}; it has {names}",
        )
    return {name: _as_form_value(by_name[name], value) for name, value in given.items()}


def effective_values(declared: list[DeclaredParam], form: Mapping[str, str]) -> dict[str, str]:
    """Every declared parameter's value for this trigger: submitted, else the default."""
    values: dict[str, str] = {}
    for param in declared:
        if param.name in form:
            values[param.name] = form[param.name]
        elif isinstance(param.default, bool):
            values[param.name] = "true" if param.default else "false"
        elif param.default is not None:
            values[param.name] = str(param.default)
    return values


def masked(declared: list[DeclaredParam], values: Mapping[str, str]) -> dict[str, str]:
    """Values fit to show: password parameters' values replaced, whatever their names."""
    hidden = {param.name for param in declared if param.kind == "password"}
    return {name: MASK if name in hidden else value for name, value in values.items()}


def describe(param: DeclaredParam) -> str:
    """One readable line for the model."""
    line = f"{param.name} ({param.kind})"
    if param.kind == "choice":
        line += f" one of {', '.join(param.choices)}"
    if param.default is not None and param.default != "":
        line += f"; default {format_value(param.default)}"
    if param.description:
        line += f" — {param.description}"
    return line


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)
