"""The `ChatModel` protocol and the plain messages the engine exchanges with any provider.

Implemented by `models.scripted` (tests, demos) and `models.litellm` (real providers); the
graph's plan node calls `stream()` once per model turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from opsgate.domain.runs import MessageRole


class ModelToolCall(BaseModel):
    """One tool call the model asked for, with its raw JSON arguments."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    args_error: str | None = None
    """Set when the provider's arguments were not a JSON object (the call goes back as an error)."""


class ModelMessage(BaseModel):
    """One message of the history sent to the model."""

    model_config = ConfigDict(frozen=True)

    role: MessageRole
    content: str = ""
    tool_calls: list[ModelToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    """On `tool` messages: the id of the call this result answers."""
    name: str | None = None
    """On `tool` messages: the tool's name."""


class ToolSchema(BaseModel):
    """What the model sees of one tool."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    parameters: dict[str, Any]


class Usage(BaseModel):
    """What a provider reported for one turn."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    """The turn's price (`models.pricing`); None when the model's price is unknown."""


class ModelChunk(BaseModel):
    """A piece of a streamed turn: a text delta, the final tool calls, or the usage."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    tool_calls: list[ModelToolCall] = Field(default_factory=list)
    usage: Usage | None = None


class ChatModel(Protocol):
    """A provider that streams one assistant turn for a history and a tool list."""

    @property
    def name(self) -> str:
        """The model's name as recorded with each turn."""
        ...

    def stream(
        self, messages: list[ModelMessage], tools: list[ToolSchema]
    ) -> AsyncIterator[ModelChunk]: ...
