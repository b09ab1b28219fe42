"""Usage and answers in Debian chromium against the real server and scripted model: each
model turn's chip shows the tokens the script reports, "cost unknown" for the unpriced
scripted model, its time to first output and duration; the header totals the conversation;
a hostile Markdown answer renders as formatted text with its HTML and javascript: link
inert; ids copy to the clipboard; the run links to its timeline; the admin Usage page charts
the turns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import UiServer
from tests.ui.pages import ask, login, start_conversation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

DURATION = r"\d+(\.\d)? m?s"


def test_usage_chips_markdown_copy_and_the_usage_page(
    ui_server: UiServer, ui_workload: str, new_page: Any, artifacts: Path
) -> None:
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, ui_server, "admin")
    conversation_id = start_conversation(page, "Usage check")
    expect(page.locator(".usage-total")).to_have_text("no model turns yet")
    ask(page, "usage and markdown please")

    expect(page.locator(".final-status")).to_contain_text("Run completed", timeout=60_000)
    chips = page.locator(".usage-chip")
    expect(chips).to_have_count(2)
    for chip, tokens_in, tokens_out in ((chips.first, "1,234", "56"), (chips.last, "2,345", "78")):
        expect(chip.locator(".tokens-in")).to_have_text(f"{tokens_in} in")
        expect(chip.locator(".tokens-out")).to_have_text(f"{tokens_out} out")
        expect(chip.locator(".cost")).to_have_text("cost unknown")
        expect(chip.locator(".ttft")).to_have_text(re.compile(rf"^first output {DURATION}$"))
        expect(chip.locator(".duration")).to_have_text(re.compile(rf"^{DURATION}$"))
    expect(page.locator(".usage-total")).to_have_text(
        "2 model turns · 3,579 in · 134 out · cost unknown"
    )

    answer = page.locator(".msg-assistant .msg-text").last
    expect(answer.locator("h4")).to_have_text("Summary")
    expect(answer.locator("strong")).to_have_text("healthy")
    expect(answer.locator("li")).to_have_count(2)
    expect(answer.locator("pre.code")).to_have_text("replicas: 1")
    expect(answer.locator('a[href="https://example.com/docs"]')).to_have_text("the docs")
    # The hostile parts are shown as the text the model wrote, and none of them ran.
    expect(answer).to_contain_text('<img src=x onerror="window.__pwned = 1">')
    expect(answer).to_contain_text("<script>window.__pwned = 3</script>")
    expect(answer).to_contain_text("[a trap](javascript:window.__pwned=2)")
    assert answer.locator("img, script, a[href^='javascript']").count() == 0
    assert page.evaluate("() => window.__pwned") is None

    page.get_by_role("button", name="Copy the conversation id").click()
    expect(page.get_by_role("button", name="Copy the conversation id")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == conversation_id
    page.screenshot(path=str(artifacts / "usage-chat.png"), full_page=True)

    timeline = page.locator(".run-timeline-link").last
    run_id = timeline.get_attribute("href").rsplit("/", 1)[-1]
    timeline.click()
    expect(page.locator("h1 code")).to_have_text(run_id)
    turns = page.locator('.timeline-step[data-kind="model_turn"]')
    expect(turns).to_have_count(1)

    page.goto(f"{ui_server.base_url}/#/admin/usage?group_by=model&days=1")
    row = page.locator('.usage-row[data-key="scripted"]')
    expect(row).to_be_visible()
    expect(row.locator(".cost")).to_have_text("cost unknown")
    bar = page.locator('.usage-chart .usage-bar[data-key="scripted"]')
    expect(bar.locator("rect.bar-in")).to_have_count(1)
    page.screenshot(path=str(artifacts / "usage-page.png"), full_page=True)
    assert page.js_errors == []
