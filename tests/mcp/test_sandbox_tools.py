"""Every registered tool served by the MCP server, driven through `ToolClient` at the sandbox.

The whole path the engine uses: client -> server -> validation -> gate -> real runner -> real
kubectl/helm -> sandbox. State is read back with the fixture's own kubectl/helm.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.fixtures.mcp import MemorySpentApprovals
from tests.fixtures.sandbox import SandboxInfo, helm

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.tools import registry
from opsgate.tools.base import ToolEnv
from opsgate.tools.runner import SubprocessRunner, child_env

pytestmark = [pytest.mark.sandbox]

KEY = b"sandbox-mcp-approval-key-0123456789"
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.2.0\n",
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  colour: {{ .Values.colour | quote }}\n"
    ),
    "values.yaml": "colour: blue\n",
}


@pytest.fixture
async def client(sandbox: SandboxInfo, tmp_path: Path) -> AsyncIterator[ToolClient]:
    env = ToolEnv(
        runner=SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)})),
        kubectl=sandbox.kubectl,
        helm=sandbox.helm,
        kubeconfig=sandbox.kubeconfig,
        default_context=sandbox.context,
        helm_home=tmp_path / "helm",
    )
    async with ToolClient.in_memory(
        create_server(env, registry.all_tools(), KEY, spent=MemorySpentApprovals())
    ) as tool_client:
        yield tool_client


async def token(client: ToolClient, tool: str, args: dict[str, Any]) -> str:
    """A token as the engine mints it: bound to the cluster the context resolves to (or, for
    a context that resolves nowhere, to none)."""
    cluster = await client.cluster(args.get("context"))
    fingerprint = cluster.data["fingerprint"] if cluster.ok else None
    bound = call_hash(tool, args, args.get("context"), fingerprint)
    claim = approval_token.ApprovalClaim(bound, uuid.uuid4().hex, time.time() + 60)
    return approval_token.mint(KEY, claim)


async def test_reads_of_both_families_run_against_the_sandbox(
    client: ToolClient, sandbox: SandboxInfo
) -> None:
    pods = await client.call(
        "k8s_get", {"resource": "pods", "namespace": "shop", "context": sandbox.context}
    )
    assert pods.ok, pods.text
    assert "NAME" in pods.text
    releases = await client.call(
        "helm_list", {"all_namespaces": True, "output": "json", "context": sandbox.context}
    )
    assert releases.ok, releases.text
    assert isinstance(json.loads(releases.text), list)


async def test_helm_install_needs_its_token_then_runs_once_and_verifies(
    client: ToolClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    chart = tmp_path / "tiny"
    for name, text in CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    namespace = f"mcp-{uuid.uuid4().hex[:8]}"
    args = {
        "release": "tiny",
        "chart": str(chart),
        "namespace": namespace,
        "create_namespace": True,
        "set": {"colour": "green"},
        "context": sandbox.context,
    }

    refused = await client.call("helm_install", args)
    assert refused.error == "approval_required"
    assert "tiny" not in helm(sandbox, "list", "-n", namespace, "-q").stdout

    preview = await client.preview("helm_install", args)
    assert preview.ok, preview.text
    assert '+  colour: "green"' in preview.text
    assert "tiny" not in helm(sandbox, "list", "-n", namespace, "-q").stdout

    installed = await client.call(
        "helm_install", args, approval_token=await token(client, "helm_install", args)
    )
    assert installed.ok, installed.text
    assert helm(sandbox, "list", "-n", namespace, "-q").stdout.split() == ["tiny"]
    verified = await client.verify("helm_install", args)
    assert verified.ok, verified.text

    other_context = {**args, "context": "somewhere-else"}
    wrong = await client.call(
        "helm_uninstall",
        {"release": "tiny", "namespace": namespace, "context": sandbox.context},
        approval_token=await token(client, "helm_uninstall", other_context),
    )
    assert wrong.error == "approval_required"
    assert helm(sandbox, "list", "-n", namespace, "-q").stdout.split() == ["tiny"]

    uninstall = {"release": "tiny", "namespace": namespace, "context": sandbox.context}
    removed = await client.call(
        "helm_uninstall", uninstall, approval_token=await token(client, "helm_uninstall", uninstall)
    )
    assert removed.ok, removed.text
    assert helm(sandbox, "list", "-n", namespace, "-q").stdout.split() == []
