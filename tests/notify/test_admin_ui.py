"""The Webhooks card of the admin settings in Debian chromium against the real server: an
admin adds a webhook (its secret shown once), sees it listed, opens its delivery log, and
removes it."""

from __future__ import annotations

import re
import secrets
from contextlib import closing
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import UiServer
from tests.ui.pages import login

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_an_admin_adds_reads_and_removes_a_webhook(ui_server: UiServer, new_page: Any) -> None:
    url = f"https://hooks.example.test/{secrets.token_hex(4)}"
    page = new_page()
    login(page, ui_server, "admin")
    page.goto(f"{ui_server.base_url}/#/admin")
    card = page.locator("section[aria-labelledby=webhooks-h]")
    form = card.get_by_role("form", name="Add a webhook")
    form.get_by_label("URL").fill(url)
    form.get_by_label("run.failed").check()
    form.get_by_role("button", name="Add webhook").click()
    expect(card.locator(".token-once code.secret")).to_have_text(re.compile(r"^whsec_\S{40,}$"))
    secret = card.locator(".token-once code.secret").inner_text()
    row = card.locator("tbody tr", has_text=url)
    expect(row).to_contain_text("approval.requested, run.failed")
    row.get_by_role("button", name="Deliveries").click()
    expect(card.locator(".webhook-log")).to_contain_text(f"Deliveries to {url}")
    expect(card.locator(".webhook-log")).to_contain_text("No deliveries yet.")
    with closing(ui_server.api("admin")) as admin:
        listed = admin.get("/webhooks")
    assert url in listed.text
    assert secret not in listed.text
    row.get_by_role("button", name="Remove").click()
    expect(card.locator("tbody tr", has_text=url)).to_have_count(0)
