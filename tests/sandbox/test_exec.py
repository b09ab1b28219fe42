"""Fidelity: `kubectl exec` over its WebSocket protocol into simulated containers.

The vocabulary (env, files, names, HTTP), exit codes as kubectl reports them, what a minimal
image lacks, and the refusals (RBAC, a container that is not running, SPDY).
"""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = pytest.mark.sandbox

WORLD = """apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {LOG_LEVEL: info}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cr3t}
---
apiVersion: v1
kind: Pod
metadata: {name: box, labels: {app: box, tier: tools}}
spec:
  containers:
  - name: box
    image: busybox:1.36
    command: [sleep, "3600"]
    envFrom: [{configMapRef: {name: settings}}]
    env:
    - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    volumeMounts:
    - {name: creds, mountPath: /etc/creds, readOnly: true}
    - {name: info, mountPath: /etc/podinfo}
  volumes:
  - {name: creds, secret: {secretName: creds}}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
---
apiVersion: v1
kind: Pod
metadata: {name: echo, labels: {app: echo}}
spec:
  containers:
  - {name: echo, image: "hashicorp/http-echo:1.0", args: ["-text=hello from echo"]}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{port: 80, targetPort: 5678}]
"""


@pytest.fixture
def world(sandbox: SandboxInfo, namespace: str) -> str:
    applied = kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=WORLD)
    assert applied.returncode == 0, applied.stderr
    return namespace


def _exec(
    sandbox: SandboxInfo, namespace: str, *argv: str, pod: str = "box"
) -> tuple[int, str, str]:
    result = kubectl(sandbox, "exec", "-n", namespace, pod, "--", *argv)
    return result.returncode, result.stdout, result.stderr


def test_environment_resolves_references(sandbox: SandboxInfo, world: str) -> None:
    code, out, _ = _exec(sandbox, world, "env")
    assert code == 0
    lines = set(out.splitlines())
    assert {"LOG_LEVEL=info", "DB_PASSWORD=s3cr3t", "POD_NAME=box", "HOSTNAME=box"} <= lines
    assert "ECHO_SERVICE_PORT=80" in lines
    assert _exec(sandbox, world, "printenv", "DB_PASSWORD")[:2] == (0, "s3cr3t\n")
    assert _exec(sandbox, world, "printenv", "NOPE")[0] == 1


def test_mounted_secret_and_downward_api_files(sandbox: SandboxInfo, world: str) -> None:
    assert _exec(sandbox, world, "cat", "/etc/creds/password")[:2] == (0, "s3cr3t")
    assert _exec(sandbox, world, "cat", "/etc/podinfo/labels")[:2] == (0, 'app="box"\ntier="tools"')
    code, _, err = _exec(sandbox, world, "cat", "/etc/nothing")
    assert (code, err.splitlines()[0]) == (
        1,
        "cat: can't open '/etc/nothing': No such file or directory",
    )
    assert _exec(sandbox, world, "ls", "/etc/creds")[:2] == (0, "password\n")
    assert (
        "namespace"
        in _exec(sandbox, world, "ls", "/var/run/secrets/kubernetes.io/serviceaccount")[1]
    )


def test_names_and_http_between_pods(sandbox: SandboxInfo, world: str) -> None:
    code, out, _ = _exec(sandbox, world, "nslookup", "echo")
    assert code == 0
    assert f"Name:\techo.{world}.svc.cluster.local" in out
    assert _exec(sandbox, world, "wget", "-qO-", "http://echo")[:2] == (0, "hello from echo\n")
    code, _, err = _exec(sandbox, world, "wget", "-qO-", "http://missing")
    assert (code, err.splitlines()[0]) == (1, "wget: bad address 'missing'")
    code, out, _ = _exec(sandbox, world, "nslookup", "missing")
    assert code == 1
    assert "** server can't find missing: NXDOMAIN" in out


def test_exit_codes_and_unknown_programs(sandbox: SandboxInfo, world: str) -> None:
    code, _, err = _exec(sandbox, world, "sh", "-c", "echo hi && exit 3")
    assert code == 3
    assert "command terminated with exit code 3" in err
    code, _, err = _exec(sandbox, world, "sh", "-c", "curl http://echo")
    assert (code, err.splitlines()[0]) == (127, "sh: curl: not found")
    code, _, err = _exec(sandbox, world, "sh", "-c", "env | grep LOG")
    assert code == 2
    assert "pipes, background jobs and redirections are not simulated" in err
    code, _, err = _exec(sandbox, world, "sh", pod="echo")
    assert code == 127
    assert 'exec: "sh": executable file not found in $PATH' in err


def test_exec_needs_rbac_and_a_running_container(sandbox: SandboxInfo, world: str) -> None:
    # jane may read pods (view) but not exec into them.
    viewer = kubectl(
        sandbox,
        "create",
        "rolebinding",
        "jane-views",
        "-n",
        world,
        "--clusterrole=view",
        "--user=jane",
    )
    assert viewer.returncode == 0, viewer.stderr
    denied = kubectl(sandbox, "exec", "-n", world, "box", "--as", "jane", "--", "id")
    assert denied.returncode != 0
    assert 'User "jane" cannot create resource "pods/exec"' in denied.stderr
    bad = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: stuck}\n"
        "spec: {containers: [{name: app, image: 'nginx:doesnotexist'}]}\n"
    )
    assert kubectl(sandbox, "apply", "-n", world, "-f", "-", stdin=bad).returncode == 0
    stuck = kubectl(sandbox, "exec", "-n", world, "stuck", "--", "id")
    assert stuck.returncode != 0
    assert 'container not found ("app")' in stuck.stderr
    missing = kubectl(sandbox, "exec", "-n", world, "ghost", "--", "id")
    assert 'pods "ghost" not found' in missing.stderr


def test_spdy_exec_is_refused_with_the_protocol_to_use(sandbox: SandboxInfo, world: str) -> None:
    with httpx.Client(base_url=sandbox.api_url, timeout=10) as client:
        answer = client.post(f"/api/v1/namespaces/{world}/pods/box/exec?command=id&stdout=true")
    assert answer.status_code == 400
    assert "v5.channel.k8s.io" in answer.json()["message"]
