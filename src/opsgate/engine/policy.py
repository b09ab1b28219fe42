"""Classification of planned calls: valid or not, read or mutation, destructive or not.

Called by the graph's classify node for every call, from the model or from an operator's
direct proposal. It fails closed: an unknown tool or bad arguments never reach the tool server
(the error goes back to the model), anything not provably read-only is a mutation, and the
cluster context is always the engine's choice from the conversation's allowed set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from opsgate.domain.calls import Classification
from opsgate.domain.canonical import call_hash
from opsgate.tools.base import Tool

CONTEXT_PARAM = "context"
NAMESPACE_PARAM = "namespace"


def with_default_namespace(
    specs: Mapping[str, Tool], tool_name: str, args: Mapping[str, Any], namespace: str | None
) -> dict[str, Any]:
    """`args` with the conversation's namespace filled in when the tool takes one and the
    caller left it out (direct calls: the palette shows it as the default)."""
    filled = dict(args)
    tool = specs.get(tool_name)
    if (
        namespace is None
        or tool is None
        or NAMESPACE_PARAM not in tool.params.model_fields
        or filled.get(NAMESPACE_PARAM) is not None
        or filled.get("all_namespaces") is True
    ):
        return filled
    filled[NAMESPACE_PARAM] = namespace
    return filled


@dataclass(frozen=True)
class ClassifiedCall:
    """A planned call after policy: what would be sent, and how it must be treated."""

    call_id: str
    tool: str
    args: dict[str, Any]
    """Exactly the arguments that would be sent, `context` filled in by the engine."""
    context: str | None
    classification: Classification
    destructive: bool
    call_hash: str
    error: str | None = None
    """Why the call is invalid; such a call never runs and its error goes back to the model."""

    def as_state(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "tool": self.tool,
            "args": self.args,
            "context": self.context,
            "classification": self.classification,
            "destructive": self.destructive,
            "call_hash": self.call_hash,
            "error": self.error,
        }


def classify(
    specs: Mapping[str, Tool],
    call_id: str,
    tool_name: str,
    raw_args: Mapping[str, Any],
    allowed_contexts: Sequence[str],
) -> ClassifiedCall:
    """Validate and classify one call; never raises for bad input, returns `error` instead."""
    args = dict(raw_args)
    tool = specs.get(tool_name)
    if tool is None:
        return _invalid(call_id, tool_name, args, None, f"no tool named {tool_name!r}")
    context: str | None = None
    if CONTEXT_PARAM in tool.params.model_fields:
        chosen = args.get(CONTEXT_PARAM)
        default = allowed_contexts[0] if allowed_contexts else None
        if chosen is None:
            context = default
        elif isinstance(chosen, str) and chosen in allowed_contexts:
            context = chosen
        else:
            return _invalid(
                call_id,
                tool_name,
                args,
                None,
                f"context {chosen!r} is not allowed in this conversation "
                f"(allowed: {', '.join(map(repr, allowed_contexts)) or 'none'}); "
                "leave `context` out and the engine fills it",
            )
        if context is None:
            args.pop(CONTEXT_PARAM, None)
        else:
            args[CONTEXT_PARAM] = context
    try:
        params = tool.parse(args)
    except ValidationError as e:
        return _invalid(call_id, tool_name, args, context, _describe(tool_name, e))
    read_only = tool.is_read_only(params)
    return ClassifiedCall(
        call_id=call_id,
        tool=tool_name,
        args=args,
        context=context,
        classification="read" if read_only else "mutation",
        destructive=not read_only and tool.annotations.destructive,
        call_hash=call_hash(tool_name, args, context),
    )


def _invalid(
    call_id: str, tool: str, args: dict[str, Any], context: str | None, error: str
) -> ClassifiedCall:
    return ClassifiedCall(
        call_id=call_id,
        tool=tool,
        args=args,
        context=context,
        classification="mutation",
        destructive=False,
        call_hash=call_hash(tool, args, context),
        error=error,
    )


def _describe(tool: str, error: ValidationError) -> str:
    """Name every offending parameter without echoing the rejected values."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        problems.append(f"{location}: {item['msg']}")
    return f"invalid arguments for {tool!r}: " + "; ".join(problems)
