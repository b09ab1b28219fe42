"""In-cluster identity: inside a pod (the service variables and the mounted ServiceAccount,
laid out in a temp dir) opsgate offers the context `in-cluster` and acts through the
ServiceAccount's token. The sandbox runs over TLS (kubectl sends tokens only over TLS) and
its RBAC decides: what the Role grants works, a verb it lacks is a 403."""

from __future__ import annotations

import asyncio
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from opsgate.errors import ConfigError
from opsgate.settings import Settings
from opsgate.tools import in_cluster
from tests.fixtures.cli import RunCli, _add_users
from tests.fixtures.sandbox import TOOLS, start_sandbox, stop_sandbox
from tests.replicas.servers import start_replica

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

T = TypeVar("T")
NAMESPACE = "pod-ns"
ROLE = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: opsgate, namespace: {NAMESPACE}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: opsgate-operator, namespace: {NAMESPACE}}}
rules:
  - apiGroups: ["apps"]
    resources: ["deployments", "replicasets"]
    verbs: ["get", "list", "watch", "patch", "update"]
  - apiGroups: ["apps"]
    resources: ["deployments/scale"]
    verbs: ["get", "patch", "update"]
  - apiGroups: [""]
    resources: ["pods", "events"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: opsgate-operator, namespace: {NAMESPACE}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: opsgate-operator}}
