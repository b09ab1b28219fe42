"""An approval token is single use across processes: spent by the API's in-process tool server,
it is refused by a second tool server process over stdio and by the HTTP tool server.

Real parts throughout: the app (engine, in-process tool server) and kubectl against the
sandbox, `python -m opsgate.mcp` as a subprocess, and `opsgate.mcp.entry`'s HTTP server on
loopback, all on one data directory (one SQLite database, one generated approval key).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from pydantic import SecretStr
from tests.fixtures.api import running_app, wait_for
from tests.fixtures.calls import stored_call
from tests.fixtures.net import free_port
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

from opsgate.domain import approval_token
from opsgate.mcp import entry
from opsgate.mcp.client import ToolClient
from opsgate.mcp.gate import APPROVAL_META_KEY
from opsgate.settings import Settings
from opsgate.store.records import ToolCallRecord
from opsgate.tools.runner import SubprocessRunner, child_env

pytestmark = [pytest.mark.sandbox]

HTTP_TOKEN = "single-use-test-bearer-Vq8_Zp3xK7mN2rT6wY1b"


def cluster_settings(sandbox: SandboxInfo) -> dict[str, Any]:
    return {
        "kubeconfig": sandbox.kubeconfig,
        "contexts": [sandbox.context],
        "default_context": sandbox.context,
        "kubectl_path": sandbox.kubectl,
        "helm_path": sandbox.helm,
        "command_timeout_s": 30.0,
    }


async def approve_and_run_scale(
    sandbox: SandboxInfo, namespace: str, data_dir: Path
) -> tuple[ToolCallRecord, str]:
    """Scale web to 3 through the API (proposed, approved by another user, run in-process)."""
    runner = SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    async with (
        running_app(data_dir, runner=runner, **cluster_settings(sandbox)) as env,
        env.client("operator") as operator,
        env.client("approver") as approver,
    ):
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        args = {"resource": "deployment/web", "replicas": 3, "namespace": namespace}
        proposed = await operator.post(
            f"/api/v1/conversations/{conversation['id']}/calls",
            json={"tool": "k8s_scale", "args": args},
        )
        assert proposed.status_code in (200, 201, 202), proposed.text

        async def pending() -> list[dict[str, Any]]:
            response = await approver.get("/api/v1/approvals", params={"status": "pending"})
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        approval = (await wait_for(pending))[0]
        call_id = approval["items"][0]["call_id"]
        decided = await approver.post(
            f"/api/v1/approvals/{approval['id']}/decision",
            json={"call_id": call_id, "approve": True},
        )
        assert decided.status_code == 200, decided.text

        async def succeeded() -> ToolCallRecord | None:
            call = await stored_call(env.state.store, call_id)
            return call if call.status in ("succeeded", "verified") else None

        call = await wait_for(succeeded)
        return call, f"{approval['id']}:{call_id}"


def token_for(settings: Settings, call: ToolCallRecord, approval_id: str) -> str:
    """A token exactly like the engine's, minted with the data directory's approval key."""
    claim = approval_token.ApprovalClaim(call.call_hash, approval_id, time.time() + 60)
    return approval_token.mint(settings.key("approval_key"), claim)


async def test_a_spent_token_is_refused_by_a_second_process_and_over_http(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    applied = kubectl(
        sandbox, "apply", "-f", "-", stdin=deployment_manifest("web", namespace, "nginx:1.27", 2)
    )
    assert applied.returncode == 0, applied.stderr
    data_dir = tmp_path / "data"
    call, spent_id = await approve_and_run_scale(sandbox, namespace, data_dir)
    assert get_json(sandbox, "deployment/web", "-n", namespace)["spec"]["replicas"] == 3
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        mcp_http_token=SecretStr(HTTP_TOKEN),
        **cluster_settings(sandbox),
    )
    replayed = token_for(settings, call, spent_id)

    stdio = StdioTransport(
        command=sys.executable,
        args=["-m", "opsgate.mcp"],
        cwd=str(tmp_path),
        env={
            "OPSGATE_DATA_DIR": str(data_dir),
            "OPSGATE_KUBECONFIG": str(sandbox.kubeconfig),
            "OPSGATE_DEFAULT_CONTEXT": sandbox.context,
            "OPSGATE_KUBECTL_PATH": str(sandbox.kubectl),
            "OPSGATE_HELM_PATH": str(sandbox.helm),
            "HOME": str(sandbox.home),
            "PATH": "/usr/bin:/bin",
        },
    )
    async with Client(stdio) as second_process:
        refused = await second_process.call_tool_mcp(
            "k8s_scale", call.args, meta={APPROVAL_META_KEY: replayed}
        )
        # The same process admits a token it has never seen: the refusal is the spent id.
        fresh = await second_process.call_tool_mcp(
            "k8s_scale", call.args, meta={APPROVAL_META_KEY: token_for(settings, call, "fresh-1")}
        )
    assert refused.is_error
    assert refused.structured_content is not None
    assert refused.structured_content["error"] == "approval_required"
    assert f"approval {spent_id!r} was already used" in refused.content[0].text  # type: ignore[union-attr]
    assert not fresh.is_error, fresh.content

    port = free_port()
    servers: list[uvicorn.Server] = []

    async def serve_http() -> None:
        async with entry.tool_server(settings) as server:
            servers.append(entry.http_server(settings, server, "127.0.0.1", port))
            await servers[0].serve()

    thread = threading.Thread(target=asyncio.run, args=(serve_http(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (servers and servers[0].started):
        assert thread.is_alive(), "the HTTP tool server stopped"
        assert time.monotonic() < deadline, "the HTTP tool server did not start"
        await asyncio.sleep(0.05)
    try:
        url = f"http://127.0.0.1:{port}{entry.MCP_PATH}"
        async with ToolClient.http(url, HTTP_TOKEN, timeout_s=60) as over_http:
            refused_http = await over_http.call("k8s_scale", call.args, approval_token=replayed)
            for_fresh_1 = await over_http.call(
                "k8s_scale", call.args, approval_token=token_for(settings, call, "fresh-1")
            )
    finally:
        servers[0].should_exit = True
        thread.join(10)
    assert refused_http.error == "approval_required"
    assert f"approval {spent_id!r} was already used" in refused_http.text
    # Spent by the stdio process a moment ago, so refused here too.
    assert for_fresh_1.error == "approval_required"
    assert "'fresh-1' was already used" in for_fresh_1.text
