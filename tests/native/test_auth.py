"""The native path authenticates as kubectl does: client certificates, bearer tokens, token
files and exec credential plugins, against a TLS sandbox whose RBAC decides.

A ServiceAccount `reader` may list pods and deployments in `auth-ns` and nothing else, so a
read the token does not allow is a 403 that names the ServiceAccount: both paths must print
the same answer, which proves the credential reached the server and was checked. The exec
plugin is a small Python script that counts its runs.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsgate.errors import NotNative
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.kubectl import reads
from opsgate.tools.native import get as native_get
from opsgate.tools.native.pool import ApiPool
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.sandbox import TOOLS, start_sandbox, stop_sandbox

pytestmark = [pytest.mark.sandbox]

NAMESPACE = "auth-ns"
SETUP = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: reader, namespace: {NAMESPACE}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: reader, namespace: {NAMESPACE}}}
rules:
  - apiGroups: ["", "apps"]
    resources: ["pods", "deployments"]
    verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: reader, namespace: {NAMESPACE}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}
subjects: [{{kind: ServiceAccount, name: reader, namespace: {NAMESPACE}}}]
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

PLUGIN = """#!{python}
import json, os, sys
with open({count!r}, "a") as out:
    out.write("run\\n")
request = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
assert request["spec"]["interactive"] is False, request
status = {{"token": open({token!r}).read().strip(), "expirationTimestamp": {expiry!r}}}
print(json.dumps({{"apiVersion": request["apiVersion"], "kind": "ExecCredential",
                  "status": status}}))
"""


@dataclass(frozen=True)
class TlsCluster:
    workdir: Path
    admin: dict[str, Any]
    """The sandbox's own kubeconfig (CA and client certificate files)."""
    token: str
    home: Path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCluster]:
    workdir = tmp_path_factory.mktemp("native-tls")
    proc, _ = start_sandbox(workdir, seed="empty", extra=["--tls", "--no-jenkins"])
    home = workdir / "home"
    home.mkdir()
    try:

        def admin(*args: str, stdin: str | None = None) -> str:
            done = subprocess.run(
                [str(TOOLS / "kubectl"), "--kubeconfig", str(workdir / "kubeconfig"), *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
                env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        admin("apply", "-f", "-", stdin=SETUP)
        token = admin("create", "token", "reader", "-n", NAMESPACE).strip()
        document = yaml.safe_load((workdir / "kubeconfig").read_text())
        yield TlsCluster(workdir, document, token, home)
    finally:
        stop_sandbox(proc)


def _kubeconfig(cluster: TlsCluster, path: Path, user: dict[str, Any]) -> Path:
    document = json.loads(json.dumps(cluster.admin))
    document["users"][0]["user"] = user
    path.write_text(yaml.safe_dump(document))
    return path


def _env(cluster: TlsCluster, kubeconfig: Path) -> ToolEnv:
    runner = SubprocessRunner(env=child_env({"HOME": str(cluster.home), "PATH": "/usr/bin:/bin"}))
    return ToolEnv(
        runner=runner,
        kubectl=TOOLS / "kubectl",
        helm=TOOLS / "helm",
        kubeconfig=kubeconfig,
        default_context="opsgate-sandbox",
        command_timeout_s=30,
        api=ApiPool(base_env=runner.env),
    )


async def _native(env: ToolEnv, args: dict[str, Any]) -> CommandResult:
    params = p.GetParams.model_validate(args)
    target = Target.of(env, "kubectl", None)
    return await native_get.k8s_get(params, env, target, reads.k8s_get(params, target))


async def _assert_same(env: ToolEnv, args: dict[str, Any]) -> tuple[int, str, str]:
    params = p.GetParams.model_validate(args)
    argv = reads.k8s_get(params, Target.of(env, "kubectl", None))
    seen = []
    for _ in range(3):  # an age may tick over between the two reads
        spawned = await env.runner.run(argv, timeout_s=30)
        native = await _native(env, args)
        pair = [(r.exit_code, r.stdout, r.stderr) for r in (spawned, native)]
        if pair[0] == pair[1]:
            return pair[0]
        seen.append(pair)
    assert seen[-1][1] == seen[-1][0]
    return seen[-1][0]


DEPLOYMENTS = {"resource": "deployments", "namespace": NAMESPACE}
SECRETS = {"resource": "secrets", "namespace": NAMESPACE}


async def test_client_certificate_files_over_tls(cluster: TlsCluster) -> None:
    env = _env(cluster, cluster.workdir / "kubeconfig")
    code, stdout, _ = await _assert_same(env, DEPLOYMENTS)
    assert code == 0
    assert stdout.startswith("NAME ")
    assert "web" in stdout


def _inline(cluster: TlsCluster, path: Path) -> Path:
    """The admin kubeconfig with its CA and client certificate inlined as `*-data`."""
    document = json.loads(json.dumps(cluster.admin))
    user, server = document["users"][0]["user"], document["clusters"][0]["cluster"]
    for entry, field in ((user, "client-certificate"), (user, "client-key")):
        entry[f"{field}-data"] = base64.b64encode(Path(entry.pop(field)).read_bytes()).decode()
    ca_file = server.pop("certificate-authority")
    server["certificate-authority-data"] = base64.b64encode(Path(ca_file).read_bytes()).decode()
    path.write_text(yaml.safe_dump(document))
    return path


async def test_inline_certificate_data(cluster: TlsCluster, tmp_path: Path) -> None:
    code, stdout, _ = await _assert_same(
        _env(cluster, _inline(cluster, tmp_path / "kubeconfig")), DEPLOYMENTS
    )
    assert code == 0
    assert "web" in stdout


async def test_a_bearer_token_is_the_service_account(cluster: TlsCluster, tmp_path: Path) -> None:
    env = _env(cluster, _kubeconfig(cluster, tmp_path / "kubeconfig", {"token": cluster.token}))
    assert (await _assert_same(env, DEPLOYMENTS))[0] == 0
    code, stdout, stderr = await _assert_same(env, SECRETS)
    assert code == 1
    assert stdout == ""
    assert stderr.startswith("Error from server (Forbidden): ")
    assert "system:serviceaccount:auth-ns:reader" in stderr


async def test_a_token_file_is_read_for_the_token(cluster: TlsCluster, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(cluster.token + "\n")
    user = {"tokenFile": str(token_file)}
    env = _env(cluster, _kubeconfig(cluster, tmp_path / "kubeconfig", user))
    assert (await _assert_same(env, DEPLOYMENTS))[0] == 0
    assert (await _assert_same(env, SECRETS))[0] == 1


def _plugin(cluster: TlsCluster, folder: Path, expires_in_s: float) -> tuple[dict[str, Any], Path]:
    token_file, count = folder / "token", folder / "runs"
    token_file.write_text(cluster.token)
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + expires_in_s))
    script = folder / "plugin.py"
    script.write_text(
        PLUGIN.format(python=sys.executable, count=str(count), token=str(token_file), expiry=expiry)
    )
    os.chmod(script, 0o700)
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(script),
            "interactiveMode": "Never",
        }
    }
    return user, count


