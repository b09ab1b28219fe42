"""The run timeline and the audit view in Debian chromium against the real server, scripted
model and sandbox: a run with a read, an approved and verified delete and a rejected scale,
each step drawn with its duration and linked both ways with its audit rows."""

from __future__ import annotations

import re
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from opsgate.domain.canonical import sha256_hex
from tests.fixtures.ui import UiServer
from tests.ui.pages import kubectl, login, replicas, wait_pending_approval

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$")


def _finished(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/runs/{run_id}").json()["run"]
        if run["status"] not in ("running", "awaiting_approval"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id!r} did not finish")


def _tidy_run(ui_server: UiServer) -> str:
    """The run, driven through the API (the browser test is about what it shows after)."""
    with closing(ui_server.api("oscar")) as operator, closing(ui_server.api("ada")) as approver:
        conversation = operator.post("/conversations", json={"title": "Timeline check"}).json()
        started = operator.post(
            f"/conversations/{conversation['id']}/messages", json={"text": "tidy the timeline"}
        )
        started.raise_for_status()
        run_id = str(started.json()["run_id"])
        approval = wait_pending_approval(operator, conversation["id"])
        calls = {item["tool"]: item["call_id"] for item in approval["items"]}
        for tool, approve, reason in (
            ("k8s_delete", True, "replaced by timeline-new"),
            ("k8s_scale", False, "api is sized right"),
        ):
            approver.post(
                f"/approvals/{approval['id']}/decision",
                json={"call_id": calls[tool], "approve": approve, "reason": reason},
            ).raise_for_status()
        assert _finished(operator, run_id)["status"] == "completed"
    return run_id


def test_timeline_draws_each_step_with_its_duration_and_links_both_ways_with_the_audit(
    ui_server: UiServer, sandbox: Any, new_page: Any, artifacts: Path
) -> None:
    kubectl(sandbox, "create", "configmap", "timeline-old", "--from-literal=mode=old")
    api_replicas = replicas(sandbox, "api")
    run_id = _tidy_run(ui_server)
    assert "timeline-old" not in kubectl(sandbox, "get", "configmaps", "-o", "name")
    assert replicas(sandbox, "api") == api_replicas, "the rejected scale must not have run"

    page = new_page()
    login(page, ui_server, "vera")
    page.goto(f"{ui_server.base_url}/#/runs/{run_id}")
    steps = page.locator(".timeline-step")
    expect(steps.first).to_have_attribute("data-kind", "request")
    expect(steps.last).to_have_attribute("data-kind", "answer")
    for kind, count in (
        ("model_turn", 2),
        ("call", 3),
        ("approval", 2),
        ("execution", 2),
        ("verification", 1),
    ):
        expect(page.locator(f'.timeline-step[data-kind="{kind}"]')).to_have_count(count)
    for index in range(steps.count()):
        step = steps.nth(index)
        expect(step.locator(".step-duration")).to_have_text(re.compile(r"^\d+(\.\d)? m?s$"))
        expect(step.locator(".track .bar")).to_have_count(1)
    calls = page.locator('.timeline-step[data-kind="call"]')
    expect(calls.filter(has_text="k8s_get")).to_have_attribute("data-outcome", "succeeded")
    expect(calls.filter(has_text="k8s_delete")).to_have_attribute("data-outcome", "verified")
    expect(calls.filter(has_text="k8s_scale")).to_have_attribute("data-outcome", "rejected")
    rejected = page.locator('.timeline-step[data-kind="approval"][data-outcome="rejected"]')
    rejected.locator("summary").click()
    expect(rejected.locator(".step-text")).to_have_text("api is sized right")
    expect(rejected.locator(".facts")).to_contain_text("ada")

    approved = page.locator('.timeline-step[data-kind="approval"][data-outcome="approved"]')
    approved.locator("summary").click()
    expect(approved.locator(".facts")).to_contain_text("configmap/timeline-old")
    expect(approved.locator(".facts")).to_contain_text("delete configmap/timeline-old --namespace")
    expect(approved.locator(".preview-check")).to_have_attribute("data-matches", "true")
    shown_preview = approved.locator(".preview pre").inner_text()
    time_text = approved.locator(".facts time").first
    expect(time_text).to_have_text(UTC_TIME)
    expect(time_text).to_have_attribute("title", re.compile(r"\(your time\)$"))
    page.screenshot(path=str(artifacts / "timeline.png"), full_page=True)

    # The approval event names the hash of the preview stored in the request.
    with closing(ui_server.api("vera")) as viewer:
        events = viewer.get("/audit", params={"run_id": run_id, "kind": "approval."}).json()
    by_kind = {e["kind"]: e for e in events["items"] if e["tool"] in (None, "k8s_delete")}
    (requested,) = [
        c for c in by_kind["approval.requested"]["payload"]["calls"] if c["tool"] == "k8s_delete"
    ]
    granted = by_kind["approval.granted"]
    assert granted["payload"]["preview_sha256"] == sha256_hex(requested["preview"])
    assert requested["preview_sha256"] == granted["payload"]["preview_sha256"]
    assert shown_preview.strip() == requested["preview"].strip()

    # Timeline -> audit: the approval's events, the first one marked.
    approved.get_by_role("link", name="View in audit").click()
    expect(page).to_have_url(re.compile(rf"#/audit\?run_id={run_id}&focus=\d+$"))
    focused = page.locator(".audit-table tr.focused")
    expect(focused).to_have_attribute("data-kind", "approval.requested")
    expect(focused).to_contain_text("Timeline check")
    expect(
        page.locator(".audit-table td.object").filter(has_text="configmap/timeline-old").first
    ).to_be_visible()
    # ...and back: "open run" on the row opens the timeline at that step.
    focused.get_by_role("link", name="open run").click()
    expect(page).to_have_url(re.compile(rf"#/runs/{run_id}\?focus=\d+$"))
    expect(page.locator('.timeline-step.focused[data-kind="approval"]')).to_have_count(2)

    # The audit filter by tool finds the delete's approval and who gave it.
    page.goto(f"{ui_server.base_url}/#/audit")
    page.get_by_label("Tool").fill("k8s_delete")
    page.get_by_role("button", name="Filter").click()
    grant = page.locator('.audit-table tr[data-kind="approval.granted"]')
    expect(grant).to_have_count(1)
    expect(grant).to_contain_text("ada")
    expect(grant.locator("td.object")).to_have_text("configmap/timeline-old")
    expect(grant.locator("[data-outcome]")).to_have_text("approved")
    expect(grant.locator("time")).to_have_text(UTC_TIME)
    # Its ids copy, for `opsgate approvals show` or `audit replay`.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    grant.locator("summary").click()
    copy_call = grant.get_by_role("button", name="Copy the call id")
    copy_call.click()
    expect(copy_call).to_have_text("Copied")
    call_id = grant.locator(".audit-ids code").nth(2).inner_text()
    assert call_id, "the approval names its call"
    assert page.evaluate("() => navigator.clipboard.readText()") == call_id

    # Hiding logins takes the sign-ins out of the list.
    page.get_by_label("Tool").fill("")
    page.get_by_label("Kind").select_option("user.")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator('.audit-table tr[data-kind="user.login"]').first).to_be_visible()
    page.get_by_label("Hide logins").check()
    expect(page.locator('.audit-table tr[data-kind="user.login"]')).to_have_count(0)
    page.screenshot(path=str(artifacts / "audit-filtered.png"), full_page=True)
    assert page.js_errors == []
