"""The approval card tells the truth before the click, in Debian chromium against the real
server and the sandbox: a failed dry run is a red banner and "Approve anyway" with a reason, a
no-op says nothing will change, the exact command can be copied, the proposer is told it is
their own change (and cannot approve it where a distinct approver is required), long lines
wrap, nothing that will change is folded, and security-relevant fields are summarised at the
top.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from playwright.sync_api import expect

from mcp import Client, StdioServerParameters
from tests.fixtures.cli import OPSGATE
from tests.fixtures.ui import NAMESPACE, UiServer
from tests.ui.pages import (
    direct_call,
    login,
    replicas,
    shown_verdict,
    start_conversation,
    tone,
    tool_card,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]


def propose_from_palette(page: Any, tool: str, fields: dict[str, str]) -> None:
    page.locator("summary", has_text="Tool palette").click()
    page.get_by_label("Tool", exact=True).select_option(tool)
    form = page.locator(".palette-form")
    for label, value in fields.items():
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name="Propose change").click()


def test_a_failed_dry_run_needs_an_override_reason_and_the_failure_ends_red(
    ui_server: UiServer, new_page: Any, artifacts: Path
) -> None:
    missing = f"missing-{secrets.token_hex(3)}"
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "Scale what is not there", namespace=NAMESPACE)
    propose_from_palette(
        page,
        "k8s_scale",
        {"Resource (required)": f"deployment/{missing}", "Replicas (required)": "2"},
    )
    card = page.locator(".approval-card")
    banner = card.locator(".preview-failed")
    expect(banner).to_contain_text("The dry run failed")
    expect(banner.locator("pre")).to_contain_text(f'"{missing}" not found')
    assert tone(banner) == "red"
    expect(card.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    card.screenshot(path=str(artifacts / "approval-card-dry-run-failed.png"))

    card.get_by_role("button", name="Approve anyway").click()
    expect(card.get_by_role("alert").filter(has_text="needs a reason")).to_be_visible()
    expect(card.locator(".item-state")).to_have_text("awaiting approval")
    card.get_by_label("Reason for approving despite the failed dry run (required)").fill(
        "it was created a moment ago"
    )
    card.get_by_role("button", name="Approve anyway").click()
    expect(card.locator(".decided-by")).to_have_text(
        "Approved despite the failed dry run by ada: it was created a moment ago"
    )
    scale = tool_card(page, "k8s_scale")
    expect(scale).to_have_attribute("data-status", "failed")
    assert tone(scale.locator(".status")) == "red"
    final = page.locator(".final-status")
    expect(final).to_contain_text("Run completed with failures: 1 change run; 1 call failed")
    assert tone(final.locator(".final-words")) == "red"
    with closing(ui_server.api("ada")) as client:
        granted = client.get(
            "/audit", params={"kind": "approval.granted", "conversation_id": conversation_id}
        ).json()["items"]
    assert [event["payload"]["override"] for event in granted] == [True]
    assert page.js_errors == []


def test_the_proposer_is_told_and_cannot_approve_where_a_distinct_approver_is_required(
    ui_server_no_model: UiServer, sandbox: Any, new_page: Any, artifacts: Path
) -> None:
    page = new_page()
    login(page, ui_server_no_model, "ada")
    expect(page.locator("#model-banner")).to_contain_text("OPSGATE_MODEL")
    conversation_id = start_conversation(page, "Palette scale", namespace=NAMESPACE)
    propose_from_palette(
        page, "k8s_scale", {"Resource (required)": "deployment/api", "Replicas (required)": "3"}
    )
    card = page.locator(".approval-card")
    expect(card.locator(".self-note")).to_have_text("You proposed this change.")
    expect(card.get_by_role("button", name="Approve")).to_be_disabled()
    expect(card.get_by_role("button", name="Reject")).to_be_disabled()
    expect(card.locator(".blocked-note")).to_contain_text("another approver must decide")
    expect(card.locator(".policy-note")).to_have_count(0)
    card.screenshot(path=str(artifacts / "approval-card-own-change.png"))

    other = new_page()
    login(other, ui_server_no_model, "admin")
    other.goto(f"{ui_server_no_model.base_url}/#/c/{conversation_id}")
    theirs = other.locator(".approval-card")
    expect(theirs.locator(".proposer")).to_have_text("ada")
    expect(theirs.locator(".self-note")).to_have_count(0)
    theirs.get_by_role("button", name="Approve").click()
    assert shown_verdict(tool_card(page, "k8s_scale")) == "verified"
    expect(card.locator(".decided-by")).to_contain_text("Approved by admin")
    assert replicas(sandbox, "api") == 3
    assert page.js_errors == []
    assert other.js_errors == []


def wide_manifest(name: str) -> str:
    """A deployment in one JSON line: a 12,000-character annotation first, then a privileged
    container sharing the node's PIDs, with enough env vars for a diff of over 100 lines."""
    container = {
        "name": "app",
        "image": "nginx:1.27",
        "env": [{"name": f"SETTING_{i}", "value": str(i)} for i in range(40)],
        "securityContext": {
            "privileged": True,
            "runAsUser": 0,
            "capabilities": {"add": ["SYS_ADMIN"]},
        },
    }
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "annotations": {"note": "x" * 12_000}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"hostPID": True, "containers": [container]},
            },
        },
    }
    return json.dumps(manifest)


