"""Single sign-on in Debian chromium: the real server (a subprocess) and a real OpenID Connect
provider on loopback (`oidc-provider-mock`, in this process), both started by the test.

A person signs in through the "Sign in with Test IdP" button and the provider's own page, gets
the role their groups map to, and signs out of both; a person in no mapped group lands on the
page that says they have no access.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.net import free_port
from tests.fixtures.oidc import Provider, serve_provider
from tests.fixtures.ui import PASSWORD, UiServer, launch_server, server_ready, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

ROLES = {"ops-oncall": "approver", "ops-devs": "operator"}


@pytest.fixture(scope="module")
def sso_provider() -> Iterator[Provider]:
    with serve_provider() as provider:
        yield provider


@pytest.fixture(scope="module")
def sso_server(
    sso_provider: Provider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiServer]:
    port = free_port()
    launch = launch_server(
        None,
        tmp_path_factory.mktemp("ui-sso"),
        model=False,
        port=port,
        extra_env={
            "OPSGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OPSGATE_OIDC__ISSUER": sso_provider.url,
            "OPSGATE_OIDC__CLIENT_ID": "opsgate-ui",
            "OPSGATE_OIDC__CLIENT_SECRET": "ui-client-secret",
            "OPSGATE_OIDC__DISPLAY_NAME": "Test IdP",
            "OPSGATE_SSO_ROLES": json.dumps(ROLES),
        },
    )
    try:
        server = server_ready(launch, with_users=False)
        # The first admin (local) exists, so the login view shows rather than first-run setup.
        with httpx.Client(base_url=f"{server.base_url}/api/v1", timeout=30) as client:
            client.post(
                "/setup",
                json={"setup_token": server.setup_token, "username": "admin", "password": PASSWORD},
            ).raise_for_status()
        yield server
    finally:
        stop_server(launch)


def sign_in_at_provider(page: Page, server: UiServer, sub: str) -> None:
    page.goto(f"{server.base_url}/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_sign_in_maps_groups_to_a_role_and_logout_leaves_the_provider_too(
    sso_server: UiServer, sso_provider: Provider, new_page: Any, artifacts: Path
) -> None:
    sso_provider.set_user("u-olga", preferred_username="olga", groups=["ops-devs", "ops-oncall"])
    page = new_page()
    page.goto(f"{sso_server.base_url}/")
    expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()
    page.screenshot(path=str(artifacts / "sso-login.png"))
    sign_in_at_provider(page, sso_server, "u-olga")
    expect(page.locator("#whoami")).to_contain_text("olga")
    expect(page.locator("#whoami")).to_contain_text("approver")
    me = page.evaluate("fetch('/api/v1/auth/me').then((r) => r.json())")
    assert (me["username"], me["role"], me["sign_in"]) == ("olga", "approver", "oidc")
    page.locator("#logout").click()
    expect(page.get_by_role("heading", name="End Session")).to_be_visible()
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()
    status = page.evaluate("fetch('/api/v1/auth/me').then((r) => r.status)")
    assert status == 401
    assert page.js_errors == []


def test_a_person_in_no_mapped_group_is_told_they_have_no_access(
    sso_server: UiServer, sso_provider: Provider, new_page: Any, artifacts: Path
) -> None:
    sso_provider.set_user("u-nadia", preferred_username="nadia", groups=["finance"])
    page = new_page()
    sign_in_at_provider(page, sso_server, "u-nadia")
    expect(page.get_by_role("heading", name="No access to opsgate")).to_be_visible()
    expect(page.locator("#sso-message")).to_contain_text("in no group that has access")
    page.screenshot(path=str(artifacts / "sso-denied.png"))
    status = page.evaluate("fetch('/api/v1/auth/me').then((r) => r.status)")
    assert status == 401
    page.get_by_role("link", name="Back to sign-in").click()
    expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()
