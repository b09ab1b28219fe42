"""No setting, flag, environment value or policy field lets a mutation run without an
approval record.

The engine is built through `deps_from_settings` from `Settings` variants: every field set to
each plausible value (one at a time), then everything at once. Each engine gets a direct
mutation; it must pause (or fail) with nothing run and no approval decided. The same holds
for approval policies: every field of a rule (match, require, windows) set to each plausible
value, loosening ones included, either is refused at load or gives an engine that pauses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from opsgate.domain import policy
from opsgate.domain.policy_load import load_policy
from opsgate.engine import factory
from opsgate.engine.bus import EventBus
from opsgate.engine.engine import Engine
from opsgate.engine.factory import deps_from_settings
from opsgate.engine.policy_source import ActivePolicy
from opsgate.errors import PolicyError
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
    if name == "AlertSettings":
        return [{}, {"token": "x" * 40, "hmac_secret": "y" * 40, "runs_per_minute": 600}]
    if name == "SlackSettings":
        # Slack cannot be reached (loopback port 9): posting fails, the gate must not.
        return [{"bot_token": "xoxb-1", "signing_secret": "s" * 40,
                 "api_url": "http://127.0.0.1:9", "channel": "C1"}]  # fmt: skip
    if name == "SecretStr":
        return ["", "skip", "x" * 40]
    raise AssertionError(f"no plausible values for {annotation!r}; extend this test")


def _variants(tmp: Path, script: Path) -> list[dict[str, Any]]:
    variants: list[dict[str, Any]] = []
    for name, info in Settings.model_fields.items():
        values = _values(info.annotation, tmp)
        if name == "model":
            values = [None, "", f"scripted:{script}", "openai/gpt-4.1", "ollama/llama3"]
        if name == "policy_file":
            values = [None, *_policy_files(tmp)]
        variants += [{name: value} for value in values]
    everything_on = {
        name: next(v for v in reversed(_values(i.annotation, tmp)) if v not in (None, ""))
        for name, i in Settings.model_fields.items()
        if name not in ("model", "policy_file")
    }
    everything_on["policy_file"] = _policy_files(tmp)[0]
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
        except (ValidationError, PolicyError):
            continue  # refused: no engine starts on it
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


def _policy_files(tmp: Path) -> list[Path]:
    """A strict policy file, then one that tries `approvals: 0` (refused at start)."""
    strict, loose = tmp / "strict-policy.yaml", tmp / "loose-policy.yaml"
    strict.write_text("rules:\n  - id: all\n    require: {approvals: 3, reason: true}\n")
    loose.write_text("rules:\n  - id: none\n    require: {approvals: 0}\n")
    return [strict, loose]


_WINDOW = "{days: [mon, tue, wed, thu, fri, sat, sun], after: '00:00', timezone: UTC}"
POLICY_VALUES: dict[tuple[str, str], list[str]] = {
    ("rule", "id"): ["x", "*", ""],
    ("rule", "description"): ["'skip the gate'", "null"],
    ("rule", "message"): ["'approved'", "null"],
    ("rule", "match"): ["{}", "null", "[]"],
    ("rule", "require"): ["{}", "null", "[]"],
    ("match", "tool"): ["'*'", "k_scale", "[]", "''"],
    ("match", "family"): ["kubectl", "[]", "none"],
    ("match", "destructive"): ["true", "false", "null"],
    ("match", "context"): ["'*'", "sandbox", "[]"],
    ("match", "namespace"): ["'*'", "shop", "[]"],
    ("match", "kind"): ["'*'", "deployment"],
    ("match", "labels"): ["{}", "{tier: critical}"],
    ("match", "requester_role"): ["operator", "[admin]", "[]"],
    ("match", "requester_group"): ["'*'", "[]"],
    ("require", "approvals"): ["0", "-1", "1", "10", "11", "null", "'0'", "false"],
    ("require", "approver_roles"): ["[]", "viewer", "operator", "admin", "'*'"],
    ("require", "approver_groups"): ["[]", "'*'", "sre"],
    ("require", "requester_excluded"): ["true", "false", "null", "0"],
    ("require", "reason"): ["true", "false", "null", "0"],
    ("require", "reason_pattern"): ["'.*'", "''", "'('", "null"],
    ("require", "windows"): ["[]", f"[{_WINDOW}]", "null"],
    ("require", "freezes"): ["[]", f"[{_WINDOW}]", "null"],
    ("require", "break_glass_role"): ["operator", "viewer", "'*'", "null"],
    ("require", "max_ttl_s"): ["0", "-1", "1", "null", "1000000000"],
    ("window", "days"): ["[]", "mon", "'*'"],
    ("window", "after"): ["'00:00'", "'25:00'", "null"],
    ("window", "before"): ["'24:00'", "'00:00'", "null"],
    ("window", "timezone"): ["UTC", "Mars/Base", "''"],
}
"""Plausible values (YAML) of every policy field, the loosening ones first in mind."""
_MODELS = {
    "rule": policy.Rule,
    "match": policy.Match,
    "require": policy.Require,
    "window": policy.Window,
}
_LOOSENERS = ["exempt: true", "allow: true", "skip: true", "approvals_required: 0"]


def _policy_texts() -> list[str]:
    for part, model in _MODELS.items():
        for name in model.model_fields:
            assert (part, name) in POLICY_VALUES, f"no values for {part}.{name}; extend this test"
    texts = []
    for (part, name), values in POLICY_VALUES.items():
        for value in values:
            if part == "rule":
                body = f"  - id: r\n    {name}: {value}\n" if name != "id" else f"  - id: {value}\n"
            elif part == "window":
                body = f"  - id: r\n    require:\n      freezes: [{{{name}: {value}}}]\n"
            else:
                body = f"  - id: r\n    {part}:\n      {name}: {value}\n"
            texts.append("rules:\n" + body)
    texts += [f"rules:\n  - id: r\n    {key}\n" for key in _LOOSENERS]
    texts += [f"rules:\n  - id: r\n    require: {{{key}}}\n" for key in _LOOSENERS]
    return texts


@pytest.mark.slow
async def test_no_policy_field_lets_a_mutation_run_without_approval(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    checkpointer = h.engine.graph.checkpointer
    refused = accepted = 0
    for text in _policy_texts():
        try:
            loaded = load_policy(text)
        except PolicyError:
            refused += 1
            continue
        accepted += 1
        for rule in loaded.rules:
            assert rule.require.approvals >= 1, text
            assert rule.require.requester_excluded in (True, None), text
        deps = dataclasses.replace(
            h.engine.deps, policy_file=ActivePolicy(loaded, "file", "file", text)
        )
        engine = Engine(deps, checkpointer)  # type: ignore[arg-type]
        run = await engine.submit_call(
            h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 9}
        )
        await engine.wait_run(run.id)
        await engine.aclose()
        assert (await h.store.get_run(run.id)).status == "awaiting_approval", text
        assert h.cluster.mutations() == [], text
    assert refused > 25
    assert accepted > 40
    approvals = await h.store.list_approvals(conversation_id=h.conversation.id, limit=10_000)
    assert len(approvals) == accepted
    assert [i for a in approvals for i in a.items if i.decisions or i.status != "pending"] == []
