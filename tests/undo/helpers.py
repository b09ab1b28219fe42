"""What the undo tests share: an engine over the real tools on the sandbox, and running one
direct call through its approval."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsgate.store.records import ApprovalItem, Run
from opsgate.tools import registry
from opsgate.tools.base import ToolEnv
from opsgate.tools.runner import SubprocessRunner, child_env
from opsgate.tools.undo import restorable
from tests.fixtures.engine import Harness, HarnessFactory
from tests.fixtures.sandbox import SandboxInfo


def sandbox_factory(sandbox: SandboxInfo, tmp_path: Path) -> HarnessFactory:
    env = ToolEnv(
        runner=SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)})),
        kubectl=sandbox.kubectl,
        helm=sandbox.helm,
        kubeconfig=sandbox.kubeconfig,
        default_context=sandbox.context,
        helm_home=tmp_path / "helm",
    )
    return HarnessFactory(
        tmp_path / "data", tool_env=env, tools=registry.all_tools(), context=sandbox.context
    )


@dataclass(frozen=True)
class Approved:
    """A direct call that ran after its approval."""

    run: Run
    item: ApprovalItem
    """What the approver was shown (preview, command) and approved."""


async def awaiting(h: Harness, run: Run) -> ApprovalItem:
    """The one call `run` waits for approval of."""
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "awaiting_approval"
    approval = await h.store.get_approval(await h.pending_approval_id(run.id))
    [item] = approval.items
    return item


async def approve(h: Harness, run: Run) -> Approved:
    """Approve the one call `run` waits for and let it run to its end."""
    item = await awaiting(h, run)
    approval_id = await h.pending_approval_id(run.id)
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason="test")
    await h.engine.wait_run(run.id)
    return Approved(await h.store.get_run(run.id), item)


async def change(h: Harness, tool: str, args: dict[str, Any]) -> Approved:
    run = await h.engine.submit_call(h.conversation.id, h.operator, tool, args)
    return await approve(h, run)


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as a restore must bring it back: without what the server manages (status,
    resourceVersion, uid, managedFields, generation, the revision annotation...)."""
    return restorable(obj)


def changed_lines(diff: str) -> tuple[set[str], set[str]]:
    """The (removed, added) lines of a unified diff, stripped, bookkeeping left out."""
    # Bookkeeping the server keeps, and the client-side apply's copy of the object (an
    # annotation a server-side apply restore leaves to its owner).
    noise = (
        "resourceVersion",
        "generation",
        "managedFields",
        "uid:",
        "creationTimestamp",
        "last-applied-configuration",
        '{"apiVersion"',
        "deployment.kubernetes.io/revision",
    )
    removed, added = set(), set()
    for line in diff.splitlines():
        if line.startswith(("---", "+++")) or any(word in line for word in noise):
            continue
        if line.startswith("-"):
            removed.add(line[1:].strip())
        elif line.startswith("+"):
            added.add(line[1:].strip())
    return removed, added
