"""`opsgate diagnose` against a real `opsgate serve` on the demo world, with no model: every
seeded problem (api, worker, checkout, shop-deploy) is found with its evidence, the healthy
`frontend` is not, a healthy namespace says so and exits 0, and the diagnosis ran as audited
read calls on the server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fixtures.cli import CliServer, serve_cli
from tests.fixtures.sandbox import SandboxInfo, kubectl, own_sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    yield from own_sandbox(tmp_path_factory.mktemp("diagnose-cli-demo"))


@pytest.fixture(scope="module")
def server(demo: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    assert demo.jenkins_url is not None
    assert demo.jenkins_user is not None
    assert demo.jenkins_token is not None
    with serve_cli(
        demo.kubeconfig,
        demo.context,
        tmp_path_factory.mktemp("diagnose-cli"),
        [],
        {"root": "admin", "oscar": "operator"},
        OPSGATE_JENKINS__SANDBOX__URL=demo.jenkins_url,
        OPSGATE_JENKINS__SANDBOX__USER=demo.jenkins_user,
        OPSGATE_JENKINS__SANDBOX__TOKEN=demo.jenkins_token,
    ) as running:
        yield running


def test_the_demo_problems_are_found_as_json(server: CliServer) -> None:
    done = server.run("diagnose", "-n", "shop", "--json", user="oscar")
    assert done.returncode == 4, done.stderr
    cluster, jenkins = json.loads(done.stdout)
    found = {(f["object"]["name"], f["analyzer"]) for f in cluster["findings"]}
    assert {("api", "crashloop"), ("api", "service_endpoints")} <= found
    assert {("worker", "image_pull"), ("checkout", "rollout_health")} <= found
    assert not any(name == "frontend" for name, _ in found)
    assert cluster["namespace"] == "shop"
    assert cluster["skipped"] == []
    assert [f["object"]["name"] for f in jenkins["findings"]] == ["shop-deploy"]
    assert jenkins["context"] == "jenkins:sandbox"
    with server.api("root") as api:
        audit = api.get("/audit", params={"limit": 200}).json()["items"]
    tools = {row.get("payload", {}).get("tool") for row in audit}
    assert {"k8s_diagnose", "jenkins_diagnose"} <= tools


def test_the_text_names_each_problem_and_the_fix_to_approve(server: CliServer) -> None:
    done = server.run("diagnose", "-n", "shop", "--no-jenkins", user="oscar")
    assert done.returncode == 4, done.stderr
    out = done.stdout
    assert "opsgate-sandbox, namespace shop" in out
    assert "CRITICAL deployment/api in shop: container api keeps crashing (2 pods)" in out
    assert "required environment variable DATABASE_URL is not set" in out
    assert "fix (needs approval): k8s_rollout_undo resource=deployment/worker namespace=shop" in out
    assert "frontend" not in out
    assert "jenkins" not in out


def test_a_healthy_namespace_exits_zero(server: CliServer, demo: SandboxInfo) -> None:
    assert kubectl(demo, "create", "namespace", "quiet").returncode == 0
    done = server.run("diagnose", "-n", "quiet", "--no-jenkins", user="oscar")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no problem found (checked: pods, deployments" in done.stdout
