"""Pieces of a model turn: what the model is told about tools and the cluster, streamed text
coalesced into stream events, and verdicts appended to tool results.

Used by `opsgate.engine.steps` (the plan and verify nodes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsgate.domain.calls import ToolSpec
from opsgate.engine import policy
from opsgate.engine.state import RunState


@dataclass
class TokenBuffer:
    """Coalesces streamed deltas so each stored stream event carries a useful piece of text.

    Every token event is a database write; a provider can send one per word. A piece is
    released once it holds `max_chars` or has waited `max_wait_s` since the last release.
    """

    max_chars: int = 160
    max_wait_s: float = 0.1
    _parts: list[str] = field(default_factory=list)
    _size: int = 0
    _since: float | None = None

    def add(self, text: str, now: float) -> str:
        self._parts.append(text)
        self._size += len(text)
        if self._since is None:
            self._since = now
        if self._size >= self.max_chars or now - self._since >= self.max_wait_s:
            return self.flush()
        return ""

    def flush(self) -> str:
        text = "".join(self._parts)
        self._parts, self._size, self._since = [], 0, None
        return text


def model_schema(tool: ToolSpec) -> dict[str, Any]:
    """The tool's JSON schema without `context`, which only the engine fills."""
    schema: dict[str, Any] = dict(tool.input_schema)
    properties = dict(schema.get("properties", {}))
    properties.pop(policy.CONTEXT_PARAM, None)
    schema["properties"] = properties
    if "required" in schema:
        schema["required"] = [r for r in schema["required"] if r != policy.CONTEXT_PARAM]
    return schema


def cluster_note(state: RunState) -> str:
    contexts = state.get("contexts") or []
    note = ""
    if contexts:
        others = f" (also allowed: {', '.join(contexts[1:])})" if len(contexts) > 1 else ""
        note += f"\n\nCluster context of this conversation: {contexts[0]!r}{others}."
    if state.get("namespace"):
        note += f"\nDefault namespace: {state.get('namespace')!r}."
    return note


def read_only_note(state: RunState) -> str:
    if not state.get("read_only"):
        return ""
    return (
        "\n\nThis investigation was opened by an alert, with no person in the conversation "
        "yet: only read-only tools are offered. Find the cause and report it with evidence; "
        "name a fix in words, a person decides whether to make it."
    )


def append_to_result(messages: list[dict[str, Any]], tool_call_id: str, note: str) -> None:
    """Add the verdict to the call's own result (providers want one result per call id)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("tool_call_id") == tool_call_id:
            content = f"{messages[index].get('content', '')}\n\n{note}"
            messages[index] = {**messages[index], "content": content}
            return
