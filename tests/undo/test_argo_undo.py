"""Snapshot and undo of an Argo promote on the sandbox's Rollout controller: the snapshot
holds the step and pauses the canary was at, the undo (`argo_return_to_step`) takes it back
there, paused as it was, with the same spec and traffic weight."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.engine import HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, eventually, get_json, kubectl
from tests.undo.helpers import approve, awaiting, change, comparable, sandbox_factory

pytestmark = [pytest.mark.sandbox]

ROLLOUTS = "rollouts.argoproj.io"


def _manifest(namespace: str, image: str) -> str:
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: shop, namespace: {namespace}, labels: {{app: shop}}}}
spec:
  replicas: 4
  selector: {{matchLabels: {{app: shop}}}}
  template:
    metadata: {{labels: {{app: shop}}}}
    spec: {{containers: [{{name: shop, image: "{image}"}}]}}
  strategy:
    canary:
      steps:
      - setWeight: 25
      - pause: {{}}
      - setWeight: 50
      - pause: {{}}
      - setWeight: 75
      - pause: {{}}
"""


def _read(sandbox: SandboxInfo, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = get_json(sandbox, ROLLOUTS, "shop", "-n", namespace)
    return found


def _where(rollout: dict[str, Any]) -> dict[str, Any]:
    """What a promote moves and its undo must bring back (times of pauses aside)."""
    status = rollout["status"]
    return {
        "step": status.get("currentStepIndex"),
        "phase": status.get("phase"),
        "stable": status.get("stableRS"),
        "canary": status.get("currentPodHash"),
        "pauses": [c["reason"] for c in status.get("pauseConditions") or []],
        "weights": status.get("canary", {}).get("weights"),
    }


@pytest.fixture
async def factory(sandbox: SandboxInfo, tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    made = sandbox_factory(sandbox, tmp_path)
    async with made.stack:
        yield made


async def test_argo_promote_is_undone_back_to_the_step_it_was_at(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=_manifest(namespace, "nginx:1.25"))
    assert applied.returncode == 0, applied.stderr
    eventually(lambda: _read(sandbox, namespace)["status"].get("phase") == "Healthy")
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "shop", "image": "nginx:1.26"}]}}}
    }
    patched = kubectl(
        sandbox,
        "patch",
        ROLLOUTS,
        "shop",
        "-n",
        namespace,
        "--type",
        "merge",
        "-p",
        json.dumps(patch),
    )
    assert patched.returncode == 0, patched.stderr
    before = _read(sandbox, namespace)
    assert _where(before)["step"] == 1
    assert _where(before)["pauses"] == ["CanaryPauseStep"]

    h = await factory.open()
    done = await change(h, "argo_promote", {"name": "shop", "namespace": namespace})
    assert done.run.status == "completed"
    promoted = _read(sandbox, namespace)
    assert _where(promoted)["step"] == 3

    snapshot = await h.store.get_snapshot(done.item.call_id)
    [held] = snapshot.objects
    assert held["status"]["currentStepIndex"] == 1
    assert snapshot.undo is not None
    assert snapshot.undo["tool"] == "argo_return_to_step"
    assert snapshot.undo["args"]["step"] == 1

    run, _restoring = await h.engine.submit_undo(done.item.call_id, h.operator)
    item = await awaiting(h, run)
    assert item.preview_state == "changes"
    assert '"currentStepIndex":1' in (item.command or "")
    undone = await approve(h, run)
    assert undone.run.status == "completed"

    after = _read(sandbox, namespace)
    assert _where(after) == _where(before)
    assert comparable(after) == comparable(before)
