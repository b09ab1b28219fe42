"""No setting, flag or environment value lets a mutation run without an approval record.

The engine is built through `deps_from_settings` from `Settings` variants: every field set to
each plausible value (one at a time), then everything at once. Each engine gets a direct
mutation; it must pause (or fail) with nothing run and no approval decided.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from opsgate.engine import factory
from opsgate.engine.bus import EventBus
from opsgate.engine.engine import Engine
from opsgate.engine.factory import deps_from_settings
from opsgate.settings import Settings
from tests.fixtures.engine import APPROVAL_KEY, SECRET_KEY, HarnessFactory

_TEXT = [None, "", "off", "bypass", "*"]


def _values(annotation: Any, tmp: Path) -> list[Any]:
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        values = [None]
        for arg in args:
            if arg is not type(None):
                values += _values(arg, tmp)
        return values
    if origin is typing.Literal:
        return list(args)
    if annotation is bool:
        return [True, False]
    if annotation is int:
        return [0, 1, -1, 10**9]
    if annotation is float:
        return [0.0, -1.0, 1e9]
    if annotation is str:
        return _TEXT
    if origin is typing.Literal:
        return list(args)
    if origin is list:
        return [[], ["*"], ["sandbox"], ["all", "none"]]
    if annotation is Path:
        return [tmp]
    if origin is dict:
        return [{}]
    name = getattr(annotation, "__name__", "")
    if name == "OidcSettings":
        return [{"issuer": "http://127.0.0.1:9", "client_id": "opsgate"}]
    if name == "ProxyAuthSettings":
        return [{"trusted_cidrs": ["0.0.0.0/0"], "user_header": "X-Forwarded-User"}]
    if name == "SecretStr":
        return ["", "skip", "x" * 40]
    raise AssertionError(f"no plausible values for {annotation!r}; extend this test")


def _variants(tmp: Path, script: Path) -> list[dict[str, Any]]:
    variants: list[dict[str, Any]] = []
    for name, info in Settings.model_fields.items():
        values = _values(info.annotation, tmp)
        if name == "model":
            values = [None, "", f"scripted:{script}", "openai/gpt-4.1", "ollama/llama3"]
        variants += [{name: value} for value in values]
    everything_on = {
        name: next(v for v in reversed(_values(i.annotation, tmp)) if v not in (None, ""))
        for name, i in Settings.model_fields.items()
        if name != "model"
    }
    variants.append(everything_on)
    everything_off = {
        name: _values(i.annotation, tmp)[0]
        for name, i in Settings.model_fields.items()
        if name != "model"
    }
    variants.append(everything_off)
    return variants


@pytest.mark.slow
async def test_no_setting_lets_a_mutation_run_without_approval(
    harnesses: HarnessFactory, tmp_path: Path
) -> None:
    h = await harnesses.open(None)
    script = tmp_path / "script.yaml"
    script.write_text("scripts: []\n")
    checkpointer = h.engine.graph.checkpointer
    tried = 0
    for variant in _variants(tmp_path, script):
        try:
            settings = Settings(_env_file=None, **variant)  # type: ignore[call-arg]
        except ValidationError:
            continue
        deps = deps_from_settings(
            settings,
            store=h.store,
            bus=EventBus(),
            tools=h.engine.deps.tools,
            tool_specs=await factory.tool_specs(h.engine.deps.tools),
            approval_key=APPROVAL_KEY,
            secret_key=SECRET_KEY,
            engine_id="engine-under-test",
            clock=h.clock,
        )
        engine = Engine(deps, checkpointer)  # type: ignore[arg-type]
        run = await engine.submit_call(
            h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 9}
        )
        await engine.wait_run(run.id)
        await engine.aclose()
        status = (await h.store.get_run(run.id)).status
        assert status in ("awaiting_approval", "failed"), (variant, status)
        assert h.cluster.mutations() == [], variant
        tried += 1
    assert tried > 80
    approvals = await h.store.list_approvals(conversation_id=h.conversation.id, limit=10_000)
    decided = [i for a in approvals for i in a.items if i.decision is not None]
    assert decided == []
    recorded = await h.store.list_calls(conversation_id=h.conversation.id)
    assert len(recorded) == tried
    assert {c.status for c in recorded} <= {"awaiting_approval", "invalid", "expired"}
