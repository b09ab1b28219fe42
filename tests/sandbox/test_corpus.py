"""Real inputs: public manifests, kustomize bases and charts applied with the real kubectl and
helm (`corpus/SOURCES.md`).

Every manifest is applied, read back (`get`, `describe`), diffed (`kubectl diff` finds
nothing once applied) and applied again server-side; those marked `# expect-error:` must fail
with that API server message instead. Kustomize bases go through `kubectl apply -k`; charts
through helm install, upgrade, rollback and uninstall.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.fixtures.sandbox import SandboxInfo, helm, kubectl

pytestmark = pytest.mark.sandbox

CORPUS = Path(__file__).parent / "corpus"
MANIFESTS = sorted((CORPUS / "manifests").glob("*.yaml"))
EXPECT = "# expect-error:"


def _expected_error(path: Path) -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith(EXPECT):
            return line[len(EXPECT) :].strip()
    return None


def _objects(path: Path) -> list[dict[str, str]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return [{"kind": d["kind"], "name": d["metadata"]["name"]} for d in docs]


def test_the_corpus_is_large_enough() -> None:
    kinds = {o["kind"] for path in MANIFESTS for o in _objects(path)}
    assert len(MANIFESTS) >= 60
    assert len(kinds) >= 25


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_manifest(sandbox: SandboxInfo, namespace: str, path: Path) -> None:
    text = path.read_text()
    applied = kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=text)
    expected = _expected_error(path)
    if expected is not None:
        assert applied.returncode != 0
        assert expected in applied.stderr
        return
    assert applied.returncode == 0, applied.stderr
    got = kubectl(sandbox, "get", "-n", namespace, "-f", "-", "-o", "json", stdin=text)
    assert got.returncode == 0, got.stderr
    found = json.loads(got.stdout)
    items = found.get("items", [found])
    assert [i["metadata"]["name"] for i in items] == [o["name"] for o in _objects(path)]
    described = kubectl(sandbox, "describe", "-n", namespace, "-f", "-", stdin=text)
    assert described.returncode == 0, described.stderr
    assert all(o["name"] in described.stdout for o in _objects(path))
    diff = kubectl(sandbox, "diff", "-n", namespace, "-f", "-", stdin=text)
    assert (diff.returncode, diff.stdout) == (0, ""), diff.stderr
    server_side = kubectl(
        sandbox,
        "apply",
        "--server-side",
        "--force-conflicts",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=text,
    )
    assert server_side.returncode == 0, server_side.stderr


@pytest.mark.parametrize(
    "base", ["hello-world/base", "hello-world/overlays/staging", "configmap-generator"]
)
def test_kustomize(sandbox: SandboxInfo, namespace: str, base: str) -> None:
    where = str(CORPUS / "kustomize" / base)
    applied = kubectl(sandbox, "apply", "-k", where, "-n", namespace)
    assert applied.returncode == 0, applied.stderr
    diff = kubectl(sandbox, "diff", "-k", where, "-n", namespace)
    assert (diff.returncode, diff.stdout) == (0, ""), diff.stderr
    rendered = kubectl(sandbox, "kustomize", where)
    deployment = next(
        d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "Deployment"
    )
    status = kubectl(
        sandbox,
        "rollout",
        "status",
        f"deployment/{deployment['metadata']['name']}",
        "-n",
        namespace,
        "--timeout=10s",
    )
    assert status.returncode == 0, status.stderr


def test_helm_create_chart_lifecycle(sandbox: SandboxInfo, namespace: str) -> None:
    chart = str(CORPUS / "charts" / "web")
    installed = helm(sandbox, "install", "web", chart, "-n", namespace, "--wait", "--timeout=20s")
    assert installed.returncode == 0, installed.stderr
    status = kubectl(
        sandbox, "rollout", "status", "deployment/web", "-n", namespace, "--timeout=10s"
    )
    assert status.returncode == 0, status.stderr
    # The chart's test hook: a busybox pod that runs `wget web:80` once and exits 0.
    tested = helm(sandbox, "test", "web", "-n", namespace, "--timeout=20s")
    assert tested.returncode == 0, tested.stderr
    assert "Phase:          Succeeded" in tested.stdout
    fetched = kubectl(sandbox, "logs", "web-test-connection", "-n", namespace)
    assert "Connecting to web (" in fetched.stdout
    upgraded = helm(
        sandbox,
        "upgrade",
        "web",
        chart,
        "-n",
        namespace,
        "--set",
        "replicaCount=2",
        "--set",
        "autoscaling.enabled=true",
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert kubectl(sandbox, "get", "hpa", "web", "-n", namespace).returncode == 0
    rolled = helm(sandbox, "rollback", "web", "1", "-n", namespace)
    assert rolled.returncode == 0, rolled.stderr
    assert kubectl(sandbox, "get", "hpa", "web", "-n", namespace).returncode != 0
    removed = helm(sandbox, "uninstall", "web", "-n", namespace)
    assert removed.returncode == 0, removed.stderr
    assert kubectl(sandbox, "get", "deployment", "web", "-n", namespace).returncode != 0


def test_chart_that_ships_a_crd(sandbox: SandboxInfo, namespace: str) -> None:
    chart = str(CORPUS / "charts" / "crontab")
    installed = helm(sandbox, "install", "jobs", chart, "-n", namespace)
    assert installed.returncode == 0, installed.stderr
    listed = kubectl(sandbox, "get", "crontabs", "-n", namespace)
    assert listed.returncode == 0, listed.stderr
    # The CRD's printer columns, and no AGE: it declares none (the docs' version adds one).
    assert listed.stdout.split()[:4] == ["NAME", "SPEC", "REPLICAS", "jobs-crontab"]
    assert "jobs-crontab" in listed.stdout
    bad = helm(sandbox, "upgrade", "jobs", chart, "-n", namespace, "--set", "replicas=many")
    assert bad.returncode != 0
    assert (
        'spec.replicas: Invalid value: "many": '
        'spec.replicas in body must be of type integer: "string"' in bad.stderr
    )
    assert helm(sandbox, "uninstall", "jobs", "-n", namespace).returncode == 0


def test_template_guide_chart_values_and_rollback(sandbox: SandboxInfo, namespace: str) -> None:
    chart = str(CORPUS / "charts" / "mychart")
    installed = helm(sandbox, "install", "guide", chart, "-n", namespace)
    assert installed.returncode == 0, installed.stderr
    data = json.loads(
        kubectl(
            sandbox, "get", "configmap", "guide-configmap", "-n", namespace, "-o", "json"
        ).stdout
    )["data"]
    assert (data["drink"], data["food"], data["mug"]) == ("coffee", "PIZZA", "true")
    upgraded = helm(
        sandbox, "upgrade", "guide", chart, "-n", namespace, "--set", "favorite.drink=tea"
    )
    assert upgraded.returncode == 0, upgraded.stderr
    data = json.loads(
        kubectl(
            sandbox, "get", "configmap", "guide-configmap", "-n", namespace, "-o", "json"
        ).stdout
    )["data"]
    assert data["drink"] == "tea"
    assert "mug" not in data
    assert helm(sandbox, "rollback", "guide", "1", "-n", namespace).returncode == 0
    drink = kubectl(
        sandbox,
        "get",
        "configmap",
        "guide-configmap",
        "-n",
        namespace,
        "-o",
        "jsonpath={.data.drink}",
    )
    assert drink.stdout == "coffee"
    assert helm(sandbox, "uninstall", "guide", "-n", namespace).returncode == 0
