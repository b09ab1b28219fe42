"""The Command Center in Debian chromium against the real server, scripted model and sandbox.

Each flow is driven through the UI the way a person would use it, and its outcome is checked
where it really lands: the deployment's replica count read back with kubectl, the audit log,
the exported file. Screenshots of the chat, an approval card and the audit view are saved
under `test-artifacts/ui/`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import NAMESPACE, PASSWORD, UiServer
from tests.ui.pages import (
    ask,
    login,
    replicas,
    shown_verdict,
    start_conversation,
    tone,
    tool_card,
    wait_pending_approval,
)

# The first test's time includes starting the sandbox and two server processes (imports of
# LangGraph, FastMCP, SQLAlchemy) on 2 shared cores: allow more than the default 120 s.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]


def test_question_reads_then_scales_after_approval_with_green_verification(
    ui_server: UiServer, sandbox: Any, new_page: Any, artifacts: Path
) -> None:
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "Scale web")
    ask(page, "Please scale web to 3 replicas")

    read = tool_card(page, "k8s_get")
    expect(read.locator(".badge-read")).to_be_visible()
    expect(read).to_have_attribute("data-status", "succeeded")
    expect(read.locator(".output-slot pre")).to_contain_text("web")

    card = page.locator(".approval-card")
    expect(card).to_be_visible()
    expect(card.locator(".tool-name")).to_have_text("k8s_scale")
    expect(card.locator(".args-block")).to_contain_text('"replicas": 3')
    expect(card.locator(".facts")).to_contain_text(sandbox.context)
    expect(card.locator(".facts")).to_contain_text(sandbox.api_url)
    expect(card.locator(".facts")).to_contain_text(NAMESPACE)
    # The preview is the diff of the server-side dry run of the exact call, highlighted.
    expect(card.locator(".preview .hl-del").filter(has_text="replicas: 1")).to_have_count(1)
    expect(card.locator(".preview .hl-add").filter(has_text="replicas: 3")).to_have_count(1)
    expect(card.locator(".proposer")).to_have_text("ada")
    expect(card.locator(".time-left")).to_contain_text("left")
    # This server lets a requester approve their own change, and the card says both.
    expect(card.locator(".self-note")).to_have_text("You proposed this change.")
    expect(card.locator(".policy-note")).to_contain_text("the distinct-approver rule is off")
    assert replicas(sandbox) == 1, "nothing may change before the approval"
    card.screenshot(path=str(artifacts / "approval-card.png"))

    card.get_by_role("button", name="Approve").click()
    scale = tool_card(page, "k8s_scale")
    # The scale waits for its rollout: verified, in green.
    assert shown_verdict(scale) == "verified"
    final = page.locator(".final-status")
    expect(final).to_contain_text("Run completed: 1 change run: 1 verified; 1 read")
    assert tone(final.locator(".final-words")) == "green"
    expect(card.locator(".decided-by")).to_contain_text("Approved by ada")
    assert replicas(sandbox) == 3
    page.screenshot(path=str(artifacts / "chat.png"), full_page=True)

    page.get_by_role("link", name="Audit").click()
    expect(page.locator(".chain")).to_contain_text("Chain verified")
    page.get_by_label("Kind").select_option("approval.granted")
    page.get_by_role("button", name="Filter").click()
    granted = page.locator('.audit-table tr[data-kind="approval.granted"]')
    expect(granted.first).to_contain_text("ada")
    page.get_by_label("Kind").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator('.audit-table tr[data-kind="tool.finished"]').first).to_be_visible()
    page.screenshot(path=str(artifacts / "audit.png"), full_page=True)

    with page.expect_download() as jsonl_download:
        page.get_by_role("link", name="Export JSONL").click()
    lines = Path(jsonl_download.value.path()).read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    assert "head" in records[-1], "the export ends with the signed head record"
    kinds = {record["kind"] for record in records[:-1]}
    assert {"request", "approval.granted", "tool.finished"} <= kinds
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.reader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert any("approval.granted" in row for row in rows[1:])

    page.goto(f"{ui_server.base_url}/#/replay/{conversation_id}")
    timeline = page.locator(".replay-item")
    expect(timeline.first).to_have_attribute("data-kind", "request")
    expect(timeline.filter(has_text="approval.granted")).to_have_count(1)
    expect(page.locator('.replay-item[data-kind="verify"] summary')).to_have_text(
        re.compile("^verified: ")
    )
    assert page.js_errors == []


def test_viewer_sees_the_approval_card_without_buttons(
    ui_server: UiServer, new_page: Any, artifacts: Path
) -> None:
    with closing(ui_server.api("oscar")) as operator, closing(ui_server.api("ada")) as approver:
        conversation = operator.post("/conversations", json={"title": "Viewer check"}).json()
        operator.post(
            f"/conversations/{conversation['id']}/messages", json={"text": "scale web to 3 please"}
        ).raise_for_status()
        approval = wait_pending_approval(operator, conversation["id"])
        try:
            page = new_page()
            login(page, ui_server, "vera")
            page.goto(f"{ui_server.base_url}/#/c/{conversation['id']}")
            card = page.locator(".approval-card")
            expect(card.locator(".tool-name")).to_have_text("k8s_scale")
            expect(card.locator(".no-approver")).to_be_visible()
            decisions = card.get_by_role("button", name=re.compile("Approve|Reject"))
            expect(decisions).to_have_count(0)
            expect(page.get_by_role("button", name="Send")).to_have_count(0)
            card.screenshot(path=str(artifacts / "approval-card-viewer.png"))
            assert page.js_errors == []
        finally:
            approver.post(
                f"/approvals/{approval['id']}/decide-all",
                json={"approve": False, "reason": "test cleanup"},
            ).raise_for_status()


def test_reload_during_a_run_resumes_the_stream_without_duplicates(
    ui_server: UiServer, new_page: Any
) -> None:
    page = new_page()
    stream_urls: list[str] = []
    page.on(
        "request",
        lambda request: stream_urls.append(request.url) if "/events" in request.url else None,
    )
    login(page, ui_server, "ada")
    start_conversation(page, "Reload mid-run")
    ask(page, "scale web to 3 now")
    expect(page.locator(".approval-card")).to_be_visible()

    stream_urls.clear()
    page.reload()
    card = page.locator(".approval-card")
    expect(card).to_have_count(1)
    expect(tool_card(page, "k8s_get")).to_have_count(1)
    expect(page.locator(".stream-state")).to_have_text("live")
    assert any(re.search(r"[?&]after=[1-9]\d*", url) for url in stream_urls), stream_urls

    card.get_by_role("button", name="Approve").click()
    assert shown_verdict(tool_card(page, "k8s_scale")) == "verified"
    expect(page.locator(".final-status")).to_contain_text("Run completed: 1 change run: 1 verified")
    expect(tool_card(page, "k8s_get")).to_have_count(1)
    expect(page.locator(".msg-user")).to_have_count(1)
    assert page.js_errors == []


def test_controls_are_labelled_and_fit_a_narrow_dark_screen(
    ui_server_no_model: UiServer, new_page: Any, artifacts: Path
) -> None:
    page = new_page(width=390, height=844, color_scheme="dark")
    login(page, ui_server_no_model, "ada")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter((el) => !el.labels?.length && !el.getAttribute('aria-label'))
            .map((el) => el.name || el.outerHTML.slice(0, 60))"""
    )
    assert unlabelled == []
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
            .map((el) => el.tagName + '.' + el.className)"""
    )
    assert too_wide == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement && document.activeElement.textContent")
    assert focused, "the first Tab must land on a control"
    page.screenshot(path=str(artifacts / "narrow-dark.png"), full_page=True)


def test_stop_button_ends_a_run_waiting_for_approval(ui_server: UiServer, new_page: Any) -> None:
    page = new_page()
    login(page, ui_server, "ada")
    start_conversation(page, "Stop me")
    ask(page, "scale web to 3, or not")
    card = page.locator(".approval-card")
    expect(card).to_be_visible()
    page.get_by_role("button", name="Stop").click()
    final = page.locator(".final-status")
    expect(final).to_contain_text("Run stopped by ada: 1 call expired; 1 read")
    assert tone(final.locator(".final-words")) == "grey"
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    # The request closes with the run: no decision is left to take.
    expect(card.get_by_role("button", name="Approve")).to_have_count(0)
    expect(card).to_contain_text("expired")
    expect(tool_card(page, "k8s_scale")).not_to_have_attribute("data-status", "succeeded")
    assert page.js_errors == []


def test_approve_all_records_one_decision_per_call(
    ui_server: UiServer, sandbox: Any, new_page: Any
) -> None:
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "Scale both")
    ask(page, "scale both deployments to 2")
    card = page.locator(".approval-card")
    expect(card.locator(".approval-item")).to_have_count(2)
    expect(card.locator("h3")).to_have_text("Approval needed for 2 changes")
    card.get_by_label("Reason for all (one decision is recorded per call)").fill("load test")
    card.get_by_role("button", name="Approve all").click()
    expect(page.locator(".verify")).to_have_count(2, timeout=60_000)
    for tool in tool_card(page, "k8s_scale").all():
        assert shown_verdict(tool) == "verified"
    expect(page.locator(".final-status")).to_contain_text(
        "Run completed: 2 changes run: 2 verified"
    )
    assert (replicas(sandbox, "web"), replicas(sandbox, "api")) == (2, 2)
    with closing(ui_server.api("ada")) as client:
        granted = client.get(
            "/audit", params={"kind": "approval.granted", "conversation_id": conversation_id}
        ).json()["items"]
    assert len({event["call_id"] for event in granted}) == 2


def test_admin_creates_an_api_token_shown_once(ui_server: UiServer, new_page: Any) -> None:
    page = new_page()
    login(page, ui_server, "admin")
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_label("Role of vera")).to_have_value("viewer")
    expect(page.get_by_label("Role of ada")).to_have_value("approver")
    page.get_by_label("Token name").fill("ci-bot")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator(".token-once .secret").inner_text()
    answer = httpx.get(
        f"{ui_server.base_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200
    assert answer.json()["username"] == "admin"
    page.reload()
    page.get_by_role("link", name="Admin").click()
    expect(page.locator("tbody tr", has_text="ci-bot")).to_be_visible()
    assert secret not in page.content()
    assert page.js_errors == []


def test_rejection_needs_a_reason_and_nothing_runs(
    ui_server: UiServer, sandbox: Any, new_page: Any
) -> None:
    before = replicas(sandbox)
    page = new_page()
    login(page, ui_server, "ada")
    start_conversation(page, "Reject it")
    ask(page, "scale web to 3? I will reject")
    card = page.locator(".approval-card")
    card.get_by_role("button", name="Reject").click()
    expect(card.get_by_role("alert")).to_contain_text("A reason is required to reject")
    expect(card.locator(".item-state")).to_contain_text("awaiting approval")
    card.get_by_label("Reason (required to reject)").fill("not during the freeze")
    card.get_by_role("button", name="Reject").click()
    expect(card.locator(".decided-by")).to_contain_text("Rejected by ada: not during the freeze")
    final = page.locator(".final-status")
    expect(final).to_contain_text("Run rejected: nothing ran: 1 call rejected; 1 read")
    assert tone(final.locator(".final-words")) == "grey"
    expect(tool_card(page, "k8s_scale")).to_have_attribute("data-status", "rejected")
    assert replicas(sandbox) == before
    assert page.js_errors == []


def test_first_run_setup_creates_the_admin_from_the_setup_link(
    ui_server_fresh: UiServer, new_page: Any
) -> None:
    page = new_page()
    page.goto(f"{ui_server_fresh.base_url}/setup#token={ui_server_fresh.setup_token}")
    expect(page.get_by_label("Setup token")).to_have_value(ui_server_fresh.setup_token)
    assert ui_server_fresh.setup_token not in page.url
    page.get_by_label("Admin username").fill("root-admin")
    page.get_by_label("Admin password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.locator("#whoami")).to_have_text("root-admin (admin)")
    expect(page.get_by_role("heading", name="New conversation")).to_be_visible()
    assert page.js_errors == []
