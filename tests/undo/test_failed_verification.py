"""After a change fails its verification, the tool result the model sees offers the undo
planned from the snapshot (its exact call), as do the verify event and the audit log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opsgate.engine.models.scripted import ScriptedModel
from tests.fixtures.engine import HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, kubectl
from tests.undo.helpers import approve, sandbox_factory

pytestmark = [pytest.mark.sandbox]


@pytest.fixture
async def factory(sandbox: SandboxInfo, tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    made = sandbox_factory(sandbox, tmp_path)
    async with made.stack:
        yield made


async def test_a_failed_verification_tells_the_model_the_undo_is_available(
    factory: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    applied = kubectl(
        sandbox, "apply", "-f", "-", stdin=deployment_manifest("web", namespace, "nginx:1.27", 1)
    )
    assert applied.returncode == 0, applied.stderr
    model = ScriptedModel.from_yaml(
        f"""
scripts:
  - match: "upgrade"
    turns:
      - text: "Setting the image."
        tool_calls:
          - name: k8s_set_image
            args:
              resource: deployment/web
              images: {{web: "nginx:bad-1"}}
              namespace: {namespace}
      - text: "The rollout failed."
"""
    )
    h = await factory.open(model=model)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "upgrade web")
    done = await approve(h, run)
    call_id = done.item.call_id
    snapshot = await h.store.get_snapshot(call_id)
    assert snapshot.undo is not None
    assert snapshot.undo["tool"] == "k8s_patch"

    seen = [m.content for m in model.received[-1] if m.role == "tool"]
    [note] = [text for text in seen if "verification FAILED" in (text or "")]
    offered = json.dumps(snapshot.undo["args"], sort_keys=True)
    assert f"To undo it, propose k8s_patch with {offered} (it needs approval)." in note
    assert f"opsgate undo {call_id}" in note

    [verify] = [e.data for e in await h.events(run.id) if e.type == "verify"]
    assert verify["verdict"] == "failed"
    assert verify["rollback"] == snapshot.undo
    [audited] = [a for a in await h.store.list_audit(limit=1000) if a.kind == "verify"]
    assert audited.payload["rollback"] == snapshot.undo
