"""`Settings.key`: configured or generated keys, never empty or short, the same in every process;
and where each security setting came from (environment, `.env` file, key file, default)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from opsgate import settings as settings_module
from opsgate.errors import ConfigError
from opsgate.settings import MIN_KEY_BYTES, Settings


def settings(data_dir: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", ["approval_key", "secret_key"])
@pytest.mark.parametrize("value", ["", "x", "k" * (MIN_KEY_BYTES - 1)])
def test_an_empty_or_short_configured_key_is_refused(tmp_path: Path, name: str, value: str) -> None:
    configured = settings(tmp_path, **{name: SecretStr(value)})
    with pytest.raises(ConfigError) as refused:
        configured.key(name)  # type: ignore[arg-type]
    message = str(refused.value)
    assert f"OPSGATE_{name.upper()}" in message
    assert f"at least {MIN_KEY_BYTES} bytes" in message
    assert "secrets.token_urlsafe(32)" in message
    if value:
        assert value not in message


@pytest.mark.parametrize("name", ["approval_key", "secret_key", "session_key"])
def test_a_configured_key_of_the_minimum_length_is_used_as_is(tmp_path: Path, name: str) -> None:
    value = "0123456789abcdefghijklmnopqrstuv"
    assert len(value) == MIN_KEY_BYTES
    assert settings(tmp_path, **{name: SecretStr(value)}).key(name) == value.encode()  # type: ignore[arg-type]
    assert not (tmp_path / "keys" / name).exists()


@pytest.mark.parametrize("name", ["approval_key", "secret_key", "session_key"])
def test_a_generated_key_is_long_private_and_stable(tmp_path: Path, name: str) -> None:
    first = settings(tmp_path).key(name)  # type: ignore[arg-type]
    path = tmp_path / "keys" / name
    assert len(first) >= MIN_KEY_BYTES
    assert path.stat().st_mode & 0o777 == 0o600
    assert settings(tmp_path).key(name) == first  # type: ignore[arg-type]
    assert [p.name for p in path.parent.iterdir()] == [name]


@pytest.mark.parametrize("content", [b"", b"\n", b"too-short-key\n"])
def test_a_short_key_file_in_the_data_dir_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "keys" / "approval_key"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        settings(tmp_path).key("approval_key")
    message = str(refused.value)
    assert str(path) in message
    assert f"at least {MIN_KEY_BYTES} bytes" in message
    assert "OPSGATE_APPROVAL_KEY" in message
    assert path.read_bytes() == content  # nothing is overwritten behind the operator's back


def test_processes_starting_together_all_get_the_one_generated_key(tmp_path: Path) -> None:
    # Switching threads every microsecond makes the window between creating the key file and
    # filling it (if there is one) easy to hit; several rounds make a miss unlikely.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        outcomes = [_start_together(tmp_path / f"round-{n}", starters=8) for n in range(30)]
    finally:
        sys.setswitchinterval(switch_interval)
    for keys, errors in outcomes:
        assert errors == []
        assert len(set(keys)) == 1
        assert len(keys[0]) >= MIN_KEY_BYTES


def _start_together(data_dir: Path, starters: int) -> tuple[list[bytes], list[BaseException]]:
    barrier = threading.Barrier(starters)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            keys.append(settings(data_dir).key("approval_key"))
        except BaseException as e:  # collected and asserted on by the test
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return keys, errors


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No OPSGATE_* variable of the outer environment leaks into the test."""
    for name in list(os.environ):
        if name.startswith("OPSGATE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_setting_origins_say_where_each_security_setting_came_from(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "OPSGATE_APPROVAL_KEY=approval-key-from-dotenv-0123456789\n"
        "OPSGATE_SECRET_KEY=secret-key-from-dotenv-0123456789xx\n"
        "OPSGATE_REQUIRE_DISTINCT_APPROVER=false\n"
        "OPSGATE_KUBECONFIG=/from/dotenv\n"
        "OPSGATE_JENKINS__CI__URL=https://ci.example/\n"
        "OPSGATE_JENKINS__CI__USER=ops\n"
        "OPSGATE_JENKINS__CI__TOKEN=jenkins-token-from-dotenv\n"
    )
    clean_environment.setenv("OPSGATE_SECRET_KEY", "secret-key-from-environment-0123456789")
    clean_environment.setenv("OPSGATE_CONTEXTS", '["prod"]')
    data_dir = tmp_path / "data"
    (data_dir / "keys").mkdir(parents=True)
    configured = Settings(_env_file=env_file, data_dir=data_dir, kubeconfig=Path("/given"))  # type: ignore[call-arg]
    origins = {
        o.name: o
        for o in settings_module.setting_origins(
            configured, given={"kubeconfig"}, env_file=env_file
        )
    }
    assert set(origins) == set(settings_module.SECURITY_SETTINGS)
    assert origins["approval_key"].describe() == f".env file {env_file} (OPSGATE_APPROVAL_KEY)"
    assert origins["secret_key"].describe() == "environment (OPSGATE_SECRET_KEY)"
    assert origins["require_distinct_approver"].origin == "env file"
    assert origins["jenkins"].describe() == f".env file {env_file} (OPSGATE_JENKINS__*)"
    assert origins["contexts"].describe() == "environment (OPSGATE_CONTEXTS)"
    assert origins["kubeconfig"].origin == "command line"
    assert origins["database_url"].describe() == "default"
    assert origins["mcp_http_token"].describe() == "default"
    # What the sources were compared for: the values in use are the ones they name.
    assert configured.secret_key is not None
    assert configured.secret_key.get_secret_value().endswith("environment-0123456789")
    assert configured.require_distinct_approver is False
    assert configured.kubeconfig == Path("/given")


def test_key_origins_name_the_generated_key_file(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    configured = settings(tmp_path)
    path = tmp_path / "keys" / "approval_key"
    before = {o.name: o for o in settings_module.setting_origins(configured, env_file=None)}
    configured.key("approval_key")
    after = {o.name: o for o in settings_module.setting_origins(configured, env_file=None)}
    assert before["approval_key"].describe() == f"default: generated into {path} at first start"
    assert after["approval_key"].describe() == f"generated key file {path}"


def test_env_file_warnings_name_each_security_setting_once_and_no_value(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "OPSGATE_APPROVAL_KEY=approval-key-from-dotenv-0123456789\n"
        "OPSGATE_MCP_HTTP_TOKEN=bearer-token-from-dotenv-0123456789\n"
        "OPSGATE_MODEL=openai/gpt-4.1\n"
    )
    configured = Settings(_env_file=env_file, data_dir=tmp_path)  # type: ignore[call-arg]
    warnings = settings_module.env_file_warnings(configured, env_file=env_file)
    assert [w.split()[1] for w in warnings] == ["OPSGATE_APPROVAL_KEY", "OPSGATE_MCP_HTTP_TOKEN"]
    assert all(f"comes from the .env file {env_file}" in w for w in warnings)
    assert "dotenv-0123456789" not in " ".join(warnings)
