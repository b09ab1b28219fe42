"""The lower-assurance mode `OPSGATE_MCP_CONFIRM=elicit`: one person on stdio confirms in the
MCP client, and the answer is recorded as that person's decision, marked `via elicitation`.

The official MCP Python client (separate process: `opsgate mcp` on stdio) answers the question;
the approval request, its decision and the audit events are read through the HTTP API of the
one-person `opsgate serve` on the same data directory.
"""

from __future__ import annotations

import subprocess
from typing import Any, Literal

import anyio
import mcp_types
import pytest
from mcp.client.context import ClientRequestContext

from tests.fixtures.cli import OPSGATE, RunCli
from tests.fixtures.gateway import (
    NAMESPACE,
    GatewayServer,
    connect,
    pending_approval,
    replicas,
)
from tests.fixtures.sandbox import SandboxInfo

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

ELICIT = {"OPSGATE_MCP_CONFIRM": "elicit"}


def scale(replica_count: int) -> dict[str, Any]:
    return {"resource": "deployment/web", "namespace": NAMESPACE, "replicas": replica_count}


class LocalUser:
    """Answers every confirmation the same way and keeps what it was asked."""

    def __init__(self, action: Literal["accept", "decline", "cancel"]) -> None:
        self.action = action
        self.asked: list[str] = []
        self.answered = anyio.Event()

    async def __call__(
        self, context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        assert isinstance(params, mcp_types.ElicitRequestFormParams)
        self.asked.append(params.message)
        fields = params.requested_schema["properties"]
        content = {name: True for name in fields} if self.action == "accept" else None
        self.answered.set()
        return mcp_types.ElicitResult(action=self.action, content=content)


def audit_of(server: GatewayServer, run_id: str) -> list[dict[str, Any]]:
    with server.api.api("root") as api:
        items: list[dict[str, Any]] = api.get("/audit", params={"run_id": run_id}).json()["items"]
    return items


def approval_of(server: GatewayServer, approval_id: str) -> dict[str, Any]:
    with server.api.api("root") as api:
        found: dict[str, Any] = api.get(f"/approvals/{approval_id}").json()
    return found


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_confirmed_change_runs_as_the_local_users_approval_via_elicitation(
    solo_server: GatewayServer, sandbox: SandboxInfo, mode: Literal["auto", "legacy"]
) -> None:
    wanted = replicas(sandbox) + 1
    user = LocalUser("accept")
    async with connect(
        solo_server, "stdio", "root", env=ELICIT, elicitation=user, mode=mode
    ) as client:
        result = await client.call_tool("k8s_scale", scale(wanted))
    structured = result.structured_content
    assert structured is not None
    assert not result.is_error, result.content
    assert structured["outcome"] == "verified"
    assert structured["decided_by"] == "root"
    assert replicas(sandbox) == wanted
    [asked] = user.asked
    assert "'k8s_scale'" in asked
    assert structured["approval_id"] in asked
    assert "lower assurance" in asked
    decision = approval_of(solo_server, structured["approval_id"])["items"][0]["decision"]
    assert (decision["decided_by_name"], decision["decided_via"]) == ("root", "elicitation")
    events = audit_of(solo_server, structured["run_id"])
    granted = next(e for e in events if e["kind"] == "approval.granted")
    assert granted["actor_name"] == "root"
    assert granted["payload"]["via"] == "elicitation"
    assert "in the MCP client" in granted["payload"]["reason"]


async def test_a_declined_change_is_rejected_by_the_local_user_and_nothing_runs(
    solo_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    before = replicas(sandbox)
    user = LocalUser("decline")
    async with connect(solo_server, "stdio", "root", env=ELICIT, elicitation=user) as client:
        result = await client.call_tool("k8s_scale", scale(before + 3))
    structured = result.structured_content
    assert structured is not None
    assert result.is_error
    assert structured["outcome"] == "rejected"
    assert structured["decided_by"] == "root"
    assert "declined by root in the MCP client" in structured["reason"]
    assert replicas(sandbox) == before
    events = audit_of(solo_server, structured["run_id"])
    rejected = next(e for e in events if e["kind"] == "approval.rejected")
    assert rejected["payload"]["via"] == "elicitation"


async def test_a_client_without_elicitation_waits_for_a_decision_in_opsgate(
    solo_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    wanted = replicas(sandbox) + 1
    results: list[Any] = []
    async with (
        connect(solo_server, "stdio", "root", env=ELICIT) as client,
        anyio.create_task_group() as group,
    ):

        async def call() -> None:
            results.append(await client.call_tool("k8s_scale", scale(wanted)))

        group.start_soon(call)
        approval = await pending_approval(solo_server.api, "k8s_scale")
        assert replicas(sandbox) != wanted
        with solo_server.api.api("root") as api:
            decided = api.post(
                f"/approvals/{approval['id']}/decision",
                json={"call_id": approval["items"][0]["call_id"], "approve": True},
            )
        assert decided.status_code == 200, decided.text
    assert results[0].structured_content["outcome"] == "verified"
    assert replicas(sandbox) == wanted
    decision = approval_of(solo_server, approval["id"])["items"][0]["decision"]
    assert decision["decided_via"] is None
    granted = next(
        e for e in audit_of(solo_server, approval["run_id"]) if e["kind"] == "approval.granted"
    )
    assert "via" not in granted["payload"]


async def test_a_dismissed_question_leaves_the_approval_open(
    solo_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    before = replicas(sandbox)
    user = LocalUser("cancel")
    async with (
        connect(solo_server, "stdio", "root", env=ELICIT, elicitation=user) as client,
        anyio.create_task_group() as group,
    ):
        group.start_soon(client.call_tool, "k8s_scale", scale(before + 4))
        approval = await pending_approval(solo_server.api, "k8s_scale")
        with anyio.fail_after(60):
            await user.answered.wait()
        await anyio.sleep(1)  # the answer has reached the server: still nothing decided
        assert approval_of(solo_server, approval["id"])["status"] == "pending"
        with solo_server.api.api("root") as api:
            decided = api.post(
                f"/approvals/{approval['id']}/decision",
                json={
                    "call_id": approval["items"][0]["call_id"],
                    "approve": False,
                    "reason": "tidying up",
                },
            )
        assert decided.status_code == 200, decided.text
    assert replicas(sandbox) == before


def test_elicitation_is_refused_over_http(run_cli: RunCli) -> None:
    result = run_cli("mcp", "--http", "--port", "1", env=ELICIT)
    assert result.returncode == 1
    assert "OPSGATE_MCP_CONFIRM=elicit is refused over HTTP" in result.stderr
    assert "Traceback" not in result.stderr


def start_stdio(server: GatewayServer, **env: str) -> subprocess.CompletedProcess[str]:
    """`opsgate mcp` on stdio with no client: it either serves until stdin ends or refuses."""
    return subprocess.run(
        [str(OPSGATE), "mcp"],
        cwd=server.api.workdir,
        env={**server.api.env, **ELICIT, **env},
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_elicitation_is_refused_when_more_than_one_user_is_enabled(
    gateway_server: GatewayServer,
) -> None:
    refused = start_stdio(gateway_server, OPSGATE_MCP_USER="ada")  # four users there
    assert refused.returncode == 1
    assert "OPSGATE_MCP_CONFIRM=elicit is refused" in refused.stderr
    assert "4 users are enabled" in refused.stderr


def test_elicitation_is_refused_while_a_distinct_approver_is_required(
    solo_server: GatewayServer,
) -> None:
    refused = start_stdio(
        solo_server, OPSGATE_MCP_USER="root", OPSGATE_REQUIRE_DISTINCT_APPROVER="true"
    )
    assert refused.returncode == 1
    assert "the distinct-approver rule is on" in refused.stderr
    assert start_stdio(solo_server, OPSGATE_MCP_USER="root").returncode == 0
