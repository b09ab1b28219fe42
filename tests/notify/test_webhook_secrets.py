"""No secret in any webhook payload: the webhook's own secret, API tokens, or a Secret value
a tool call carried, through a whole approved change on the sandbox (real kubectl).

Every event is subscribed; the change is a `k8s_apply` of a Secret whose value is a fresh
canary. The namespace travels beside it as a control that must show up.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.api import running_app
from tests.fixtures.sandbox import SandboxInfo
from tests.notify.receiver import receiver
from tests.notify.test_webhooks import FAST, add_webhook, delivered

pytestmark = [pytest.mark.sandbox]

EVERY_EVENT = (
    "approval.requested",
    "approval.decided",
    "approval.expired",
    "run.finished",
    "run.failed",
    "verification.failed",
)


async def test_no_secret_reaches_a_webhook(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    canary = "cnry" + secrets.token_hex(12)
    manifest = f"""apiVersion: v1
kind: Secret
metadata: {{name: hook-db, namespace: {namespace}}}
type: Opaque
stringData:
  url: postgres://app:{canary}@db:5432/app
"""
    runner = SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    with receiver() as target:
        async with (
            running_app(
                tmp_path / "data",
                runner=runner,
                kubeconfig=sandbox.kubeconfig,
                contexts=[sandbox.context],
                default_context=sandbox.context,
                kubectl_path=sandbox.kubectl,
                helm_path=sandbox.helm,
                command_timeout_s=30.0,
                **FAST,
            ) as env,
            env.client("admin") as admin,
            env.client("operator") as operator,
            env.client("approver") as approver,
        ):
            created = await add_webhook(admin, target.url, *EVERY_EVENT)
            conversation = (await operator.post("/api/v1/conversations", json={})).json()
            answer = await operator.post(
                f"/api/v1/conversations/{conversation['id']}/calls",
                json={"tool": "k8s_apply", "args": {"manifest": manifest, "namespace": namespace}},
            )
            assert answer.status_code == 202, answer.text
            [requested] = await delivered(target, "approval.requested")
            body = requested.json()
            [call] = body["calls"]
            decided = await approver.post(
                f"/api/v1/approvals/{body['approval_id']}/decision",
                json={"call_id": call["call_id"], "approve": True, "reason": "rotating the db"},
            )
            assert decided.status_code == 200, decided.text
            await delivered(target, "run.finished")
            tokens = list(env.tokens.values())
    kinds = [r.headers["X-Opsgate-Event"] for r in target.received]
    assert kinds == ["approval.requested", "approval.decided", "run.finished"]
    assert target.received[-1].json()["outcome"] == "completed"
    assert (call["tool"], call["namespace"]) == ("k8s_apply", namespace)
    texts = [r.body.decode() + str(r.headers) for r in target.received]
    assert all(namespace in text for text in texts[:2])
    for text in texts:
        for secret in (canary, created["secret"], *tokens):
            assert secret not in text
