"""Fidelity: helm v4 (Secret storage) against the sandbox with the bundled `cache` chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsgate.sandbox import helm_release
from tests.fixtures.sandbox import SandboxInfo, get_json, helm

pytestmark = pytest.mark.sandbox
CHART = str(helm_release.CHART_DIR)


def _releases(sandbox: SandboxInfo, namespace: str) -> dict[str, dict[str, str]]:
    listed = helm(sandbox, "list", "-n", namespace, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    return {r["name"]: r for r in json.loads(listed.stdout)}


def test_seeded_cache_release_is_deployed(sandbox: SandboxInfo) -> None:
    release = _releases(sandbox, "shop")["cache"]
    assert (release["status"], release["chart"], release["revision"]) == (
        "deployed",
        "cache-0.3.0",
        "1",
    )
    status = helm(sandbox, "status", "cache", "-n", "shop")
    assert "STATUS: deployed" in status.stdout
    manifest = helm(sandbox, "get", "manifest", "cache", "-n", "shop")
    assert "kind: Deployment" in manifest.stdout
    assert get_json(sandbox, "deployment", "cache", "-n", "shop")["status"]["readyReplicas"] == 1


def test_install_upgrade_rollback_uninstall(sandbox: SandboxInfo, namespace: str) -> None:
    installed = helm(sandbox, "install", "kv", CHART, "-n", namespace)
    assert installed.returncode == 0, installed.stderr
    assert get_json(sandbox, "deployment", "kv", "-n", namespace)["spec"]["replicas"] == 1
    upgraded = helm(sandbox, "upgrade", "kv", CHART, "-n", namespace, "--set", "replicaCount=3")
    assert upgraded.returncode == 0, upgraded.stderr
    assert get_json(sandbox, "deployment", "kv", "-n", namespace)["status"]["readyReplicas"] == 3
    values = helm(sandbox, "get", "values", "kv", "-n", namespace, "-o", "json")
    assert json.loads(values.stdout) == {"replicaCount": 3}
    rolled = helm(sandbox, "rollback", "kv", "1", "-n", namespace)
    assert rolled.returncode == 0, rolled.stderr
    assert get_json(sandbox, "deployment", "kv", "-n", namespace)["spec"]["replicas"] == 1
    history = json.loads(helm(sandbox, "history", "kv", "-n", namespace, "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [
        (1, "superseded"),
        (2, "superseded"),
        (3, "deployed"),
    ]
    secrets = get_json(sandbox, "secrets", "-n", namespace, "-l", "owner=helm,name=kv")["items"]
    assert len(secrets) == 3
    removed = helm(sandbox, "uninstall", "kv", "-n", namespace)
    assert removed.returncode == 0, removed.stderr
    assert _releases(sandbox, namespace) == {}
    assert get_json(sandbox, "deployments", "-n", namespace)["items"] == []


def test_template_renders_locally(sandbox: SandboxInfo, tmp_path: Path) -> None:
    rendered = helm(sandbox, "template", "demo", CHART, "--set", "image.tag=9.9")
    assert rendered.returncode == 0, rendered.stderr
    assert 'image: "ghcr.io/opsgate-demo/cache:9.9"' in rendered.stdout


def test_server_dry_run_installs_nothing(sandbox: SandboxInfo, namespace: str) -> None:
    dry = helm(sandbox, "install", "ghost", CHART, "-n", namespace, "--dry-run=server")
    assert dry.returncode == 0, dry.stderr
    assert "kind: Deployment" in dry.stdout
    assert _releases(sandbox, namespace) == {}
    assert get_json(sandbox, "deployments", "-n", namespace)["items"] == []
