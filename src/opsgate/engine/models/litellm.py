"""Real model providers through LiteLLM, streaming, with retries on transient failures.

Built by `models.factory.model_from_settings` for `OPSGATE_MODEL` values like `openai/gpt-4.1`,
`anthropic/...`, `ollama/...` (with `model_api_base` for any OpenAI-compatible server). LiteLLM
is imported on first use because importing it is slow. Tests set `ALLOW_MODEL_REQUESTS = False`
(in tests/fixtures/engine.py) so nothing in the suite can reach a real provider.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from opsgate.engine.models import pricing
from opsgate.engine.models.base import ModelChunk, ModelMessage, ModelToolCall, ToolSchema, Usage
from opsgate.errors import ModelError, truncate

ALLOW_MODEL_REQUESTS = True
"""Tests turn this off; a request made while it is off raises `ModelError`."""

_TRANSIENT = (
    "RateLimitError",
    "APIConnectionError",
    "Timeout",
    "ServiceUnavailableError",
    "InternalServerError",
    "BadGatewayError",
)


@dataclass
class LiteLLMModel:
    """One provider model; `stream` yields text deltas, then the tool calls and the usage."""

    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    max_retries: int = 3
    timeout_s: float = 120.0
    backoff_s: float = 1.0

    @property
    def name(self) -> str:
        return self.model

    async def stream(
        self, messages: list[ModelMessage], tools: list[ToolSchema]
    ) -> AsyncIterator[ModelChunk]:
        if not ALLOW_MODEL_REQUESTS:
            raise ModelError("model requests are disabled in this process (tests)")
        import litellm

        attempt = 0
        while True:
            attempt += 1
            started = False
            try:
                response = await litellm.acompletion(**self._request(messages, tools))
                calls = _CallAccumulator()
                usage = Usage()
                async for chunk in response:
                    started = True
                    text, usage = calls.feed(chunk, usage)
                    if text:
                        yield ModelChunk(text=text)
                cost = pricing.turn_cost(self.model, usage)
                yield ModelChunk(
                    tool_calls=calls.finish(), usage=usage.model_copy(update={"cost_usd": cost})
                )
                return
            except Exception as e:
                # Retry only before anything streamed: a half-streamed turn cannot be undone.
                retryable = type(e).__name__ in _TRANSIENT and not started
                if not retryable or attempt > self.max_retries:
                    message = truncate(str(e), 300)
                    raise ModelError(f"model {self.model!r} failed: {message}") from e
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))

    def _request(self, messages: list[ModelMessage], tools: list[ToolSchema]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [to_openai(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": self.timeout_s,
            "num_retries": 0,
        }
        if tools:
            request["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
        if self.api_base:
            request["api_base"] = self.api_base
        if self.api_key:
            request["api_key"] = self.api_key
        return request


def to_openai(message: ModelMessage) -> dict[str, Any]:
    """One message in the OpenAI chat format LiteLLM takes for every provider."""
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message.content,
        }
    converted: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        converted["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.args)},
            }
            for call in message.tool_calls
        ]
    return converted


@dataclass
class _CallAccumulator:
    """Joins streamed tool-call fragments (by index) into whole calls."""

    parts: dict[int, dict[str, str]] = field(default_factory=dict)

    def feed(self, chunk: Any, usage: Usage) -> tuple[str, Usage]:
        chunk_usage = getattr(chunk, "usage", None)
        if chunk_usage:
            usage = Usage(
                input_tokens=int(getattr(chunk_usage, "prompt_tokens", 0) or 0),
                output_tokens=int(getattr(chunk_usage, "completion_tokens", 0) or 0),
            )
        choices = getattr(chunk, "choices", None) or []
        if not choices:
            return "", usage
        delta = choices[0].delta
        for fragment in getattr(delta, "tool_calls", None) or []:
            index = int(getattr(fragment, "index", 0) or 0)
            part = self.parts.setdefault(index, {"id": "", "name": "", "arguments": ""})
            if getattr(fragment, "id", None):
                part["id"] = fragment.id
            function = getattr(fragment, "function", None)
            if function is not None:
                part["name"] += getattr(function, "name", None) or ""
                part["arguments"] += getattr(function, "arguments", None) or ""
        return getattr(delta, "content", None) or "", usage

    def finish(self) -> list[ModelToolCall]:
        calls = []
        for index in sorted(self.parts):
            part = self.parts[index]
            args: dict[str, Any] = {}
            error = None
            try:
                parsed = json.loads(part["arguments"] or "{}")
                if isinstance(parsed, dict):
                    args = parsed
                else:
                    error = "arguments must be a JSON object"
            except json.JSONDecodeError as e:
                error = f"invalid JSON ({e.msg})"
            calls.append(
                ModelToolCall(
                    id=part["id"] or f"call-{index}", name=part["name"], args=args, args_error=error
                )
            )
        return calls
