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
    # The inverse of the change, and nothing more: the value it replaces set back.
    assert snapshot.undo is not None
    assert snapshot.undo["tool"] == "k8s_patch"
    assert snapshot.undo["args"]["patch"] == '{"spec":{"replicas":2}}'

    [started] = [
        e
        for e in await h.store.list_audit(limit=1000)
        if e.kind == "tool.started" and e.call_id == call_id
    ]
    assert started.payload["snapshot_sha256"] == snapshot.sha256

    await _undo_restores(h, sandbox, namespace, call_id, before, done.item.preview or "")


async def test_set_image_is_undone_back_to_the_previous_template(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    h = await factory.open()
    before = _deploy(sandbox, namespace)
    args = {"resource": "deployment/web", "images": {"web": "nginx:1.28"}, "namespace": namespace}
    done = await change(h, "k8s_set_image", args)
    assert done.run.status == "completed"
    [held] = (await h.store.get_snapshot(done.item.call_id)).objects
    assert held["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    await _undo_restores(h, sandbox, namespace, done.item.call_id, before, done.item.preview or "")


async def test_patch_is_undone_back_to_the_values_it_replaced(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    h = await factory.open()
    before = _deploy(sandbox, namespace)
    patch = (
        '{"metadata": {"labels": {"app": "web-2"}}, "spec": {"minReadySeconds": 0, "paused": true}}'
    )
    done = await change(
        h,
        "k8s_patch",
        {
            "resource": "deployment",
            "name": "web",
            "namespace": namespace,
            "patch": patch,
            "patch_type": "merge",
        },
    )
    assert get_json(sandbox, "deployment/web", "-n", namespace)["metadata"]["labels"] == {
        "app": "web-2"
    }
    await _undo_restores(h, sandbox, namespace, done.item.call_id, before, done.item.preview or "")


async def test_apply_of_a_changed_deployment_is_undone_back_to_the_deployment_it_was(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    h = await factory.open()
    before = _deploy(sandbox, namespace)
    manifest = deployment_manifest("web", namespace, "nginx:1.28", 4)
    done = await change(h, "k8s_apply", {"manifest": manifest, "namespace": namespace})
    assert get_json(sandbox, "deployment/web", "-n", namespace)["spec"]["replicas"] == 4
    await _undo_restores(h, sandbox, namespace, done.item.call_id, before, done.item.preview or "")


async def test_apply_creating_a_deployment_is_undone_by_deleting_it(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    h = await factory.open()
    manifest = deployment_manifest("fresh", namespace, "nginx:1.27", 1)
    done = await change(h, "k8s_apply", {"manifest": manifest, "namespace": namespace})
    assert kubectl(sandbox, "get", "deployment/fresh", "-n", namespace).returncode == 0
    snapshot = await h.store.get_snapshot(done.item.call_id)
    assert snapshot.objects == []
    run, restoring = await h.engine.submit_undo(done.item.call_id, h.operator)
    assert (restoring.tool, restoring.args["name"]) == ("k8s_delete", "fresh")
    item = await awaiting(h, run)
    assert item.preview_state == "changes"
    assert "deleted" in (item.preview or "")
    undone = await approve(h, run)
    assert undone.run.status == "completed"
    gone = kubectl(sandbox, "get", "deployment/fresh", "-n", namespace)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr


async def test_deleted_deployment_is_recreated_as_it_was(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    h = await factory.open()
    before = _deploy(sandbox, namespace)
    done = await change(
        h, "k8s_delete", {"resource": "deployment", "name": "web", "namespace": namespace}
    )
    assert kubectl(sandbox, "get", "deployment/web", "-n", namespace).returncode != 0
    run, restoring = await h.engine.submit_undo(done.item.call_id, h.operator)
    assert restoring.tool == "k8s_apply"
    item = await awaiting(h, run)
    # The inverse of a deletion: the whole object is created again, as it was.
    removed, added = changed_lines(item.preview or "")
    assert removed == set()
    assert {"replicas: 2", "- image: nginx:1.27", "name: web"} <= added
    undone = await approve(h, run)
    assert undone.run.status == "completed"
    after = get_json(sandbox, "deployment/web", "-n", namespace)
    assert comparable(after) == comparable(before)


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
    run, restoring = await h.engine.submit_undo(call_id, h.operator)
    item = await awaiting(h, run)
    assert (item.tool, item.preview_state) == (restoring.tool, "changes")
    removed, added = changed_lines(change_diff)
    assert removed or added
    assert changed_lines(item.preview or "") == (added, removed)
    undone = await approve(h, run)
    assert undone.run.status == "completed"
    after = get_json(sandbox, name, "-n", namespace)
    assert comparable(after) == comparable(before)
