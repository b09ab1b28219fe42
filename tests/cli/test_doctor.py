"""`opsgate doctor` reports what is broken and how to fix it, with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.fixtures.cli import RunCli


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
