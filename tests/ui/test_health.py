"""The Health view in Debian chromium against the real server and the sandbox, with no model:
an operator diagnoses a namespace whose Deployment's new image never pulls, sees the finding
with its evidence and the proposed rollout undo, and proposing it opens the normal approval
card in the diagnosis's conversation (nothing runs before an approval)."""

from __future__ import annotations

import os
import re
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, eventually, get_json, kubectl
from tests.fixtures.ui import UiServer
from tests.ui.pages import login

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow, pytest.mark.timeout(300)]


def broken_rollout(sandbox: SandboxInfo) -> str:
    """A namespace whose `shopfront` revision 1 serves and revision 2's image never pulls."""
    namespace = f"health-{os.urandom(2).hex()}"
    assert kubectl(sandbox, "create", "namespace", namespace).returncode == 0
    manifest = deployment_manifest("shopfront", namespace, "nginx:1.27", replicas=2)
    assert kubectl(sandbox, "apply", "-f", "-", stdin=manifest).returncode == 0
    eventually(
        lambda: (
            get_json(sandbox, "deployment", "shopfront", "-n", namespace)["status"].get(
                "readyReplicas"
            )
            == 2
        ),
        what="shopfront ready",
    )
    bad = kubectl(
        sandbox, "set", "image", "deployment/shopfront", "shopfront=nginx:1.27-bad", "-n", namespace
    )
    assert bad.returncode == 0, bad.stderr
    return namespace


def test_a_finding_and_its_fix_go_to_the_approval_card(
    ui_server_no_model: UiServer, sandbox: SandboxInfo, new_page: Any, artifacts: Path
) -> None:
    namespace = broken_rollout(sandbox)
    page = new_page()
    login(page, ui_server_no_model, "oscar")
    page.get_by_role("link", name="Health").click()
    page.get_by_label("Namespace", exact=True).fill(namespace)
    page.get_by_role("button", name="Diagnose").click()
    finding = page.locator('.finding[data-analyzer="image_pull"]')
    expect(finding).to_contain_text(f"deployment/shopfront in {namespace}", timeout=60_000)
    expect(finding).to_contain_text("image nginx:1.27-bad cannot be pulled")
    expect(finding.locator(".badge")).to_have_text("warning")
    # The kubelet's state when the diagnosis reads it: the first failure or the back-off.
    expect(finding.locator(".evidence")).to_contain_text(
        re.compile("ErrImagePull|ImagePullBackOff")
    )
    expect(finding.locator(".fix")).to_contain_text("k8s_rollout_undo")
    page.screenshot(path=str(artifacts / "health.png"), full_page=True)
    finding.get_by_role("button", name="Propose k8s_rollout_undo").click()
    card = page.locator(".approval-card")
    expect(card.locator(".tool-name")).to_have_text("k8s_rollout_undo", timeout=60_000)
    # Proposed, not run: the Deployment still asks for the image that never pulls.
    image = get_json(sandbox, "deployment", "shopfront", "-n", namespace)["spec"]["template"]
    assert image["spec"]["containers"][0]["image"] == "nginx:1.27-bad"
    with closing(ui_server_no_model.api("ada")) as client:
        pending = client.get("/approvals", params={"status": "pending"}).json()["items"]
    assert any(
        item["tool"] == "k8s_rollout_undo"
        and item["args"]["resource"] == "deployment/shopfront"
        and item["args"]["namespace"] == namespace
        for approval in pending
        for item in approval["items"]
    ), pending
    assert page.js_errors == []
