"""The tool card's "Undo" in the Command Center (Debian chromium, real server, sandbox): a
change that ran offers the call restoring its snapshot; clicking "Undo" proposes it, it waits
for approval on its own card, and once approved the deployment is back."""

from __future__ import annotations

from contextlib import closing
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import NAMESPACE, UiServer
from tests.ui.pages import (
    direct_call,
    kubectl,
    login,
    replicas,
    shown_verdict,
    start_conversation,
    tool_card,
    wait_pending_approval,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]


def test_the_tool_card_offers_undo_and_the_undo_is_gated(
    ui_server: UiServer, sandbox: Any, new_page: Any
) -> None:
    kubectl(sandbox, "create", "deployment", "undo-web", "--image=nginx:1.27", "--replicas=1")
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "Undo a scale", NAMESPACE)
    scale = {"resource": "deployment/undo-web", "replicas": 2, "namespace": NAMESPACE}
    with closing(ui_server.api("ada")) as ada:
        direct_call(ada, conversation_id, "k8s_scale", scale)
        approval = wait_pending_approval(ada, conversation_id)
        [item] = approval["items"]
        decided = ada.post(
            f"/approvals/{approval['id']}/decision",
            json={"call_id": item["call_id"], "approve": True},
        )
        assert decided.status_code == 200, decided.text
    card = tool_card(page, "k8s_scale")
    assert shown_verdict(card) == "verified"
    assert replicas(sandbox, "undo-web") == 2

    offered = card.locator(".undo")
    expect(offered).to_contain_text("Undo restores the snapshot taken before this change")
    expect(offered.locator("code").first).to_have_text("k8s_patch")
    offered.get_by_role("button", name="Undo").click()
    expect(offered.get_by_role("button")).to_have_text("Undo proposed: it waits for approval below")
    waiting = page.locator(".approval-card").filter(has_text="k8s_patch")
    expect(waiting).to_be_visible()
    expect(waiting.locator(".preview .hl-del").filter(has_text="replicas: 2")).to_have_count(1)
    expect(waiting.locator(".preview .hl-add").filter(has_text="replicas: 1")).to_have_count(1)
    assert replicas(sandbox, "undo-web") == 2, "the undo waits for its approval"
    waiting.get_by_role("button", name="Approve").click()
    assert shown_verdict(tool_card(page, "k8s_patch")) == "verified"
    assert replicas(sandbox, "undo-web") == 1
    assert page.js_errors == []
