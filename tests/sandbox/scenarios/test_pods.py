"""Scenarios: pods that do not run (a crash loop, a bad image, OOMKilled, a failing readiness
probe), each fixed as the public tasks fix them and checked with `kubectl wait` / `get`."""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.sandbox.scenarios.task import Task, apply, get, jsonpath, run, run_task, wait_ready

pytestmark = pytest.mark.sandbox


def _deployment(container: str, name: str = "app") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
{container}"""


def _rolled_out_and_ready(sandbox: SandboxInfo, namespace: str) -> list[str]:
    status = kubectl(
        sandbox, "rollout", "status", "deployment/app", "-n", namespace, "--timeout=1s"
    )
    problems = [] if status.returncode == 0 else [f"rollout: {status.stderr.strip()}"]
    return problems + wait_ready(sandbox, namespace, "app=app")


CRASHING = """      - name: app
        image: busybox:1.36
        command: ["sh", "-c", "echo starting; exit 1"]
"""


def test_crashloop_fixed_by_its_command(sandbox: SandboxInfo, namespace: str) -> None:
    fixed = (
        '[{"op":"replace","path":"/spec/template/spec/containers/0/command",'
        '"value":["sh","-c","sleep 3600"]}]'
    )
    task = Task(
        setup=(apply(_deployment(CRASHING)),),
        fix=(run("patch", "deployment", "app", "-n", "{ns}", "--type=json", "-p", fixed),),
        verify=_rolled_out_and_ready,
    )
    run_task(sandbox, namespace, task)


def test_crashloop_shows_back_off_and_the_exit_code(sandbox: SandboxInfo, namespace: str) -> None:
    assert (
        kubectl(
            sandbox, "apply", "-n", namespace, "-f", "-", stdin=_deployment(CRASHING)
        ).returncode
        == 0
    )
    pod = get(sandbox, namespace, "pods", "-l", "app=app")["items"][0]
    container = pod["status"]["containerStatuses"][0]
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert container["lastState"]["terminated"]["exitCode"] == 1
    listed = kubectl(sandbox, "get", "pods", "-n", namespace).stdout
    assert "CrashLoopBackOff" in listed


POSTGRES = """      - name: app
        image: postgres:16
        ports: [{containerPort: 5432}]
"""


def test_database_crashloop_fixed_by_its_password(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(apply(_deployment(POSTGRES)),),
        fix=(
            run(
                "create", "secret", "generic", "db", "-n", "{ns}", "--from-literal=password=s3cr3t"
            ),
            run(
                "set",
                "env",
                "deployment/app",
                "-n",
                "{ns}",
                "--from=secret/db",
                "--prefix=POSTGRES_",
            ),
        ),
        verify=_rolled_out_and_ready,
    )
    run_task(sandbox, namespace, task)


def test_database_crash_logs_name_the_missing_variable(
    sandbox: SandboxInfo, namespace: str
) -> None:
    assert (
        kubectl(
            sandbox, "apply", "-n", namespace, "-f", "-", stdin=_deployment(POSTGRES)
        ).returncode
        == 0
    )
    logs = kubectl(sandbox, "logs", "deployment/app", "-n", namespace)
    assert "You must specify POSTGRES_PASSWORD" in logs.stdout


def test_image_pull_fixed_by_the_right_name(sandbox: SandboxInfo, namespace: str) -> None:
    typo = """      - name: app
        image: ngnix:1.27
"""
    task = Task(
        setup=(apply(_deployment(typo)),),
        fix=(run("set", "image", "deployment/app", "-n", "{ns}", "app=nginx:1.27"),),
        verify=_rolled_out_and_ready,
    )
    run_task(sandbox, namespace, task)


def test_misspelt_image_is_not_found(sandbox: SandboxInfo, namespace: str) -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
        "spec: {containers: [{name: web, image: 'ngnix:1.27'}]}\n"
    )
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=pod).returncode == 0
    described = kubectl(sandbox, "describe", "pod", "web", "-n", namespace).stdout
    assert 'Failed to pull image "ngnix:1.27"' in described


# The Kubernetes docs' "Assign Memory Resources" task: stress allocates 250M under a 100Mi limit.
STRESS = """      - name: app
        image: polinux/stress
        resources:
          requests: {{memory: 50Mi}}
          limits: {{memory: {limit}}}
        command: [stress]
        args: [--vm, "1", --vm-bytes, 250M, --vm-hang, "1"]
"""


def test_oomkilled_fixed_by_a_higher_limit(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(apply(_deployment(STRESS.format(limit="100Mi"))),),
        fix=(
            run(
                "set",
                "resources",
                "deployment/app",
                "-n",
                "{ns}",
                "--limits=memory=300Mi",
                "--requests=memory=260Mi",
            ),
        ),
        verify=_rolled_out_and_ready,
    )
    run_task(sandbox, namespace, task)


def test_oomkilled_is_reported_as_the_kubelet_does(sandbox: SandboxInfo, namespace: str) -> None:
    manifest = _deployment(STRESS.format(limit="100Mi"))
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=manifest).returncode == 0
    reason = jsonpath(
        sandbox,
        namespace,
        "pods",
        "-l",
        "app=app",
        "-o",
        "jsonpath={.items[0].status.containerStatuses[0].lastState.terminated.reason}",
    )
    code = jsonpath(
        sandbox,
        namespace,
        "pods",
        "-l",
        "app=app",
        "-o",
        "jsonpath={.items[0].status.containerStatuses[0].lastState.terminated.exitCode}",
    )
    assert (reason, code) == ("OOMKilled", "137")


PROBED = """      - name: app
        image: nginx:1.27
        ports: [{{containerPort: 80}}]
        readinessProbe:
          httpGet: {{path: {path}, port: {port}}}
          periodSeconds: 2
"""


def test_readiness_probe_fixed_by_its_path(sandbox: SandboxInfo, namespace: str) -> None:
    fixed = (
        '[{"op":"replace","path":"/spec/template/spec/containers/0/readinessProbe/httpGet",'
        '"value":{"path":"/","port":80}}]'
    )
    task = Task(
        setup=(apply(_deployment(PROBED.format(path="/healthz", port=80))),),
        fix=(run("patch", "deployment", "app", "-n", "{ns}", "--type=json", "-p", fixed),),
        verify=_rolled_out_and_ready,
    )
    run_task(sandbox, namespace, task)


@pytest.mark.parametrize(
    ("path", "port", "message"),
    [
        ("/healthz", 80, "Readiness probe failed: HTTP probe failed with statuscode: 404"),
        ("/", 8080, ':8080/": dial tcp '),
    ],
)
def test_failing_probe_event_has_the_kubelets_text(
    sandbox: SandboxInfo, namespace: str, path: str, port: int, message: str
) -> None:
    manifest = _deployment(PROBED.format(path=path, port=port))
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=manifest).returncode == 0
    pod = get(sandbox, namespace, "pods", "-l", "app=app")["items"][0]
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["containerStatuses"][0]["ready"] is False
    events = kubectl(
        sandbox, "get", "events", "-n", namespace, "--field-selector", "reason=Unhealthy"
    ).stdout
    assert message in events
