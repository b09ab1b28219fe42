"""Fidelity: check pods that run one command and end, read back with the real kubectl.

`kubectl run --restart=Never` pods, helm test hooks and Job pods whose command is a script of
the exec vocabulary run it once: they end Completed or Error with its exit status, and
`kubectl logs` prints what the command printed.
"""

from __future__ import annotations

import re

import pytest

from tests.fixtures.sandbox import SandboxInfo, eventually, get_json, kubectl

pytestmark = pytest.mark.sandbox


def _phase(sandbox: SandboxInfo, namespace: str, pod: str) -> str | None:
    phase = get_json(sandbox, "pod", pod, "-n", namespace)["status"].get("phase")
    return None if phase in (None, "Pending") else str(phase)


def _run(sandbox: SandboxInfo, namespace: str, pod: str, *command: str) -> None:
    made = kubectl(
        sandbox,
        "run",
        pod,
        "-n",
        namespace,
        "--image=busybox:1.36",
        "--restart=Never",
        "--",
        *command,
    )
    assert made.returncode == 0, made.stderr


def test_a_check_pod_fetches_a_service_and_completes(sandbox: SandboxInfo, namespace: str) -> None:
    made = kubectl(sandbox, "create", "deployment", "web", "--image=nginx:1.27", "-n", namespace)
    assert made.returncode == 0, made.stderr
    assert (
        kubectl(sandbox, "expose", "deployment", "web", "--port=80", "-n", namespace).returncode
        == 0
    )
    status = kubectl(
        sandbox, "rollout", "status", "deployment/web", "-n", namespace, "--timeout=10s"
    )
    assert status.returncode == 0, status.stderr
    _run(sandbox, namespace, "check", "wget", "-qO-", "http://web")
    assert eventually(lambda: _phase(sandbox, namespace, "check")) == "Succeeded"
    listed = kubectl(sandbox, "get", "pod", "check", "-n", namespace, "--no-headers").stdout
    assert listed.split()[2] == "Completed"
    logs = kubectl(sandbox, "logs", "check", "-n", namespace)
    assert "<h1>Welcome to nginx!</h1>" in logs.stdout


def test_a_failing_check_ends_in_error_with_its_output(
    sandbox: SandboxInfo, namespace: str
) -> None:
    _run(sandbox, namespace, "lookup", "nslookup", "nosuch")
    assert eventually(lambda: _phase(sandbox, namespace, "lookup")) == "Failed"
    state = get_json(sandbox, "pod", "lookup", "-n", namespace)["status"]["containerStatuses"][0]
    assert (state["state"]["terminated"]["reason"], state["state"]["terminated"]["exitCode"]) == (
        "Error",
        1,
    )
    logs = kubectl(sandbox, "logs", "lookup", "-n", namespace)
    assert "can't find nosuch" in logs.stdout


def test_a_long_running_command_keeps_running(sandbox: SandboxInfo, namespace: str) -> None:
    _run(sandbox, namespace, "waiter", "sh", "-c", "echo started; sleep 3600")
    assert eventually(lambda: _phase(sandbox, namespace, "waiter")) == "Running"


def test_a_job_prints_its_script_output(sandbox: SandboxInfo, namespace: str) -> None:
    # The Kubernetes docs' CronJob example, run as a Job.
    made = kubectl(
        sandbox,
        "create",
        "job",
        "hello",
        "-n",
        namespace,
        "--image=busybox:1.28",
        "--",
        "/bin/sh",
        "-c",
        "date; echo Hello from the Kubernetes cluster",
    )
    assert made.returncode == 0, made.stderr
    done = kubectl(
        sandbox, "wait", "--for=condition=complete", "job/hello", "-n", namespace, "--timeout=15s"
    )
    assert done.returncode == 0, done.stderr
    logs = kubectl(sandbox, "logs", "job/hello", "-n", namespace).stdout.splitlines()
    assert logs[-1] == "Hello from the Kubernetes cluster"
    assert re.fullmatch(r"\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}", logs[0])


def test_the_server_logs_the_requests_it_answered(sandbox: SandboxInfo, namespace: str) -> None:
    made = kubectl(sandbox, "create", "deployment", "web", "--image=nginx:1.27", "-n", namespace)
    assert made.returncode == 0, made.stderr
    assert (
        kubectl(sandbox, "expose", "deployment", "web", "--port=80", "-n", namespace).returncode
        == 0
    )
    status = kubectl(
        sandbox, "rollout", "status", "deployment/web", "-n", namespace, "--timeout=10s"
    )
    assert status.returncode == 0, status.stderr
    _run(sandbox, namespace, "check", "wget", "-qO-", "http://web")
    assert eventually(lambda: _phase(sandbox, namespace, "check")) == "Succeeded"
    client = kubectl(
        sandbox,
        "run",
        "client",
        "-n",
        namespace,
        "--image=curlimages/curl:8.5.0",
        "--",
        "sleep",
        "3600",
    )
    assert client.returncode == 0, client.stderr
    eventually(lambda: _phase(sandbox, namespace, "client"), what="the client pod to run")
    fetched = kubectl(
        sandbox, "exec", "client", "-n", namespace, "--", "curl", "-s", "http://web/missing"
    )
    assert fetched.returncode == 0, fetched.stderr
    ips = {
        pod: get_json(sandbox, "pod", pod, "-n", namespace)["status"]["podIP"]
        for pod in ("check", "client")
    }
    logs = kubectl(sandbox, "logs", "deployment/web", "-n", namespace).stdout.splitlines()
    served = [line for line in logs if '"-" "' in line]
    assert len(served) == 2
    assert served[0].startswith(f"{ips['check']} - - [")
    assert served[0].endswith('] "GET / HTTP/1.1" 200 315 "-" "Wget" "-"')
    assert served[1].startswith(f"{ips['client']} - - [")
    assert '"GET /missing HTTP/1.1" 404 ' in served[1]
    assert served[1].endswith(' "-" "curl/8.5.0" "-"')


def test_kubernetes_default_resolves_as_on_every_cluster(
    sandbox: SandboxInfo, namespace: str
) -> None:
    # The Kubernetes docs' "Debugging DNS Resolution" first check.
    _run(sandbox, namespace, "dns", "nslookup", "kubernetes.default")
    assert eventually(lambda: _phase(sandbox, namespace, "dns")) == "Succeeded"
    logs = kubectl(sandbox, "logs", "dns", "-n", namespace).stdout
    assert "Name:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1" in logs
    listed = kubectl(sandbox, "get", "service", "kubernetes", "-n", "default", "--no-headers")
    assert listed.stdout.split()[:5] == [
        "kubernetes",
        "ClusterIP",
        "10.96.0.1",
        "<none>",
        "443/TCP",
    ]
    ends = kubectl(sandbox, "get", "endpoints", "kubernetes", "-n", "default", "--no-headers")
    assert ends.stdout.split()[1] == "172.18.0.2:6443"
