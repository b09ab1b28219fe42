"""The price of a model turn, from LiteLLM's bundled cost map.

Called by `models.litellm` when a turn's usage arrives. A model the map does not name has no
price: its cost is None (shown as "cost unknown"), never 0. LiteLLM is imported here only
once a real provider has answered, since importing it is slow.
"""

from __future__ import annotations

from opsgate.engine.models.base import Usage


def turn_cost(model: str, usage: Usage) -> float | None:
    """The turn's cost in US dollars, or None when `model`'s price is unknown."""
    import litellm

    # The map names models with or without their provider (`openai/gpt-4.1`, `gpt-4.1`).
    entry = litellm.model_cost.get(model) or litellm.model_cost.get(model.split("/", 1)[-1])
    if not entry or entry.get("input_cost_per_token") is None:
        return None
    try:
        prompt, completion = litellm.cost_per_token(
            model=model,
            prompt_tokens=usage.input_tokens,
            completion_tokens=usage.output_tokens,
        )
    except Exception:  # a price LiteLLM cannot work out is an unknown price, not a failure
        return None
    return float(prompt) + float(completion)
