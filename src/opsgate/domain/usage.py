"""What a model turn cost: tokens, price and time, and sums of them.

The engine measures one `TurnUsage` per model turn (`engine.steps`), streams it as a
`model.turn` event and stores it beside the turn's message; the store sums them per
conversation (`UsageTotal`) and per user, model or day (`UsageGroup`) for the API's usage
endpoints, the chat view's chips and the admin Usage page. A cost is None when the model's
price is unknown, never 0: a sum says how many of its turns had no price.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UsageGrouping = Literal["user", "model", "day"]


class TurnUsage(BaseModel):
    """One model turn as measured by the engine."""

    model_config = ConfigDict(frozen=True)

    model: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    """From LiteLLM's cost map; None when the model's price is unknown."""
    ttft_ms: int | None = Field(default=None, ge=0)
    """Time to the first text or tool call; None when the turn streamed nothing."""
    duration_ms: int = Field(ge=0)


class UsageTotal(BaseModel):
    """The sum of some model turns."""

    model_config = ConfigDict(frozen=True)

    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    """The cost of the priced turns; None when no turn had a price."""
    unpriced_turns: int = 0
    """Turns whose cost is unknown (not in `cost_usd`)."""


class UsageGroup(UsageTotal):
    """The turns of one user, model or UTC day (`key`; `label` is what to show)."""

    key: str
    label: str
