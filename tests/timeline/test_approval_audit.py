"""Approval audit events name the call's tool, object and the hash of the preview the approver
saw, and the request keeps that preview, so the approved diff can be shown and checked later."""

from __future__ import annotations

from opsgate.domain.canonical import sha256_hex
from opsgate.domain.targets import call_object
from tests.fixtures.api import ApiEnv, wait_for
from tests.timeline.flows import pending_approvals


async def test_decision_names_tool_object_and_the_hash_of_the_stored_preview(
    api_env: ApiEnv,
) -> None:
    async with api_env.client("operator") as operator, api_env.client("approver") as approver:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        started = await operator.post(
            f"/api/v1/conversations/{conversation['id']}/calls",
            json={"tool": "k_scale", "args": {"name": "frontend", "replicas": 3}},
        )
        assert started.status_code == 202, started.text
        pending = await wait_for(lambda: pending_approvals(approver, conversation["id"]))
        item = pending[0]["items"][0]
        decided = await approver.post(
            f"/api/v1/approvals/{pending[0]['id']}/decision",
            json={"call_id": item["call_id"], "approve": True},
        )
        assert decided.status_code == 200, decided.text
        page = await approver.get(
            "/api/v1/audit", params={"kind": "approval.", "conversation_id": conversation["id"]}
        )
    events = {event["kind"]: event for event in page.json()["items"]}
    requested = events["approval.requested"]["payload"]["calls"][0]
    granted = events["approval.granted"]
    assert requested["preview"] == "would scale frontend to 3"
    assert requested["preview_sha256"] == sha256_hex(requested["preview"])
    assert granted["payload"]["preview_sha256"] == requested["preview_sha256"]
    assert (granted["tool"], granted["actor_name"]) == ("k_scale", "approver")


def test_call_object_names_the_target_by_each_tool_familys_argument() -> None:
    assert call_object("k8s_delete", {"resource": "deployment/web"}) == "deployment/web"
    assert call_object("k8s_get", {"resource": "pods", "name": "web-1"}) == "pods/web-1"
    assert call_object("k8s_get", {"resource": "pods"}) == "pods"
    assert call_object("k8s_logs", {"pod": "web-1"}) == "pod/web-1"
    assert call_object("k8s_logs", {"pod": "deployment/web"}) == "deployment/web"
    assert call_object("helm_uninstall", {"release": "shop"}) == "release/shop"
    assert call_object("jenkins_trigger_build", {"job": "team/build"}) == "job/team/build"
    assert call_object("argo_promote", {"name": "checkout"}) == "rollout/checkout"
    assert call_object("k_scale", {"name": "frontend"}) is None
    assert call_object("k8s_events", {"namespace": "shop"}) is None