def _runs(count: Path) -> int:
    return len(count.read_text().splitlines()) if count.exists() else 0


async def test_an_exec_plugin_token_is_cached_until_it_expires(
    cluster: TlsCluster, tmp_path: Path
) -> None:
    user, count = _plugin(cluster, tmp_path, expires_in_s=3600)
    env = _env(cluster, _kubeconfig(cluster, tmp_path / "kubeconfig", user))
    assert (await _assert_same(env, SECRETS))[0] == 1  # the plugin's token, so Forbidden
    kubectl_runs = _runs(count) - 1
    assert kubectl_runs >= 1  # kubectl ran the plugin too
    before = _runs(count)
    for _ in range(3):
        assert (await _native(env, DEPLOYMENTS)).exit_code == 0
    assert _runs(count) == before


async def test_an_expired_exec_credential_runs_the_plugin_again(
    cluster: TlsCluster, tmp_path: Path
) -> None:
    user, count = _plugin(cluster, tmp_path, expires_in_s=-60)
    env = _env(cluster, _kubeconfig(cluster, tmp_path / "kubeconfig", user))
    assert (await _native(env, DEPLOYMENTS)).exit_code == 0  # reads discovery too
    before = _runs(count)
    for _ in range(2):
        assert (await _native(env, DEPLOYMENTS)).exit_code == 0
    assert _runs(count) == before + 2


async def test_a_refused_token_falls_back_to_kubectl(cluster: TlsCluster, tmp_path: Path) -> None:
    env = _env(cluster, _kubeconfig(cluster, tmp_path / "kubeconfig", {"token": "not-a-token"}))
    with pytest.raises(NotNative, match="401"):
        await _native(env, DEPLOYMENTS)
