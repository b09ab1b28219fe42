"""The Approvals inbox in Debian chromium against the real server and the sandbox: an approver
sees the badge appear when an operator's change pauses in another conversation, approves from
the inbox (the same card, with the diff), and the count drops; the change then runs."""

from __future__ import annotations

import secrets
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import NAMESPACE, UiServer
from tests.ui.pages import direct_call, kubectl, login, replicas, wait_pending_approval

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]


def test_the_badge_counts_a_change_paused_elsewhere_and_drops_once_approved_from_the_inbox(
    ui_server: UiServer, ui_workload: str, sandbox: Any, new_page: Any, artifacts: Path
) -> None:
    name = f"inbox-{secrets.token_hex(3)}"
    kubectl(sandbox, "create", "deployment", name, "--image=nginx:1.27")
    page = new_page()
    login(page, ui_server, "ada")
    with closing(ui_server.api("ada")) as approver:
        before = int(approver.get("/inbox").json()["waiting_on_me"])
    header = page.locator("#nav-approvals .inbox-count")
    sidebar = page.locator(".inbox-link .inbox-count")
    if before == 0:
        expect(header).to_be_hidden()
    else:
        expect(header).to_have_text(str(before))

    with closing(ui_server.api("oscar")) as operator:
        conversation = operator.post("/conversations", json={"title": f"Scale {name}"}).json()
        direct_call(
            operator,
            conversation["id"],
            "k8s_scale",
            {"resource": f"deployment/{name}", "namespace": NAMESPACE, "replicas": 2},
        )
        approval = wait_pending_approval(operator, conversation["id"])

    # No reload, no navigation: the user stream brings the count.
    expect(header).to_have_text(str(before + 1))
    expect(header).to_be_visible()
    expect(sidebar).to_have_text(str(before + 1))
    expect(header).to_have_attribute(
        "aria-label", f"{before + 1} approval{'' if before == 0 else 's'} waiting on you"
    )

    page.get_by_role("link", name="Approvals").first.click()
    expect(page.locator("#inbox-title")).to_have_text("Approvals")
    row = page.locator(f'tr.inbox-row[data-approval-id="{approval["id"]}"]')
    expect(row).to_contain_text("k8s_scale")
    expect(row).to_contain_text(f"deployment/{name}")
    expect(row).to_contain_text(NAMESPACE)
    expect(row.locator(".proposer")).to_have_text("oscar")
    expect(row.locator(".marks")).to_contain_text("waiting on you")
    expect(row.locator("td.time-left")).to_contain_text("left")

    page.get_by_label("Destructive").check()
    expect(row).to_have_count(0)
    page.get_by_label("Destructive").uncheck()
    page.get_by_label("Waiting on me").check()
    expect(row).to_be_visible()

    page.screenshot(path=str(artifacts / "inbox.png"))
    row.get_by_role("button", name="Show card").click()
    card = page.locator(f'.approval-card[data-approval-id="{approval["id"]}"]')
    expect(card).to_be_visible()
    expect(card.locator(".command")).to_contain_text(f"deployment/{name}")
    expect(card).to_contain_text("replicas")
    card.screenshot(path=str(artifacts / "inbox-card.png"))
    card.get_by_role("button", name="Approve", exact=True).click()

    expect(row).to_have_count(0)
    if before == 0:
        expect(header).to_be_hidden()
    else:
        expect(header).to_have_text(str(before))
    deadline = time.monotonic() + 60
    while replicas(sandbox, name) != 2:
        assert time.monotonic() < deadline, "the change approved from the inbox did not run"
        time.sleep(0.5)


# Records each notification the page shows (title and body), then shows it as the browser would.
RECORD_NOTIFICATIONS = """
window.shownNotifications = [];
const BrowserNotification = window.Notification;
window.Notification = class extends BrowserNotification {
  constructor(title, options) {
    window.shownNotifications.push({ title, body: (options || {}).body });
    super(title, options);
  }
};
"""


def test_notifications_are_asked_for_by_a_click_and_name_the_new_request(
    ui_server: UiServer, ui_workload: str, new_page: Any
) -> None:
    page = new_page()
    page.add_init_script(RECORD_NOTIFICATIONS)
    login(page, ui_server, "ada")
    page.get_by_role("link", name="Approvals").first.click()
    ask = page.get_by_role("button", name="Notify me of new requests")
    expect(ask).to_be_visible()
    page.context.grant_permissions(["notifications"], origin=ui_server.base_url)
    ask.click()
    expect(page.locator(".notify-control")).to_contain_text(
        "Browser notifications are on for new requests."
    )
    expect(ask).to_be_hidden()

    with closing(ui_server.api("oscar")) as operator:
        conversation = operator.post("/conversations", json={"title": "Notify"}).json()
        direct_call(
            operator,
            conversation["id"],
            "k8s_scale",
            {"resource": "deployment/steady", "namespace": NAMESPACE, "replicas": 3},
        )
        approval = wait_pending_approval(operator, conversation["id"])
    expect(page.locator(f'tr.inbox-row[data-approval-id="{approval["id"]}"]')).to_be_visible()
    page.wait_for_function("window.shownNotifications.length > 0")
    shown = page.evaluate("window.shownNotifications")
    assert shown[-1] == {
        "title": "Approval needed: k8s_scale",
        "body": f"oscar asks (namespace {NAMESPACE}, context {approval['items'][0]['context']})",
    }
    with closing(ui_server.api("ada")) as approver:
        approver.post(
            f"/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": False, "reason": "test"},
        ).raise_for_status()
