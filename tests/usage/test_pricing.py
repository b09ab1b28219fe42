"""A turn's price from LiteLLM's bundled cost map: computed for a model the map prices, None
(never 0) for one it does not know; and the `/metrics` cost counter adds only known costs."""

from __future__ import annotations

import re

import pytest

from opsgate.api.metrics import Metrics
from opsgate.domain.events import ModelTurn
from opsgate.engine.models import pricing
from opsgate.engine.models.base import Usage


@pytest.fixture
def offline_cost_map(monkeypatch: pytest.MonkeyPatch) -> None:
    # LiteLLM would fetch its cost map from the internet on import without this.
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.mark.usefixtures("offline_cost_map")
def test_cost_is_computed_for_a_known_model_and_none_for_an_unknown_one() -> None:
    import litellm

    usage = Usage(input_tokens=1000, output_tokens=500)
    price = litellm.model_cost["gpt-4o-mini"]
    expected = 1000 * price["input_cost_per_token"] + 500 * price["output_cost_per_token"]

    for name in ("gpt-4o-mini", "openai/gpt-4o-mini"):
        cost = pricing.turn_cost(name, usage)
        assert cost is not None
        assert cost == pytest.approx(expected)
        assert cost > 0
    assert pricing.turn_cost("openai/no-such-model-anywhere", usage) is None
    assert pricing.turn_cost("scripted", usage) is None


def test_the_cost_counter_adds_known_costs_only() -> None:
    metrics = Metrics()
    for cost in (0.25, None, 0.5):
        turn = ModelTurn(
            run_id="run_1",
            model="gpt-4o",
            input_tokens=10,
            output_tokens=1,
            cost_usd=cost,
            ttft_ms=5,
            duration_ms=9,
        )
        metrics.observe_turn(turn.model_dump(mode="json"))
    text = metrics.render().decode()

    assert re.search(r'^opsgate_model_cost_usd_total\{model="gpt-4o"\} 0\.75$', text, re.M)
    assert re.search(r'^opsgate_model_turns_total\{model="gpt-4o"\} 3\.0$', text, re.M)
