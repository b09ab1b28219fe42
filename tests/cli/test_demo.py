"""`opsgate demo` (what `make run` starts): one admin, so it turns the distinct-approver rule off
itself and says so; the API reports the rule as off."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.cli import OPSGATE, cli_env
from tests.fixtures.net import free_port

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_demo_turns_the_distinct_approver_rule_off_and_says_so(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPSGATE_APPROVAL_KEY=approval-key-in-a-dotenv-0123456789\n")
    env = cli_env(tmp_path / "data")
    port = free_port()
    demo = subprocess.Popen(
        [str(OPSGATE), "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert demo.poll() is None, demo.communicate()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "opsgate demo did not come up"
            time.sleep(0.3)
        created = subprocess.run(
            [str(OPSGATE), "tokens", "create", "admin", "--name", "demo-test"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        token = created.stdout.strip().splitlines()[-1]
        policy = httpx.get(
            f"{url}/api/v1/policy", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    assert policy["require_distinct_approver"] is False
    assert "the distinct-approver rule is\n                off" in out
    assert "OPSGATE_REQUIRE_DISTINCT_APPROVER=false" in out
    assert f"warning: OPSGATE_APPROVAL_KEY comes from the .env file {tmp_path / '.env'}" in err
    assert "approval-key-in-a-dotenv" not in out + err
