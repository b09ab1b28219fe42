"""`opsgate chat` and `opsgate ask` against a real `opsgate serve`, as a user runs them.

The server is started with the CLI itself (scripted model, the sandbox's kubeconfig); the
token comes from `opsgate tokens login`; the interactive approval prompt is answered through
a pseudo-terminal.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pexpect
import pytest
import yaml

from tests.fixtures.cli import OPSGATE, cli_env
from tests.fixtures.net import free_port
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NAMESPACE = "cli-demo"
WORKLOAD = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
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


def scale_script(replicas: int) -> dict[str, object]:
    return {
        "match": f"(?i)scale web to {replicas}",
        "turns": [
            {
                "text": "Checking the web deployment first.",
                "tool_calls": [
                    {
                        "name": "k8s_get",
                        "args": {"resource": "deployments", "name": "web", "namespace": NAMESPACE},
                    }
                ],
            },
            {
                "text": f"Scaling web to {replicas}.",
                "tool_calls": [
                    {
                        "name": "k8s_scale",
                        "args": {
                            "resource": "deployment/web",
                            "namespace": NAMESPACE,
                            "replicas": replicas,
                        },
                    }
                ],
            },
            {"text": f"web now runs {replicas} replicas; the rollout finished."},
        ],
    }


@dataclass
class Server:
    url: str
    token: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def server(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=WORKLOAD)
    assert applied.returncode == 0, applied.stderr
    workdir = tmp_path_factory.mktemp("cli-server")
    script = workdir / "model.yaml"
    script.write_text(yaml.safe_dump({"scripts": [scale_script(2), scale_script(4)]}))
    port = free_port()
    env = cli_env(
        workdir / "data",
        OPSGATE_MODEL=f"scripted:{script}",
        OPSGATE_KUBECONFIG=str(sandbox.kubeconfig),
        OPSGATE_DEFAULT_CONTEXT=sandbox.context,
        OPSGATE_PORT=str(port),
        OPSGATE_LOG_LEVEL="WARNING",
        # One admin asks and approves at the prompt; the distinct-approver rule is not tested here.
        OPSGATE_REQUIRE_DISTINCT_APPROVER="false",
    )

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(OPSGATE), *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("users", "add", "root", "--role", "admin", "--password", "correct horse battery")
    log = (workdir / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(OPSGATE), "serve"], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (workdir / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "opsgate serve did not come up"
            time.sleep(0.2)
        # A token root makes signed in: one made on the database could not decide approvals.
        login = ("tokens", "login", "root", "--name", "chat-test", "--server", url)
        token = cli(*login, "--password", "correct horse battery").strip().splitlines()[-1]
        yield Server(url=url, token=token, env=env)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def replicas(sandbox: SandboxInfo) -> int:
    got = kubectl(
        sandbox, "get", "deployment", "web", "-n", NAMESPACE, "-o", "jsonpath={.spec.replicas}"
    )
    return int(got.stdout)


def test_chat_reads_asks_for_approval_at_the_prompt_and_verifies(
    server: Server, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    child = pexpect.spawn(
        str(OPSGATE),
        ["chat", "--server", server.url, "--token", server.token],
        env={**server.env, "TERM": "dumb"},
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=90,
        dimensions=(50, 200),
    )
    try:
        child.expect("you> ")
        child.sendline("please scale web to 2")
        child.expect("k8s_get")
        child.expect("succeeded")
        child.expect(r"approve\? \[y/N/r=reason/s=skip\]")
        assert replicas(sandbox) == 1, "nothing may change before the approval"
        child.sendline("y")
        child.expect("approved")
        child.expect("verified")
        child.expect("web now runs 2 replicas")
        child.expect("you> ")
        assert replicas(sandbox) == 2
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_ask_exits_3_while_awaiting_approval_and_prints_the_approval_id(
    server: Server, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(OPSGATE), "ask", "scale web to 4", "--server", server.url, "--token", server.token],
        cwd=tmp_path,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "awaiting approval:" in done.stdout
    approval_id = done.stdout.split("awaiting approval:")[1].split()[0]
    pending = httpx.get(
        f"{server.url}/api/v1/approvals",
        params={"status": "pending"},
        headers={"Authorization": f"Bearer {server.token}"},
    ).json()["items"]
    assert approval_id in [item["id"] for item in pending]
    assert replicas(sandbox) != 4
