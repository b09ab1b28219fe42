"""Snapshots and undo of the kubectl changes, with the real kubectl on the sandbox.

Each test makes a change through the engine (direct call, approved), then checks: the snapshot
holds the object as it was and the change's `tool.started` audit event names its hash; the
undo (`Engine.submit_undo`) waits for its own approval with a dry-run diff that is the
change's diff reversed; and once approved, the object equals the snapshot field by field
(server-managed fields aside).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fixtures.engine import Harness, HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl
from tests.undo.helpers import approve, awaiting, change, changed_lines, comparable, sandbox_factory

pytestmark = [pytest.mark.sandbox]


@pytest.fixture
async def factory(sandbox: SandboxInfo, tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    made = sandbox_factory(sandbox, tmp_path)
    async with made.stack:
        yield made


def _deploy(sandbox: SandboxInfo, namespace: str, name: str = "web") -> dict[str, object]:
    applied = kubectl(
        sandbox, "apply", "-f", "-", stdin=deployment_manifest(name, namespace, "nginx:1.27", 2)
    )
    assert applied.returncode == 0, applied.stderr
    found: dict[str, object] = get_json(sandbox, f"deployment/{name}", "-n", namespace)
    return found


async def test_scale_is_snapshotted_and_undone_back_to_the_object_it_was(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    h = await factory.open()
    before = _deploy(sandbox, namespace)
    done = await change(
        h, "k8s_scale", {"resource": "deployment/web", "replicas": 3, "namespace": namespace}
    )
    call_id = done.item.call_id
    assert get_json(sandbox, "deployment/web", "-n", namespace)["spec"]["replicas"] == 3

    snapshot = await h.store.get_snapshot(call_id)
    [held] = snapshot.objects
    assert held["spec"]["replicas"] == 2
    assert snapshot.undo is not None and snapshot.undo["tool"] == "k8s_apply"
    [started] = [
        e for e in await h.store.list_audit(limit=1000)
        if e.kind == "tool.started" and e.call_id == call_id
    ]
    assert started.payload["snapshot_sha256"] == snapshot.sha256

    await _undo_restores(h, sandbox, namespace, call_id, before, done.item.preview or "")


async def _undo_restores(
    h: Harness,
    sandbox: SandboxInfo,
    namespace: str,
    call_id: str,
    before: dict[str, object],
    change_diff: str,
    name: str = "deployment/web",
) -> None:
    """The undo of `call_id` waits with the change's diff reversed, then restores `before`."""
    run, offer = await h.engine.submit_undo(call_id, h.operator)
    assert offer.undo is not None
    item = await awaiting(h, run)
    assert (item.tool, item.preview_state) == (offer.undo.tool, "changes")
    print("CHANGE", change_diff, "UNDO", item.preview, sep="\n")
    removed, added = changed_lines(change_diff)
    assert removed or added
    assert changed_lines(item.preview or "") == (added, removed)
    undone = await approve(h, run)
    assert undone.run.status == "completed"
    after = get_json(sandbox, name, "-n", namespace)
    assert comparable(after) == comparable(before)
