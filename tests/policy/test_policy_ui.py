"""The policy in the Command Center, in Debian chromium against a real server with a
two-person policy file: the card shows what is needed and who approved, stays open after the
first approval, and closes after the second; the admin view shows where the policy comes from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import NAMESPACE, UiServer, launch_server, server_ready, stop_server
from tests.ui.pages import direct_call, kubectl, login, replicas

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

POLICY = """rules:
  - id: two-people
    match: {tool: k8s_scale}
    require: {approvals: 2, approver_roles: [approver, admin]}
"""


@pytest.fixture(scope="module")
def policy_server(
    sandbox: Any, ui_workload: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiServer]:
    root = tmp_path_factory.mktemp("ui-policy")
    policy = Path(root / "policy.yaml")
    policy.write_text(POLICY)
    launch = launch_server(
        sandbox, root, model=False, extra_env={"OPSGATE_POLICY_FILE": str(policy)}
    )
    try:
        yield server_ready(launch)
    finally:
        stop_server(launch)


def test_the_card_shows_progress_and_stays_open_until_the_second_approval(
    policy_server: UiServer, sandbox: Any, new_page: Any, artifacts: Path
) -> None:
    # A deployment of its own: the shared `web` keeps the replicas other browser tests expect.
    kubectl(sandbox, "create", "deployment", "policy-web", "--image=nginx:1.27", "--replicas=1")
    before = replicas(sandbox, "policy-web")
    with closing(policy_server.api("oscar")) as oscar:
        conversation = oscar.post("/conversations", json={"namespace": NAMESPACE})
        conversation_id = conversation.json()["id"]
        direct_call(
            oscar,
            conversation_id,
            "k8s_scale",
            {"resource": "deployment/policy-web", "replicas": before + 1, "namespace": NAMESPACE},
        )
    page = new_page()
    login(page, policy_server, "ada")
    page.goto(f"{policy_server.base_url}/#/c/{conversation_id}")
    card = page.locator(".approval-card")
    progress = card.locator(".policy-progress")
    expect(progress).to_have_text(
        "2 of 2 approvals from role approver or admin needed; 0 given [rule two-people]"
    )
    card.get_by_role("button", name="Approve", exact=True).click()
    expect(card.locator(".decided-by")).to_contain_text("Approval by ada counted")
    expect(progress).to_contain_text("1 given (ada)")
    expect(card.locator(".item-state")).to_have_text("awaiting approval")
    expect(card.get_by_role("button", name="Approve", exact=True)).to_be_disabled()
    card.screenshot(path=str(artifacts / "approval-card-policy-progress.png"))
    assert replicas(sandbox, "policy-web") == before

    other = new_page()
    login(other, policy_server, "admin")
    other.goto(f"{policy_server.base_url}/#/c/{conversation_id}")
    theirs = other.locator(".approval-card")
    expect(theirs.locator(".policy-progress")).to_contain_text("1 given (ada)")
    theirs.get_by_role("button", name="Approve", exact=True).click()
    expect(card.locator(".decided-by")).to_contain_text("Approved by admin")
    expect(card.locator(".item-state")).to_have_text("approved")

    other.goto(f"{policy_server.base_url}/#/admin")
    policy = other.locator("section", has=other.locator("#policy-h"))
    expect(policy.locator(".policy-source")).to_contain_text("the policy file")
    expect(policy.get_by_label("Policy (YAML)")).to_have_value(POLICY)
    policy.get_by_label("Policy (YAML)").fill(POLICY.replace("approvals: 2", "approvals: 0"))
    policy.get_by_role("button", name="Check").click()
    expect(policy.locator(".policy-result")).to_contain_text("Refused: line 4")
    assert page.js_errors == []
    assert other.js_errors == []
