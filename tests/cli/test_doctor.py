"""`opsgate doctor` reports what is broken and how to fix it, with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.fixtures.api import running_app
from tests.fixtures.cli import RunCli
from tests.fixtures.jenkins import JenkinsSandbox


def kubeconfig_for(path: Path, server: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "gone", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
                "current-context": "gone",
            }
        )
    )
    return path


def test_doctor_reports_a_missing_binary(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("doctor", env={"OPSGATE_KUBECTL_PATH": str(tmp_path / "no-kubectl")})
    assert result.returncode == 1
    assert "FAIL kubectl" in result.stdout
    assert "OPSGATE_KUBECTL_PATH" in result.stdout
    assert "ok   helm" in result.stdout


def test_doctor_reports_an_unreachable_context(run_cli: RunCli, tmp_path: Path) -> None:
    config = kubeconfig_for(tmp_path / "kubeconfig", "https://127.0.0.1:1")
    result = run_cli("doctor", "--kubeconfig", str(config))
    assert result.returncode == 1
    assert "FAIL context gone: unreachable" in result.stdout
    assert "not-a-real-token" not in result.stdout


def test_doctor_never_prints_the_model_key(run_cli: RunCli) -> None:
    secret = "sk-test-do-not-print-0123456789"
    result = run_cli(
        "doctor", env={"OPSGATE_MODEL": "openai/gpt-4.1", "OPSGATE_MODEL_API_KEY": secret}
    )
    assert "openai/gpt-4.1" in result.stdout
    assert "API key set" in result.stdout
    assert secret not in result.stdout + result.stderr


async def test_doctor_shows_and_probes_the_jenkins_servers_added_through_the_admin_api(
    run_cli: RunCli, tmp_path: Path, jenkins_sandbox: JenkinsSandbox
) -> None:
    async with running_app(tmp_path / "data") as env, env.client("admin") as admin:
        for name, token in (("ci", jenkins_sandbox.token), ("stale", "not-the-token")):
            added = await admin.put(
                f"/api/v1/jenkins-servers/{name}",
                json={"url": jenkins_sandbox.url, "user": jenkins_sandbox.user, "token": token},
            )
            assert added.status_code == 200, added.text
    result = run_cli("doctor")
    assert (
        f"ok   jenkins ci: {jenkins_sandbox.url} as {jenkins_sandbox.user!r} "
        "(added through the admin API)"
    ) in result.stdout
    assert f"FAIL jenkins stale: {jenkins_sandbox.url} (added through the admin API)" in (
        result.stdout
    )
    assert "check its URL, user and API token" in result.stdout
    assert jenkins_sandbox.token not in result.stdout + result.stderr
    assert result.returncode == 1


def test_doctor_says_when_no_jenkins_server_is_configured(run_cli: RunCli) -> None:
    result = run_cli("doctor")
    assert "ok   jenkins: no server configured" in result.stdout
