"""The audit log says which path each native-capable read took, and why kubectl ran.

The engine drives the tool server built as production builds it (`tool_env_for`: the native
pool on), with the scripted model, against the session's sandbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opsgate.tools import registry
from tests.fixtures.engine import HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, tool_env_for

pytestmark = [pytest.mark.sandbox]

SCRIPT = """
scripts:
  - match: "look"
    turns:
      - tool_calls:
          - {name: k8s_get, args: {resource: deployments, namespace: shop}}
          - name: k8s_get
            args: {resource: deployments, namespace: shop, jsonpath: "{.items[*].metadata.name}"}
          - {name: k8s_rollout_status, args: {resource: deployment/frontend, namespace: shop}}
      - text: "Looked."
"""


@pytest.fixture
async def factory(sandbox: SandboxInfo, tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    built = HarnessFactory(
        tmp_path / "data",
        tool_env=tool_env_for(sandbox),
        tools=registry.all_tools(),
        context=sandbox.context,
    )
    async with built.stack:
        yield built


async def test_the_audit_names_the_read_path_and_why_kubectl_ran(factory: HarnessFactory) -> None:
    h = await factory.open(SCRIPT)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "look at the shop")
    await h.engine.wait_run(run.id)
    calls = {c.id: c for c in await h.store.list_calls(run_id=run.id)}
    finished = [e for e in await h.store.list_audit(limit=1000) if e.kind == "tool.finished"]
    paths = [
        (calls[e.call_id or ""].args.get("jsonpath") is not None, e.payload.get("read_path"))
        for e in finished
        if calls[e.call_id or ""].tool == "k8s_get"
    ]
    assert sorted(paths) == [(False, "native"), (True, "kubectl")]
    [fallback] = [e for e in finished if e.payload.get("read_path") == "kubectl"]
    assert fallback.payload["read_path_reason"] == "JSONPath templates are printed by kubectl"
    [other] = [e for e in finished if calls[e.call_id or ""].tool != "k8s_get"]
    assert "read_path" not in other.payload, "only reads with a native path name one"
