"""Classification of planned calls: valid or not, read or mutation, destructive or not.

Called by the graph's classify node for every call, from the model or from an operator's
direct proposal, with what the engine knows of the tools: their MCP listing (`ToolSpec`) and
the tool server's check of each call (`CallCheck`, from `opsgate_classify`). It fails closed:
an unknown tool or bad arguments never run (the error goes back to the model), anything not
provably read-only is a mutation, and the cluster context is always the engine's choice from
the conversation's allowed set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsgate.domain.calls import CallCheck, Classification, ToolSpec
from opsgate.domain.canonical import call_hash

CONTEXT_PARAM = "context"
NAMESPACE_PARAM = "namespace"


def with_default_namespace(
    specs: Mapping[str, ToolSpec], tool_name: str, args: Mapping[str, Any], namespace: str | None
) -> dict[str, Any]:
    """`args` with the conversation's namespace filled in when the tool takes one and the
    caller left it out (direct calls: the palette shows it as the default)."""
    filled = dict(args)
    tool = specs.get(tool_name)
    if (
        namespace is None
        or tool is None
        or not tool.takes(NAMESPACE_PARAM)
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


@dataclass(frozen=True)
class Placed:
    """A planned call with the engine's choices made: the context filled in, or why not."""

    tool: str
    args: dict[str, Any]
    context: str | None
    error: str | None = None


def place(
    specs: Mapping[str, ToolSpec],
    tool_name: str,
    raw_args: Mapping[str, Any],
    allowed_contexts: Sequence[str],
) -> Placed:
    """Fill the call's `context` from the conversation's allowed set (never the model's
    choice outside it); an unknown tool or a refused context is an error here already."""
    args = dict(raw_args)
    spec = specs.get(tool_name)
    if spec is None:
        return Placed(tool_name, args, None, f"no tool named {tool_name!r}")
    if not spec.takes(CONTEXT_PARAM):
        return Placed(tool_name, args, None)
    chosen = args.get(CONTEXT_PARAM)
    default = allowed_contexts[0] if allowed_contexts else None
    if chosen is None:
        context = default
    elif isinstance(chosen, str) and chosen in allowed_contexts:
        context = chosen
    else:
        return Placed(
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
    return Placed(tool_name, args, context)


def classify(
    specs: Mapping[str, ToolSpec], call_id: str, placed: Placed, check: CallCheck | None
) -> ClassifiedCall:
    """Read or mutation, from the tool's MCP annotations and the tool server's check.

    Fails closed: a call is a read only if the server says this very call only reads and
    either the tool is annotated read-only or it decides per call (`k8s_exec`); anything
    else, including missing annotations, is a mutation. `check` is None when `placed`
    already carries an error.
    """
    spec = specs.get(placed.tool)
    error = placed.error
    if error is None and (check is None or not check.valid):
        error = check.error if check is not None and check.error else "arguments not checked"
    if spec is None or check is None or error is not None:
        return ClassifiedCall(
            call_id=call_id,
            tool=placed.tool,
            args=placed.args,
            context=placed.context,
            classification="mutation",
            destructive=False,
            call_hash=call_hash(placed.tool, placed.args, placed.context),
            error=error,
        )
    read_only = check.read_only and (spec.annotations.read_only or check.per_call)
    return ClassifiedCall(
        call_id=call_id,
        tool=placed.tool,
        args=placed.args,
        context=placed.context,
        classification="read" if read_only else "mutation",
        destructive=not read_only and spec.annotations.destructive,
        call_hash=call_hash(placed.tool, placed.args, placed.context),
    )
