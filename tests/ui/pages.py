"""Helpers the browser tests share: the sandbox read back with kubectl, the pages a person goes
through (login, a new conversation, the composer), direct calls through the API, and the
outcome colour an element is drawn in.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.ui import NAMESPACE, PASSWORD, ROOT, UiServer

VERDICT_TONE = {"verified": "green", "failed": "red", "not_verified": "amber"}

_TONE_VARS = {
    "green": "--ok",
    "red": "--bad",
    "amber": "--warn",
    "blue": "--info",
    "grey": "--grey",
}


def kubectl(sandbox: Any, *args: str) -> str:
    """Runs the bundled kubectl against the sandbox in the UI namespace; returns stdout."""
    done = subprocess.run(
        [
            str(getattr(sandbox, "kubectl", None) or ROOT / ".tools" / "bin" / "kubectl"),
            "--kubeconfig",
            str(sandbox.kubeconfig),
            "--context",
            sandbox.context,
            "-n",
            NAMESPACE,
            *args,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return done.stdout.decode()


def replicas(sandbox: Any, deployment: str = "web") -> int:
    return int(kubectl(sandbox, "get", "deployment", deployment, "-o", "jsonpath={.spec.replicas}"))


def login(page: Page, server: UiServer, username: str) -> None:
    page.goto(f"{server.base_url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#whoami")).to_contain_text(username)


def start_conversation(page: Page, title: str, namespace: str | None = None) -> str:
    """Starts a conversation through the form; returns its id."""
    page.get_by_label("Title").fill(title)
    if namespace is not None:
        page.get_by_label("Namespace").fill(namespace)
    page.get_by_role("button", name="Start conversation").click()
    expect(page.locator(".chat-head h1")).to_have_text(title)
    return page.url.rsplit("/", 1)[-1]


def ask(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def tool_card(page: Page, tool: str) -> Locator:
    return page.locator(f'.tool-card[data-tool="{tool}"]')


def direct_call(client: httpx.Client, conversation_id: str, tool: str, args: dict[str, Any]) -> str:
    """Submits a direct call through the API (as the palette does); returns the run id."""
    answer = client.post(
        f"/conversations/{conversation_id}/calls", json={"tool": tool, "args": args}
    )
    answer.raise_for_status()
    return str(answer.json()["run_id"])


def wait_pending_approval(client: httpx.Client, conversation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = client.get(
            "/approvals", params={"status": "pending", "conversation_id": conversation_id}
        ).json()["items"]
        if items:
            return dict(items[0])
        time.sleep(0.3)
    raise AssertionError(f"no pending approval in conversation {conversation_id!r}")


def tone(locator: Locator) -> str | None:
    """The outcome colour an element is drawn in (docs/outcomes.md), read from the page: which
    of the theme's tone colours its computed text colour is, or None for another colour."""
    found = locator.evaluate(
        """(el, vars) => {
            const colour = (value) => {
                const probe = document.createElement("span");
                probe.style.color = value;
                document.body.append(probe);
                const rgb = getComputedStyle(probe).color;
                probe.remove();
                return rgb;
            };
            const own = getComputedStyle(el).color;
            const hit = Object.entries(vars).find(([, name]) => colour(`var(${name})`) === own);
            return hit ? hit[0] : null;
        }""",
        _TONE_VARS,
    )
    return None if found is None else str(found)


def shown_verdict(card: Locator) -> str:
    """Waits for the card's verification; returns its verdict after checking it is drawn in the
    verdict's colour and the card's state says the same."""
    verify = card.locator(".verify")
    expect(verify).to_be_visible(timeout=90_000)
    verdict = str(verify.get_attribute("data-verdict"))
    states = {
        "verified": "verified",
        "failed": "verification_failed",
        "not_verified": "not_verified",
    }
    expect(card).to_have_attribute("data-status", states[verdict])
    assert tone(verify) == VERDICT_TONE[verdict], (verdict, tone(verify))
    return verdict
