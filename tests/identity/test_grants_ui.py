"""Scoped grants in the Command Center, in Debian chromium against a real server: the approval
card tells a viewer why they cannot decide; an admin grants them approver for that one
namespace in the admin view; the card then says why they may, and their approval runs the
change on the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import NAMESPACE, UiServer, launch_server, server_ready, stop_server
from tests.ui.pages import direct_call, login, replicas

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]


@pytest.fixture(scope="module")
def grants_server(
    sandbox: Any, ui_workload: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiServer]:
    launch = launch_server(sandbox, tmp_path_factory.mktemp("ui-grants"), model=False)
    try:
        yield server_ready(launch)
    finally:
        stop_server(launch)


def test_a_grant_made_in_the_admin_view_lets_a_viewer_decide_in_that_namespace_only(
    grants_server: UiServer, sandbox: Any, new_page: Any, artifacts: Path
) -> None:
    before = replicas(sandbox, "web")
    with closing(grants_server.api("oscar")) as oscar:
        conversation_id = oscar.post("/conversations", json={"namespace": NAMESPACE}).json()["id"]
        direct_call(
            oscar,
            conversation_id,
            "k8s_scale",
            {"resource": "deployment/web", "replicas": before + 1, "namespace": NAMESPACE},
        )
    scope = f"{sandbox.context}/{NAMESPACE}"

    vera = new_page()
    login(vera, grants_server, "vera")
    vera.goto(f"{grants_server.base_url}/#/c/{conversation_id}")
    card = vera.locator(".approval-card")
    expect(card.locator(".decide-why")).to_have_text(
        f"You cannot decide this: you are viewer in {scope}."
    )
    expect(card.get_by_role("button", name="Approve", exact=True)).to_have_count(0)

    admin = new_page()
    login(admin, grants_server, "admin")
    admin.goto(f"{grants_server.base_url}/#/admin")
    admin.get_by_label("Role to grant vera").select_option("approver")
    admin.get_by_label("Context of the grant to vera").fill(sandbox.context)
    admin.get_by_label("Namespace of the grant to vera").fill(NAMESPACE)
    admin.get_by_role("form", name="Grant vera a role").get_by_role("button", name="Grant").click()
    expect(admin.get_by_label("Grants of vera")).to_contain_text(f"approver for {scope}")
    admin.screenshot(path=str(artifacts / "admin-grants.png"))

    vera.reload()
    card = vera.locator(".approval-card")
    expect(card.locator(".decide-why")).to_have_text(f"You may decide this: approver for {scope}.")
    card.get_by_role("button", name="Approve", exact=True).click()
    expect(card.locator(".item-state")).to_have_text("approved")
    expect(card.locator(".decided-by")).to_contain_text("Approved by vera")
    card.screenshot(path=str(artifacts / "approval-card-scoped-approver.png"))
    with closing(grants_server.api("admin")) as api:
        events = api.get("/audit", params={"kind": "user.granted", "limit": 10}).json()["items"]
    assert [e["payload"]["role"] for e in events if e["kind"] == "user.granted"] == ["approver"]
    assert vera.js_errors == []
    assert admin.js_errors == []
