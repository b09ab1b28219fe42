"""Model providers: the scripted model's rules, the factory, and LiteLLM against a loopback fake."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from opsgate.engine.models import litellm as litellm_model
from opsgate.engine.models.base import ModelChunk, ModelMessage, ModelToolCall, ToolSchema
from opsgate.engine.models.factory import model_from_settings
from opsgate.engine.models.scripted import ScriptedModel
from opsgate.errors import ConfigError, ModelError
from opsgate.settings import Settings
from tests.fixtures.net import serving

SCRIPT = """
scripts:
  - match: "^scale"
    turns:
      - text: "first"
        tool_calls: [{name: k_get, args: {name: api}}]
      - text: "second"
  - match: "."
    turns:
      - text: "fallback"
"""


async def _collect(model: Any, messages: list[ModelMessage]) -> list[ModelChunk]:
    return [chunk async for chunk in model.stream(messages, [])]


def _text(chunks: list[ModelChunk]) -> str:
    return "".join(c.text for c in chunks)


async def test_scripted_model_plays_the_matching_script_turn_by_turn() -> None:
    model = ScriptedModel.from_yaml(SCRIPT)
    request = ModelMessage(role="user", content="scale api")
    first = await _collect(model, [request])
    assert _text(first) == "first"
    [call] = first[-1].tool_calls
    assert (call.name, call.args) == ("k_get", {"name": "api"})
    history = [
        request,
        ModelMessage(role="assistant", content="first", tool_calls=[call]),
        ModelMessage(role="tool", content="ok", tool_call_id=call.id),
    ]
    assert _text(await _collect(model, history)) == "second"
    assert _text(await _collect(model, [ModelMessage(role="user", content="hi")])) == "fallback"


async def test_paced_scripted_model_pauses_then_streams_at_its_rate() -> None:
    model = ScriptedModel.from_yaml(
        "scripts: [{match: x, pace: {think_s: [0.05, 0.05], tokens_per_s: 100},"
        " turns: [{text: 'one two three four five'}]}]\n"
    )
    started = time.monotonic()
    chunks = await _collect(model, [ModelMessage(role="user", content="x")])
    elapsed = time.monotonic() - started
    assert _text(chunks) == "one two three four five"
    # 50 ms of thought, then five pieces 10 ms apart.
    assert elapsed >= 0.05 + 5 * 0.01
    assert elapsed < 2.0


def test_a_pace_out_of_order_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="think_s"):
        ScriptedModel.from_yaml(
            "scripts: [{match: x, pace: {think_s: [2, 1]}, turns: [{text: hi}]}]\n"
        )


async def test_scripted_model_that_runs_out_of_turns_says_so() -> None:
    model = ScriptedModel.from_yaml(SCRIPT)
    history = [
        ModelMessage(role="user", content="hello"),
        ModelMessage(role="assistant", content="fallback"),
    ]
    with pytest.raises(ModelError, match="has no turn 2"):
        await _collect(model, history)


async def test_scripted_model_without_a_matching_script_says_so() -> None:
    model = ScriptedModel.from_yaml("scripts: [{match: '^only$', turns: [{text: x}]}]")
    with pytest.raises(ModelError, match="no script matches"):
        await _collect(model, [ModelMessage(role="user", content="something else")])


def test_invalid_script_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        ScriptedModel.from_yaml("scripts: [{match: '(', turns: []}]")
    with pytest.raises(ConfigError):
        ScriptedModel.from_yaml("scripts: [{match: a, turns: [{txt: typo}]}]")
    with pytest.raises(ConfigError, match="cannot read"):
        ScriptedModel.from_path(tmp_path / "missing.yaml")


def test_factory_picks_scripted_litellm_or_none(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text(SCRIPT)
    assert model_from_settings(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    scripted = model_from_settings(Settings(_env_file=None, model=f"scripted:{script}"))  # type: ignore[call-arg]
    assert isinstance(scripted, ScriptedModel)
    real = model_from_settings(
        Settings(_env_file=None, model="openai/gpt-4.1", model_api_key=SecretStr("sk-secret-9"))  # type: ignore[call-arg]
    )
    assert isinstance(real, litellm_model.LiteLLMModel)
    assert "sk-secret-9" not in repr(real)
    with pytest.raises(ConfigError, match="provider prefix"):
        model_from_settings(Settings(_env_file=None, model="gpt-4.1"))  # type: ignore[call-arg]


async def test_litellm_model_refuses_requests_in_tests() -> None:
    model = litellm_model.LiteLLMModel(model="openai/gpt-4.1", api_base="http://127.0.0.1:9/v1")
    with pytest.raises(ModelError, match="disabled"):
        await _collect(model, [ModelMessage(role="user", content="hi")])


def test_messages_convert_to_the_openai_format() -> None:
    call = ModelToolCall(id="c1", name="k_get", args={"name": "api"})
    assistant = litellm_model.to_openai(
        ModelMessage(role="assistant", content="", tool_calls=[call])
    )
    assert assistant["tool_calls"][0]["function"] == {
        "name": "k_get",
        "arguments": '{"name": "api"}',
    }
    tool = litellm_model.to_openai(ModelMessage(role="tool", content="ok", tool_call_id="c1"))
    assert tool == {"role": "tool", "tool_call_id": "c1", "content": "ok"}


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class _FakeOpenAI(BaseHTTPRequestHandler):
    """Streams a text delta and one tool call split across chunks, then usage."""

    requests: ClassVar[list[dict[str, Any]]] = []

    rate_limit_first: ClassVar[list[bool]] = [True]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        if type(self).rate_limit_first[0]:
            type(self).rate_limit_first[0] = False
            error = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}}).encode()
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        fragments = [
            _chunk({"role": "assistant", "content": "Checking "}),
            _chunk({"content": "now."}),
            _chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "k_get", "arguments": '{"na'},
                        }
                    ]
                }
            ),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'me": "api"}'}}]}),
            _chunk({}, "tool_calls"),
            {
                **_chunk({}),
                "choices": [],
                "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
            },
        ]
        for fragment in fragments:
            self.wfile.write(_sse(fragment))
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def fake_openai() -> Iterator[str]:
    with serving(_FakeOpenAI) as base_url:
        yield f"{base_url}/v1"


@pytest.mark.slow
async def test_litellm_model_retries_a_rate_limit_then_streams_text_calls_and_usage(
    fake_openai: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setattr(litellm_model, "ALLOW_MODEL_REQUESTS", True)
    model = litellm_model.LiteLLMModel(
        model="openai/fake", api_base=fake_openai, api_key="sk-x", backoff_s=0.01
    )
    tools = [ToolSchema(name="k_get", description="Show.", parameters={"type": "object"})]
    chunks = [c async for c in model.stream([ModelMessage(role="user", content="why?")], tools)]
    assert _text(chunks) == "Checking now."
    [call] = chunks[-1].tool_calls
    assert (call.id, call.name, call.args, call.args_error) == (
        "call_1",
        "k_get",
        {"name": "api"},
        None,
    )
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.input_tokens, chunks[-1].usage.output_tokens) == (42, 7)
    rate_limited, sent = _FakeOpenAI.requests  # the 429 was retried once
    assert rate_limited == sent
    assert sent["stream"] is True
    assert sent["tools"][0]["function"]["name"] == "k_get"