def test_long_lines_wrap_nothing_is_folded_and_security_fields_lead_the_card(
    ui_server: UiServer, new_page: Any, artifacts: Path
) -> None:
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "A wide manifest", namespace=NAMESPACE)
    with closing(ui_server.api("ada")) as client:
        direct_call(
            client,
            conversation_id,
            "k8s_apply",
            {"manifest": wide_manifest(f"wide-{secrets.token_hex(3)}")},
        )
    card = page.locator(".approval-card")
    summary = card.locator(".security-summary")
    for found in (
        "privileged: true",
        "hostPID: true",
        "capabilities.add: SYS_ADMIN",
        "runAsUser: 0",
    ):
        expect(summary).to_contain_text(found)
    # The summary comes before the command, the arguments and the diff.
    order = card.evaluate(
        """(card) => [".security-summary", ".preview", ".args-block"].map(
            (sel) => card.querySelector(sel).getBoundingClientRect().top)"""
    )
    assert order == sorted(order), order

    preview = card.locator(".preview")
    expect(preview.locator(".hl-add").filter(has_text="privileged: true")).to_have_count(1)
    expect(preview).to_contain_text("SETTING_39")
    expect(card.locator("button.fold")).to_have_count(0)
    width = page.evaluate("() => window.innerWidth")
    hidden = card.evaluate(
        """(card) => [...card.querySelectorAll("pre")]
            .filter((pre) => pre.scrollWidth > pre.clientWidth + 1
                || pre.getBoundingClientRect().right > window.innerWidth)
            .map((pre) => pre.getAttribute("aria-label"))"""
    )
    assert hidden == [], f"blocks with text out of sight to the right: {hidden}"
    privileged = preview.locator(".hl-add").filter(has_text="privileged: true").bounding_box()
    assert privileged is not None
    assert privileged["x"] + privileged["width"] <= width
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    card.screenshot(path=str(artifacts / "approval-card-wide-manifest.png"))
    card.evaluate("(card) => card.scrollIntoView()")
    page.screenshot(path=str(artifacts / "approval-card-wide-manifest-top.png"))

    card.get_by_label("Reason (required to reject)").fill("privileged is not allowed here")
    card.get_by_role("button", name="Reject").click()
    expect(page.locator(".final-status")).to_contain_text("Run rejected: nothing ran")
    assert page.js_errors == []


def test_a_no_op_says_nothing_will_change_and_the_command_can_be_copied(
    ui_server: UiServer, sandbox: Any, new_page: Any, artifacts: Path
) -> None:
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "Scale to what it is", namespace=NAMESPACE)
    with closing(ui_server.api("ada")) as client:
        direct_call(
            client, conversation_id, "k8s_scale", {"resource": "deployment/steady", "replicas": 2}
        )
    card = page.locator(".approval-card")
    expect(card.locator(".preview-noop")).to_contain_text("Nothing will change")
    expect(card.get_by_role("button", name="Approve (changes nothing)")).to_be_enabled()
    command = card.locator("pre.command")
    expect(command).to_contain_text("scale deployment/steady")
    expect(command).to_contain_text("--replicas=2")
    expect(command).to_contain_text(f"--context {sandbox.context}")
    card.get_by_role("button", name="Copy the command").click()
    expect(card.get_by_role("button", name="Copy the command")).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == command.inner_text()
    card.screenshot(path=str(artifacts / "approval-card-no-op.png"))
    card.get_by_label("Reason (required to reject)").fill("nothing to do")
    card.get_by_role("button", name="Reject").click()
    expect(page.locator(".final-status")).to_contain_text("Run rejected: nothing ran")
    assert page.js_errors == []


def test_a_change_from_an_outside_mcp_client_names_the_client_on_the_card(
    ui_server_no_model: UiServer, sandbox: Any, new_page: Any
) -> None:
    """`opsgate mcp` (stdio, the official MCP Python client, as oscar) proposes a change; the
    card an approver sees says which client program asked."""
    server = ui_server_no_model
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")},
        "OPSGATE_DATA_DIR": str(server.data_dir),
        "OPSGATE_KUBECONFIG": str(sandbox.kubeconfig),
        "OPSGATE_DEFAULT_CONTEXT": sandbox.context,
        "OPSGATE_MCP_USER": "oscar",
    }
    before = replicas(sandbox, "api")
    outcome: list[Any] = []

    async def call() -> None:
        target = StdioServerParameters(command=str(OPSGATE), args=["mcp"], env=env)
        client_info = mcp_types.Implementation(name="test-agent", version="9.8.7")
        async with Client(target, client_info=client_info) as client:
            args = {"resource": "deployment/api", "namespace": NAMESPACE, "replicas": before + 2}
            outcome.append(await client.call_tool("k8s_scale", args))

    caller = threading.Thread(target=anyio.run, args=(call,))
    caller.start()
    with closing(server.api("admin")) as api:
        deadline = time.monotonic() + 90
        while not (found := api.get("/approvals", params={"status": "pending"}).json()["items"]):
            assert time.monotonic() < deadline, "the MCP client's change opened no approval"
            time.sleep(0.3)
    page = new_page()
    login(page, server, "admin")
    page.goto(f"{server.base_url}/#/c/{found[0]['conversation_id']}")
    card = page.locator(".approval-card")
    expect(card.locator(".client")).to_have_text("via test-agent 9.8.7")
    card.get_by_label("Reason (required to reject)").fill("only checking the card")
    card.get_by_role("button", name="Reject").click()
    caller.join(timeout=60)
    assert outcome[0].structured_content["outcome"] == "rejected"
    assert replicas(sandbox, "api") == before
    assert page.js_errors == []
