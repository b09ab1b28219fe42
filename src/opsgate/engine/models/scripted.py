"""The scripted model: deterministic turns from a YAML file, for tests and demos.

Selected with `OPSGATE_MODEL=scripted:PATH` (see `models.factory`). The file holds
`scripts: [{match: REGEX, turns: [{text?, tool_calls?: [{name, args}], usage?:
{input_tokens, output_tokens}}]}]`. A run's first user
request picks the first script whose `match` finds a hit in it; each model call of that run then
takes the script's next turn. No match, or no turn left, raises `ModelError`. Each history it
is given is kept (`received`), so a test can check what a real provider would have been sent.
A script's optional `pace: {think_s: [MIN, MAX], tokens_per_s: N}` makes it answer like a real
provider (a pause before each turn, then its words at that rate); `bench/stream.py` uses it.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from opsgate.engine.models.base import (
    ModelChunk,
    ModelMessage,
    ModelToolCall,
    ToolSchema,
    Usage,
)
from opsgate.errors import ConfigError, ModelError, truncate


class ScriptedCall(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class ScriptedUsage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)


class ScriptedTurn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = None
    tool_calls: list[ScriptedCall] = Field(default_factory=list)
    usage: ScriptedUsage | None = None
    """The tokens the turn reports; without it, about 4 characters a token."""


class Pace(BaseModel):
    """How fast a paced script answers; unpaced scripts answer at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    think_s: tuple[float, float] = Field(default=(0.0, 0.0))
    """The pause before each turn's first piece: uniformly between these bounds (seconds)."""
    tokens_per_s: float | None = Field(default=None, gt=0)
    """The rate the turn's text streams at, one word-sized piece per token; None: at once."""

    @model_validator(mode="after")
    def _ordered(self) -> Pace:
        low, high = self.think_s
        if low < 0 or high < low:
            raise ValueError("think_s must be [MIN, MAX] with 0 <= MIN <= MAX")
        return self


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str
    turns: list[ScriptedTurn]
    pace: Pace | None = None


class ScriptFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scripts: list[Script]


class ScriptedModel:
    """Replays scripted turns; which turn comes next is derived from the history itself.

    The turn index is the number of assistant messages since the run's request, so the model
    holds no state of its own and a run resumed in a new process continues where it left off.
    """

    name = "scripted"
    RECEIVED_KEPT = 256
    """How many of the latest histories `received` keeps (a demo may run for days)."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self._patterns = [re.compile(script.match, re.IGNORECASE) for script in scripts]
        self.received: deque[list[ModelMessage]] = deque(maxlen=self.RECEIVED_KEPT)
        """The histories `stream` was given, oldest first: what a provider would have received."""
        self.offered: deque[list[str]] = deque(maxlen=self.RECEIVED_KEPT)
        """The names of the tools each `stream` call offered, beside `received`."""

    @classmethod
    def from_yaml(cls, text: str) -> ScriptedModel:
        try:
            parsed = ScriptFile.model_validate(yaml.safe_load(text))
            for script in parsed.scripts:
                re.compile(script.match)
        except (yaml.YAMLError, ValidationError, re.error) as e:
            raise ConfigError(f"invalid model script: {truncate(str(e), 500)}") from e
        return cls(parsed.scripts)

    @classmethod
    def from_path(cls, path: Path) -> ScriptedModel:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read model script {str(path)!r}: {e.strerror}") from e
        return cls.from_yaml(text)

    def next_turn(self, messages: list[ModelMessage]) -> tuple[Script, ScriptedTurn]:
        """The script matching the run's request and its turn for this history."""
        request_index = _last_request_index(messages)
        if request_index is None:
            raise ModelError("scripted model: the history holds no user request")
        request = messages[request_index].content
        turn_index = sum(1 for m in messages[request_index + 1 :] if m.role == "assistant")
        for script, pattern in zip(self.scripts, self._patterns, strict=True):
            if pattern.search(request):
                if turn_index >= len(script.turns):
                    raise ModelError(
                        f"scripted model: script {script.match!r} has no turn "
                        f"{turn_index + 1} (it has {len(script.turns)})"
                    )
                return script, script.turns[turn_index]
        raise ModelError(
            f"scripted model: no script matches the request {truncate(request, 200)!r}"
        )

    async def stream(
        self, messages: list[ModelMessage], tools: list[ToolSchema]
    ) -> AsyncIterator[ModelChunk]:
        self.received.append(list(messages))
        self.offered.append([t.name for t in tools])
        script, turn = self.next_turn(messages)
        pace = script.pace
        if pace is not None:
            await asyncio.sleep(random.uniform(*pace.think_s))  # noqa: S311 - pacing, not secrets
        if turn.text:
            for piece in _pieces(turn.text):
                if pace is not None and pace.tokens_per_s is not None:
                    await asyncio.sleep(1 / pace.tokens_per_s)
                yield ModelChunk(text=piece)
        calls = [
            ModelToolCall(id=f"scripted-{len(messages)}-{n}", name=call.name, args=call.args)
            for n, call in enumerate(turn.tool_calls)
        ]
        # A scripted model has no price: its cost stays unknown.
        if turn.usage is not None:
            usage = Usage(
                input_tokens=turn.usage.input_tokens, output_tokens=turn.usage.output_tokens
            )
        else:
            usage = Usage(
                input_tokens=sum(len(m.content) for m in messages) // 4,
                output_tokens=len(turn.text or "") // 4,
            )
        yield ModelChunk(tool_calls=calls, usage=usage)


def _last_request_index(messages: list[ModelMessage]) -> int | None:
    """The run's request: the last user message (tool results are `tool`, not `user`)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    return None


def _pieces(text: str) -> list[str]:
    """Split text into word-sized deltas so streaming looks like a real provider's."""
    return re.findall(r"\S+\s*|\s+", text)
