"""The helm tools with the real bundled helm against the sandbox, reading the state back.

One release goes through its whole life in a private namespace: install preview, install,
reads (values and manifest redacted), upgrade preview and upgrade, rollback, uninstall; each
step is checked with kubectl or helm run by the fixture, not by the tool under test.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from opsgate.tools.base import ToolEnv
from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.tools.helm.helpers import call

pytestmark = [pytest.mark.sandbox]

PASSWORD = "s3cr3t-helm-value-91"

CHART_FILES = {
    "Chart.yaml": "apiVersion: v2\nname: shopweb\nversion: 0.1.0\nappVersion: '1.0'\n",
    "values.yaml": "replicaCount: 1\npassword: changeme\nimage: nginx:1.27\n",
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
    "templates/secret.yaml": """apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
type: Opaque
stringData:
  password: {{ .Values.password | quote }}
""",
}


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("charts") / "shopweb"
    for name, text in CHART_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def replicas(sandbox: SandboxInfo, namespace: str, name: str) -> int | None:
    got = kubectl(sandbox, "get", "deployment", name, "-n", namespace, "-o", "json")
    if got.returncode != 0:
        return None
    spec_replicas: int = json.loads(got.stdout)["spec"]["replicas"]
    return spec_replicas


async def test_release_lifecycle_with_previews_verifies_and_redaction(
    sandbox: SandboxInfo, helm_env: ToolEnv, chart: Path
) -> None:
    namespace = f"helm-{uuid.uuid4().hex[:8]}"
    release = {"release": "shopweb", "namespace": namespace}
    install_args = {
        **release,
        "chart": str(chart),
        "values_yaml": f"password: {PASSWORD}\n",
        "create_namespace": True,
    }

    preview = await call(helm_env, "helm_install", install_args, "preview")
    assert preview.ok, preview.text
    assert "+kind: Deployment" in preview.text
    assert PASSWORD not in preview.text
    assert replicas(sandbox, namespace, "shopweb") is None

    installed = await call(helm_env, "helm_install", install_args)
    assert installed.ok, installed.text
    assert replicas(sandbox, namespace, "shopweb") == 1
    assert (await call(helm_env, "helm_install", install_args, "verify")).ok

    listed = await call(helm_env, "helm_list", {"namespace": namespace, "output": "json"})
    assert [entry["name"] for entry in json.loads(listed.text)] == ["shopweb"]
    values = await call(helm_env, "helm_get_values", release)
    assert values.ok
    assert "password" in values.text
    assert PASSWORD not in values.text
    manifest = await call(helm_env, "helm_get_manifest", release)
    assert "kind: Secret" in manifest.text
    assert PASSWORD not in manifest.text

    upgrade_args = {**release, "chart": str(chart), "set": {"replicaCount": "3"}}
    diff = await call(helm_env, "helm_diff", upgrade_args)
    assert diff.ok, diff.text
    assert "-  replicas: 1" in diff.text
    assert "+  replicas: 3" in diff.text
    assert diff.data.state == "changes"
    assert replicas(sandbox, namespace, "shopweb") == 1

    upgraded = await call(helm_env, "helm_upgrade", {**upgrade_args, "wait": True, "timeout_s": 60})
    assert upgraded.ok, upgraded.text
    assert replicas(sandbox, namespace, "shopweb") == 3
    assert (await call(helm_env, "helm_upgrade", upgrade_args, "verify")).ok
    history = await call(helm_env, "helm_history", {**release, "output": "json"})
    assert [entry["revision"] for entry in json.loads(history.text)] == [1, 2]

    rollback_preview = await call(helm_env, "helm_rollback", release, "preview")
    assert "+  replicas: 1" in rollback_preview.text
    assert replicas(sandbox, namespace, "shopweb") == 3
    rolled_back = await call(helm_env, "helm_rollback", release)
    assert rolled_back.ok, rolled_back.text
    assert replicas(sandbox, namespace, "shopweb") == 1
    status = await call(helm_env, "helm_rollback", release, "verify")
    assert status.ok, status.text
    assert status.data.summary == (
        "release 'shopweb' revision 3 is deployed; "
        "deployment/shopweb: 1 of 1 replicas updated, available and ready"
    )

    uninstall_preview = await call(helm_env, "helm_uninstall", release, "preview")
    assert "-kind: Deployment" in uninstall_preview.text
    uninstalled = await call(helm_env, "helm_uninstall", release)
    assert uninstalled.ok, uninstalled.text
    assert replicas(sandbox, namespace, "shopweb") is None
    assert (await call(helm_env, "helm_uninstall", release, "verify")).ok


async def test_template_and_show_values_read_a_local_chart(helm_env: ToolEnv, chart: Path) -> None:
    rendered = await call(
        helm_env,
        "helm_template",
        {"release": "preview", "chart": str(chart), "set": {"replicaCount": "4"}},
    )
    assert rendered.ok, rendered.text
    assert "replicas: 4" in rendered.text
    shown = await call(helm_env, "helm_show_values", {"chart": str(chart)})
    assert "replicaCount: 1" in shown.text


async def test_upgrade_of_a_missing_release_fails_and_verify_says_so(
    helm_env: ToolEnv, chart: Path
) -> None:
    args = {"release": "nope", "namespace": "default", "chart": str(chart)}
    upgraded = await call(helm_env, "helm_upgrade", args)
    assert not upgraded.ok
    assert "nope" in upgraded.text
    verified = await call(helm_env, "helm_upgrade", args, "verify")
    assert not verified.ok


async def test_repo_add_of_an_unreachable_repository_fails_and_adds_nothing(
    helm_env: ToolEnv,
) -> None:
    args = {"name": "unreachable", "url": "https://127.0.0.1:9/charts"}
    added = await call(helm_env, "helm_repo_add", args)
    assert not added.ok
    assert not (await call(helm_env, "helm_repo_add", args, "verify")).ok
    assert (await call(helm_env, "helm_repo_remove", {"name": "unreachable"}, "verify")).ok
