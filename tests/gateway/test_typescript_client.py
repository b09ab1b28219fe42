"""A client nobody here wrote: the official MCP TypeScript SDK, from the npm registry.

The test installs `@modelcontextprotocol/sdk` into a temporary directory itself, then runs
`ts_client.mjs` with node against `opsgate mcp --http`: its `k8s_scale` waits, an approver
approves through the API, and the client receives the verified result (which the SDK checks
against the tool's output schema).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import opsgate
from tests.fixtures.gateway import NAMESPACE, GatewayServer, pending_approval, replicas
from tests.fixtures.sandbox import SandboxInfo

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("ts_client.mjs")
SDK = "@modelcontextprotocol/sdk"


@pytest.fixture(scope="module")
def sdk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the MCP TypeScript SDK client")
    directory = tmp_path_factory.mktemp("ts-sdk")
    (directory / "package.json").write_text('{"name": "opsgate-ts-client", "private": true}')
    installed = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", SDK],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    return directory


@pytest.mark.timeout(240)
async def test_the_typescript_sdk_client_gets_the_verified_result_after_approval(
    gateway_server: GatewayServer, sandbox: SandboxInfo, sdk_dir: Path
) -> None:
    api = gateway_server.api
    wanted = replicas(sandbox) + 2
    args = {"resource": "deployment/web", "namespace": NAMESPACE, "replicas": wanted}
    node = shutil.which("node")
    assert node is not None
    client = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        str(sdk_dir),
        gateway_server.mcp_url,
        api.tokens["oscar"],
        "k8s_scale",
        json.dumps(args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    approval = await pending_approval(api, "k8s_scale")
    assert approval["proposed_by_name"] == "oscar"
    with api.api("ada") as ada:
        decided = ada.post(
            f"/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": True},
        )
        assert decided.status_code == 200, decided.text
        events = ada.get("/audit", params={"run_id": approval["run_id"]}).json()["items"]
    out, err = await asyncio.wait_for(client.communicate(), timeout=120)
    assert client.returncode == 0, err.decode()[-3000:]
    report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result = report["result"]
    assert report["server"] == {"name": "opsgate", "version": opsgate.__version__}
    assert "k8s_scale" in report["tools"]
    assert result["isError"] is False, result
    assert result["structuredContent"]["outcome"] == "verified"
    assert result["structuredContent"]["decided_by"] == "ada"
    assert any(approval["id"] in message for message in report["progress"])
    assert replicas(sandbox) == wanted
    request = next(e for e in events if e["kind"] == "request")
    assert request["payload"]["client"] == {"name": "ts-agent", "version": "2.0.1"}