subjects: [{{kind: ServiceAccount, name: opsgate, namespace: {NAMESPACE}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NAMESPACE}, labels: {{app: web}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: "nginx:1.27"}}]}}
"""


@dataclass(frozen=True)
class Pod:
    """A TLS sandbox and the files and variables a pod of ServiceAccount `opsgate` sees."""

    admin_kubeconfig: Path
    serviceaccount_dir: Path
    token: str
    env: dict[str, str]
    home: Path

    def admin(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(TOOLS / "kubectl"), "--kubeconfig", str(self.admin_kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={"HOME": str(self.home), "PATH": "/usr/bin:/bin"},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def pod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pod]:
    workdir = tmp_path_factory.mktemp("tls-sandbox")
    proc, info = start_sandbox(workdir, extra=["--tls", "--no-jenkins"])
    try:
        home = workdir / "home"
        home.mkdir()
        pod = Pod(workdir / "kubeconfig", workdir / "serviceaccount", "", {}, home)
        pod.admin("apply", "-f", "-", stdin=ROLE)
        token = pod.admin("create", "token", "opsgate", "-n", NAMESPACE).strip()
        mount = workdir / "serviceaccount"
        mount.mkdir()
        (mount / "token").write_text(token)
        shutil.copyfile(info["ca_file"], mount / "ca.crt")
        (mount / "namespace").write_text(NAMESPACE)
        host, port = info["api_url"].removeprefix("https://").rsplit(":", 1)
        env = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
        yield Pod(pod.admin_kubeconfig, mount, token, env, home)
    finally:
        stop_sandbox(proc)


def _settings(pod: Pod, **values: Any) -> Settings:
    return Settings(_env_file=None, serviceaccount_dir=pod.serviceaccount_dir, **values)  # type: ignore[call-arg]


def test_outside_a_pod_nothing_changes(pod: Pod, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    settings = _settings(pod)
    assert in_cluster.detect(settings) is None
    with in_cluster.pod_settings(settings) as same:
        assert same is settings


def test_in_a_pod_the_kubeconfig_offers_in_cluster_by_token_file_only(
    pod: Pod, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in pod.env.items():
        monkeypatch.setenv(name, value)
    with in_cluster.pod_settings(_settings(pod, kubeconfig=pod.admin_kubeconfig)) as settings:
        assert settings.kubeconfig is not None
        written = settings.kubeconfig
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
        text = written.read_text()
        assert pod.token not in text
        document = yaml.safe_load(text)
        contexts = {c["name"]: c["context"] for c in document["contexts"]}
        assert set(contexts) == {"opsgate-sandbox", "in-cluster"}
        assert contexts["in-cluster"]["namespace"] == NAMESPACE
        users = {u["name"]: u["user"] for u in document["users"]}
        assert users["in-cluster"] == {"tokenFile": str(pod.serviceaccount_dir / "token")}
        assert document["current-context"] == "opsgate-sandbox"
    assert not written.exists()


def test_a_kubeconfig_context_named_in_cluster_is_refused(
    pod: Pod, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in pod.env.items():
        monkeypatch.setenv(name, value)
    clash = tmp_path / "kubeconfig"
    clash.write_text(
        yaml.safe_dump({"contexts": [{"name": "in-cluster", "context": {"cluster": "x"}}]})
    )
    with (
        pytest.raises(ConfigError, match="already has a context named 'in-cluster'"),
        in_cluster.pod_settings(_settings(pod, kubeconfig=clash)),
    ):
        pass


def _eventually(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_opsgate_in_a_pod_reads_and_changes_through_the_serviceaccount_and_rbac_decides(
    pod: Pod, tmp_path: Path
) -> None:
    tokens = asyncio.run(_add_users(tmp_path / "pod", {"olga": "operator", "bea": "approver"}))
    env = {
        **pod.env,
        "OPSGATE_SERVICEACCOUNT_DIR": str(pod.serviceaccount_dir),
        "OPSGATE_REQUIRE_DISTINCT_APPROVER": "false",
        "HOME": str(pod.home),
    }
    server = start_replica("pod", tmp_path, env)
    try:
        with server.api(tokens["olga"]) as olga, server.api(tokens["bea"]) as bea:
            _flow(pod, server.log, olga, bea)
    finally:
        server.stop()


def _flow(pod: Pod, log: Path, olga: httpx.Client, bea: httpx.Client) -> None:
    """Read, change and be refused as the pod's ServiceAccount; its token shows nowhere."""
    conversation = olga.post("/conversations", json={"context": "in-cluster"})
    assert conversation.status_code == 201, conversation.text
    cid = conversation.json()["id"]

    def call(tool: str, args: dict[str, Any]) -> str:
        started = olga.post(f"/conversations/{cid}/calls", json={"tool": tool, "args": args})
        assert started.status_code == 202, started.text
        return str(started.json()["run_id"])

    def finished(run_id: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            detail: dict[str, Any] = olga.get(f"/runs/{run_id}").json()
            status = detail["run"]["status"]
            return detail if status not in ("running", "awaiting_approval") else None

        return _eventually(probe, 60, f"run {run_id}")

    def approve(run_id: str, reason: str | None = None) -> None:
        def probe() -> dict[str, Any] | None:
            items = bea.get("/approvals", params={"status": "pending", "run_id": run_id})
            found = [a for a in items.json()["items"] if a["run_id"] == run_id]
            return found[0] if found else None

        approval = _eventually(probe, 60, "the approval request")
        decided = bea.post(
            f"/approvals/{approval['id']}/decision",
            json={
                "call_id": approval["items"][0]["call_id"],
                "approve": True,
                "reason": reason,
            },
        )
        assert decided.status_code == 200, decided.text

    read = finished(call("k8s_get", {"resource": "deployments", "namespace": NAMESPACE}))
    [get] = read["calls"]
    assert get["context"] == "in-cluster"
    assert get["status"] == "succeeded", get
    assert "web" in get["output"]

    scale = call("k8s_scale", {"resource": "deployment/web", "replicas": 2, "namespace": NAMESPACE})
    approve(scale)
    [scaled] = finished(scale)["calls"]
    assert scaled["status"] == "verified", scaled
    spec = yaml.safe_load(pod.admin("get", "deployment/web", "-n", NAMESPACE, "-o", "yaml"))
    assert spec["spec"]["replicas"] == 2

    delete = call("k8s_delete", {"resource": "deployment", "name": "web", "namespace": NAMESPACE})
    approve(delete, reason="the Role does not grant delete; RBAC must refuse")
    [refused] = finished(delete)["calls"]
    assert refused["status"] == "failed", refused
    assert "forbidden" in refused["output"].lower()
    assert 'User "system:serviceaccount:pod-ns:opsgate" cannot delete' in refused["output"]
    assert pod.admin("get", "deployment/web", "-n", NAMESPACE, "-o", "name").strip()

    audit = bea.get("/audit", params={"limit": 1000}).text
    assert "system:serviceaccount:pod-ns:opsgate" in audit
    assert pod.token not in audit
    assert pod.token not in log.read_text()


def test_doctor_names_each_contexts_identity_and_what_it_may_do(pod: Pod, run_cli: RunCli) -> None:
    result = run_cli(
        "doctor",
        env={
            **pod.env,
            "OPSGATE_SERVICEACCOUNT_DIR": str(pod.serviceaccount_dir),
            "OPSGATE_KUBECONFIG": str(pod.admin_kubeconfig),
            "HOME": str(pod.home),
        },
    )
    lines = {line.split(":", 1)[0]: line for line in result.stdout.splitlines()}
    in_pod = lines["ok   identity in-cluster"]
    assert "acts as ServiceAccount pod-ns/opsgate; in namespace pod-ns:" in in_pod
    assert "may change deployments.apps (patch,update)" in in_pod
    assert "delete" not in in_pod
    admin = lines["ok   identity opsgate-sandbox"]
    assert "kubeconfig user 'opsgate-sandbox' (as 'kubernetes-admin')" in admin
    assert "may do everything" in admin
    assert pod.token not in result.stdout + result.stderr
