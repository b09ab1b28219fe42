"""A `model.turn` event between the streamed text and the answer leaves the text as it is:
the terminal prints the answer once."""

from __future__ import annotations

from rich.console import Console

from opsgate.cli.client import SseEvent
from opsgate.cli.render import Renderer

TURN = {
    "model": "scripted",
    "input_tokens": 1500,
    "output_tokens": 56,
    "cost_usd": None,
    "ttft_ms": 3,
    "duration_ms": 9,
}


def test_a_model_turn_event_does_not_print_the_answer_twice() -> None:
    console = Console(record=True, width=200, force_terminal=False)
    renderer = Renderer(console)
    answer = "frontend has 2 replicas."
    events = [("token", {"text": answer}), ("model.turn", TURN), ("answer", {"text": answer})]
    for number, (kind, data) in enumerate(events, 1):
        renderer.show(SseEvent(number, kind, {"type": kind, "run_id": "run_1", **data}))

    assert console.export_text().count(answer) == 1
