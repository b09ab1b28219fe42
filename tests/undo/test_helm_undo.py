"""Snapshot and undo of a helm upgrade, with the real helm and kubectl on the sandbox: the
snapshot holds the release's revision and values, the undo is `helm_rollback` to that
revision with the upgrade's diff reversed, and after it the release's objects are as they
were."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from tests.fixtures.engine import HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, get_json, helm
from tests.undo.helpers import approve, awaiting, change, changed_lines, comparable, sandbox_factory

pytestmark = [pytest.mark.sandbox]

CHART_FILES = {
    "Chart.yaml": "apiVersion: v2\nname: shopweb\nversion: 0.1.0\nappVersion: '1.0'\n",
    "values.yaml": "replicaCount: 1\nimage: nginx:1.27\n",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
        - name: web
          image: {{ .Values.image }}
""",
}


@pytest.fixture
async def factory(sandbox: SandboxInfo, tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    made = sandbox_factory(sandbox, tmp_path)
    async with made.stack:
        yield made


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "charts" / "shopweb"
    for name, text in CHART_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


async def test_helm_upgrade_is_undone_by_rolling_back_to_the_snapshot_revision(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str, chart: Path
) -> None:
    installed = helm(
        sandbox, "install", "shopweb", str(chart), "-n", namespace, "--set", "image=nginx:1.27"
    )
    assert installed.returncode == 0, installed.stderr
    before = get_json(sandbox, "deployment/shopweb", "-n", namespace)
    h = await factory.open()
    upgrade = {
        "release": "shopweb",
        "namespace": namespace,
        "chart": str(chart),
        "set": {"replicaCount": "3", "image": "nginx:1.28"},
    }
    done = await change(h, "helm_upgrade", upgrade)
    assert get_json(sandbox, "deployment/shopweb", "-n", namespace)["spec"]["replicas"] == 3

    snapshot = await h.store.get_snapshot(done.item.call_id)
    [state] = snapshot.objects
    assert (state["revision"], state["status"]) == (1, "deployed")
    assert state["values"] == {"image": "nginx:1.27"}
    assert snapshot.undo is not None
    assert snapshot.undo["tool"] == "helm_rollback"
    assert snapshot.undo["args"]["revision"] == 1

    run, _restoring = await h.engine.submit_undo(done.item.call_id, h.operator)
    item = await awaiting(h, run)
    assert item.preview_state == "changes"
    removed, added = changed_lines(done.item.preview or "")
    assert {"replicas: 3", "image: nginx:1.28"} <= added
    assert changed_lines(item.preview or "") == (added, removed)
    undone = await approve(h, run)
    assert undone.run.status == "completed"

    after = get_json(sandbox, "deployment/shopweb", "-n", namespace)
    assert comparable(after) == comparable(before)
    values = helm(sandbox, "get", "values", "shopweb", "-n", namespace, "-o", "yaml")
    assert yaml.safe_load(values.stdout) == state["values"]
