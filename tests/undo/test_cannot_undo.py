"""Changes opsgate offers no undo for say why: a Secret (its values are never stored), a
Jenkins build, a deleted volume claim; and calls that did not change anything have nothing
to undo."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opsgate.engine import undo
from opsgate.errors import Conflict
from opsgate.tools import registry
from opsgate.tools.base import Snapshot
from tests.fixtures.engine import HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, kubectl, tool_env_for
from tests.undo.helpers import change, sandbox_factory

pytestmark = [pytest.mark.sandbox]

PASSWORD = "hunter2-canary-value"


@pytest.fixture
async def factory(sandbox: SandboxInfo, tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    made = sandbox_factory(sandbox, tmp_path)
    async with made.stack:
        yield made


async def test_a_secret_change_is_snapshotted_with_keys_only_and_offers_no_undo(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    made = kubectl(
        sandbox,
        "create",
        "secret",
        "generic",
        "db",
        "-n",
        namespace,
        f"--from-literal=password={PASSWORD}",
    )
    assert made.returncode == 0, made.stderr
    h = await factory.open()
    done = await change(
        h,
        "k8s_label",
        {"resource": "secret", "name": "db", "namespace": namespace, "labels": {"tier": "db"}},
    )
    assert done.run.status == "completed"
    snapshot = await h.store.get_snapshot(done.item.call_id)
    [held] = snapshot.objects
    assert set(held["data"]) == {"password"}
    stored = json.dumps(snapshot.model_dump(mode="json"))
    assert PASSWORD not in stored
    assert base64.b64encode(PASSWORD.encode()).decode() not in stored
    assert snapshot.undo is None
    assert "Secret" in (snapshot.cannot_undo or "")
    assert "never stores its values" in (snapshot.cannot_undo or "")
    offer = await undo.offer(h.store, done.item.call_id)
    assert offer.undo is None
    assert offer.reason == snapshot.cannot_undo
    with pytest.raises(Conflict, match=r"cannot be undone: .*Secret"):
        await h.engine.submit_undo(done.item.call_id, h.operator)


async def test_a_read_has_nothing_to_undo(factory: HarnessFactory, namespace: str) -> None:
    h = await factory.open()
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k8s_get", {"resource": "pods", "namespace": namespace}
    )
    await h.engine.wait_run(run.id)
    [call] = await h.store.list_calls(run_id=run.id)
    offer = await undo.offer(h.store, call.id)
    assert offer.undo is None
    assert offer.reason == "it only read: there is nothing to undo"


async def test_a_rejected_change_has_nothing_to_undo(
    factory: HarnessFactory, namespace: str
) -> None:
    h = await factory.open()
    run = await h.engine.submit_call(
        h.conversation.id,
        h.operator,
        "k8s_delete",
        {"resource": "configmap", "name": "absent", "namespace": namespace},
    )
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=False, reason="no")
    await h.engine.wait_run(run.id)
    offer = await undo.offer(h.store, item.call_id)
    assert offer.undo is None
    assert offer.reason == "it did not run (status 'rejected'), so no snapshot was taken"


async def test_a_jenkins_build_says_it_cannot_be_undone(sandbox: SandboxInfo) -> None:
    tool = registry.all_tools()["jenkins_trigger_build"]
    assert tool.snapshot is not None
    result = await tool.snapshot(
        tool.parse({"server": "ci", "job": "deploy"}), tool_env_for(sandbox)
    )
    assert isinstance(result.data, Snapshot)
    assert result.data.undo is None
    assert "Jenkins build cannot be taken back" in (result.data.cannot_undo or "")


async def test_deleting_a_volume_claim_says_its_data_cannot_be_restored(
    sandbox: SandboxInfo, namespace: str
) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    made = kubectl(sandbox, "apply", "-f", "-", stdin=json.dumps(claim))
    assert made.returncode == 0, made.stderr
    tool = registry.all_tools()["k8s_delete"]
    assert tool.snapshot is not None
    params = tool.parse({"resource": "pvc", "name": "data", "namespace": namespace})
    result = await tool.snapshot(params, tool_env_for(sandbox))
    assert isinstance(result.data, Snapshot)
    [held] = result.data.objects
    assert held["metadata"]["name"] == "data"
    assert result.data.undo is None
    assert "removes the data on its volume" in (result.data.cannot_undo or "")


def test_docs_name_every_tool_that_declares_an_undo() -> None:
    document = (Path(__file__).parents[2] / "docs" / "undo.md").read_text()
    declared = [name for name, tool in registry.all_tools().items() if tool.snapshot is not None]
    assert len(declared) >= 10
    assert [name for name in declared if f"`{name}`" not in document] == []


async def test_a_change_only_to_a_masked_value_says_it_cannot_be_restored(
    sandbox: SandboxInfo, namespace: str
) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "db-client", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "db-client"}},
            "template": {
                "metadata": {"labels": {"app": "db-client"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "env": [{"name": "DB_PASSWORD", "value": PASSWORD}],
                        }
                    ]
                },
            },
        },
    }
    made = kubectl(sandbox, "apply", "-f", "-", stdin=json.dumps(deployment))
    assert made.returncode == 0, made.stderr
    container = {"name": "web", "env": [{"name": "DB_PASSWORD", "value": "rotated-value-1"}]}
    patch = {"spec": {"template": {"spec": {"containers": [container]}}}}
    tool = registry.all_tools()["k8s_patch"]
    assert tool.snapshot is not None
    params = tool.parse(
        {
            "resource": "deployment",
            "name": "db-client",
            "namespace": namespace,
            "patch": json.dumps(patch),
        }
    )
    result = await tool.snapshot(params, tool_env_for(sandbox))
    assert isinstance(result.data, Snapshot)
    assert result.data.undo is None
    assert "outside values opsgate masks" in (result.data.cannot_undo or "")
    assert PASSWORD not in json.dumps(result.data.model_dump(mode="json"))
