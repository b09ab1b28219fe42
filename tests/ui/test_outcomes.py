"""What the Command Center says after the click, in Debian chromium against the real server,
the scripted model and the sandbox: final statuses in the words and colours of
docs/outcomes.md with their summary line, a failed verification with its reason, progress on
one line per call, Stop that says "stopping…" and then who stopped the run, run errors shown
in the run while the connection indicator follows only the connection, the palette taking the
conversation's namespace, and the page's one mapping checked against docs/outcomes.md and
the server's summary line.
"""

from __future__ import annotations

import json
import secrets
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from opsgate.domain.outcomes import RunSummary
from tests.fixtures.ui import NAMESPACE, ROOT, UiServer
from tests.ui.pages import (
    ask,
    direct_call,
    kubectl,
    login,
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

# Records, for every tool card, each state its progress line and output block went through,
# so a test can say what a person could have seen between two of its own looks.
WATCH_CARDS = """() => {
    window.seen = {};
    const look = () => {
        for (const card of document.querySelectorAll(".tool-card")) {
            const id = card.dataset.callId;
            const seen = (window.seen[id] ||= { lines: 0, texts: [], outputs: [] });
            const lines = [...card.querySelectorAll(".progress-line")].filter((el) => !el.hidden);
            seen.lines = Math.max(seen.lines, lines.length);
            for (const line of lines) {
                if (seen.texts.at(-1) !== line.textContent) seen.texts.push(line.textContent);
            }
            const output = card.querySelector(".output-slot pre");
            if (output && seen.outputs.at(-1) !== output.textContent) {
                seen.outputs.push(output.textContent);
            }
        }
    };
    const all = { subtree: true, childList: true, characterData: true, attributes: true };
    new MutationObserver(look).observe(document.body, all);
}"""

WATCH_STOP = """() => {
    window.stopStates = [];
    const button = [...document.querySelectorAll(".chat-head button")]
        .find((b) => b.textContent === "Stop");
    const look = () => {
        const state = `${button.textContent}|${button.disabled}|${button.hidden}`;
        if (window.stopStates.at(-1) !== state) window.stopStates.push(state);
    };
    const all = { subtree: true, childList: true, characterData: true, attributes: true };
    new MutationObserver(look).observe(button, all);
}"""


def new_image() -> str:
    """An image this session has not used (a rollout of it is a real template change)."""
    return f"nginx:1.27-{secrets.token_hex(3)}"


def test_a_failed_verification_is_red_with_its_reason_and_progress_updates_one_line(
    ui_server: UiServer, new_page: Any, artifacts: Path
) -> None:
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "Stuck rollout", namespace=NAMESPACE)
    with closing(ui_server.api("ada")) as client:
        direct_call(
            client,
            conversation_id,
            "k8s_set_image",
            {"resource": "deployment/stuck", "images": {"app": new_image()}},
        )
    card = page.locator(".approval-card")
    expect(card.locator(".tool-name")).to_have_text("k8s_set_image")
    page.evaluate(WATCH_CARDS)
    card.get_by_role("button", name="Approve").click()

    tool = tool_card(page, "k8s_set_image")
    output = tool.locator(".output-slot pre")
    expect(output).to_contain_text("image updated")
    # The rollout waits for pods that cannot start: the check reports, on one line.
    progress = tool.locator(".progress-line")
    expect(progress).to_contain_text("checking: ", timeout=30_000)
    expect(tool.locator(".phase")).to_have_text("verifying…")

    assert shown_verdict(tool) == "failed"
    # The card says what the check found, word for word (the tools say what they can).
    with closing(ui_server.api("ada")) as client:
        found = client.get(
            "/audit", params={"kind": "verify", "conversation_id": conversation_id}
        ).json()["items"]
    assert [event["payload"]["verdict"] for event in found] == ["failed"]
    expect(tool.locator(".verify-summary")).to_have_text(found[0]["payload"]["summary"])
    expect(tool.locator(".verify-summary")).to_contain_text("ProgressDeadlineExceeded")
    expect(progress).to_be_hidden()
    expect(tool.locator(".phase")).to_be_hidden()
    final = page.locator(".final-status")
    expect(final).to_contain_text(
        "Run completed with failures: 1 change run: 1 verification failed"
    )
    assert tone(final.locator(".final-words")) == "red"
    assert tone(final.locator(".final-summary .tone-red")) == "red"

    call_id = tool.get_attribute("data-call-id")
    seen = page.evaluate("() => window.seen")[call_id]
    assert seen["lines"] == 1, seen
    assert len(seen["texts"]) >= 2, f"the progress line was not updated in place: {seen}"
    # The output block showed the call's own output, and only that, from first to last.
    assert len(seen["outputs"]) == 1, seen["outputs"]
    assert "image updated" in seen["outputs"][0]
    tool.screenshot(path=str(artifacts / "verification-failed.png"))
    assert page.js_errors == []


def test_stop_during_verification_says_stopping_then_who_stopped_it(
    ui_server: UiServer, new_page: Any
) -> None:
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "Stop the check", namespace=NAMESPACE)
    with closing(ui_server.api("ada")) as client:
        direct_call(
            client,
            conversation_id,
            "k8s_set_image",
            {"resource": "deployment/halt", "images": {"app": new_image()}},
        )
    page.locator(".approval-card").get_by_role("button", name="Approve").click()
    tool = tool_card(page, "k8s_set_image")
    expect(tool.locator(".progress-line")).to_contain_text("checking: ", timeout=30_000)

    page.evaluate(WATCH_STOP)
    page.get_by_role("button", name="Stop").click()
    final = page.locator(".final-status")
    expect(final).to_contain_text("Run stopped by ada: 1 change run: 1 not verified")
    assert tone(final.locator(".final-words")) == "grey"
    expect(page.locator(".chat-head").get_by_role("button", name="Stop")).to_be_hidden()
    states = page.evaluate("() => window.stopStates")
    assert "stopping…|true|false" in states, states
    assert shown_verdict(tool) == "not_verified"
    expect(tool.locator(".verify-summary")).to_contain_text("stopped by ada")
    assert page.js_errors == []


def test_an_expired_approval_ends_grey_and_says_nothing_ran(
    ui_server_short_ttl: UiServer, new_page: Any
) -> None:
    page = new_page()
    login(page, ui_server_short_ttl, "ada")
    conversation_id = start_conversation(page, "Let it lapse", namespace=NAMESPACE)
    with closing(ui_server_short_ttl.api("oscar")) as client:
        direct_call(
            client, conversation_id, "k8s_scale", {"resource": "deployment/web", "replicas": 4}
        )
    card = page.locator(".approval-card")
    expect(card.locator(".item-state")).to_have_text("expired", timeout=30_000)
    final = page.locator(".final-status")
    expect(final).to_contain_text("Run expired: nothing ran: 1 call expired")
    assert tone(final.locator(".final-words")) == "grey"
    expect(tool_card(page, "k8s_scale")).to_have_attribute("data-status", "expired")
    assert tone(tool_card(page, "k8s_scale").locator(".status")) == "grey"
    assert page.js_errors == []


def test_run_errors_show_in_the_run_and_the_indicator_follows_only_the_connection(
    ui_server: UiServer, new_page: Any
) -> None:
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "No script for this")
    ask(page, "a request no script matches")
    errors = page.locator(".run-error")
    expect(errors).to_have_count(1)
    final = page.locator(".final-status")
    expect(final).to_contain_text("Run failed")
    assert tone(final.locator(".final-words")) == "red"
    state = page.locator(".stream-state")
    expect(state).to_have_text("live")

    # A database written before the event was renamed holds events named `error`: the
    # stream replays them under that name, which is also EventSource's own error event.
    with closing(ui_server.api("ada")) as client:
        run_id = client.get(f"/conversations/{conversation_id}").json()["runs"][0]["id"]
    ui_server.store_stream_event(
        conversation_id,
        run_id,
        "error",
        {"run_id": run_id, "code": "engine_error", "message": "stored by an earlier version"},
    )
    expect(errors).to_have_count(2, timeout=15_000)
    expect(errors.nth(1)).to_contain_text("stored by an earlier version (engine_error)")
    expect(state).to_have_text("live")
    page.reload()
    expect(page.locator(".run-error")).to_have_count(2)
    expect(page.locator(".stream-state")).to_have_text("live")
    assert page.js_errors == []


def test_the_palette_takes_the_conversation_namespace(
    ui_server_no_model: UiServer, new_page: Any
) -> None:
    page = new_page()
    login(page, ui_server_no_model, "oscar")
    start_conversation(page, "Pods in the namespace", namespace=NAMESPACE)
    page.locator("summary", has_text="Tool palette").click()
    page.get_by_label("Tool", exact=True).select_option("k8s_get")
    form = page.locator(".palette-form")
    form.get_by_label("Resource (required)").fill("deployments")
    namespace = form.get_by_label("Namespace", exact=True)
    expect(namespace).to_have_attribute("placeholder", f"{NAMESPACE} (from conversation)")
    expect(namespace).to_have_value("")
    form.get_by_role("button", name="Run").click()
    read = tool_card(page, "k8s_get")
    expect(read).to_have_attribute("data-status", "succeeded")
    expect(read.locator(".args pre")).to_contain_text(f'"namespace": "{NAMESPACE}"')
    expect(read.locator(".output-slot pre")).to_contain_text("steady")
    assert page.js_errors == []


def test_a_patch_that_breaks_its_pods_ends_red_with_the_reason_and_offers_a_rollback(
    ui_server: UiServer, sandbox: Any, new_page: Any, artifacts: Path
) -> None:
    secret = f"cfg-db-{secrets.token_hex(3)}"
    env = [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}}
    ]
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "cfg", "env": env}]}}}}
    page = new_page()
    login(page, ui_server, "ada")
    conversation_id = start_conversation(page, "Break cfg", namespace=NAMESPACE)
    with closing(ui_server.api("ada")) as client:
        direct_call(
            client,
            conversation_id,
            "k8s_patch",
            {"resource": "deployment/cfg", "patch": json.dumps(patch)},
        )
    page.locator(".approval-card").get_by_role("button", name="Approve").click()

    tool = tool_card(page, "k8s_patch")
    assert shown_verdict(tool) == "failed"
    # The reason read from the cluster: the failing pod, its state, the kubelet's message.
    expect(tool.locator(".verify-summary")).to_contain_text("CreateContainerConfigError")
    expect(tool.locator(".verify-summary")).to_contain_text(f'secret "{secret}" not found')
    expect(tool.locator(".verify-next")).to_contain_text("Next step:")
    expect(page.locator(".final-status")).to_contain_text(
        "Run completed with failures: 1 change run: 1 verification failed"
    )
    tool.screenshot(path=str(artifacts / "verification-failed-secret.png"))

    tool.get_by_role("button", name="Propose rollback").click()
    expect(tool.get_by_role("button", name="Rollback proposed")).to_be_disabled()
    undo = page.locator(".approval-card").nth(1)
    # The snapshot's undo: a merge patch back to the template the change replaced.
    expect(undo.locator(".tool-name")).to_have_text("k8s_patch")
    undo.locator('textarea[name="reason"]').fill("the Secret does not exist yet")
    undo.get_by_role("button", name="Approve").click()
    assert shown_verdict(tool_card(page, "k8s_patch").nth(1)) == "verified"
    expect(page.locator(".final-status").nth(1)).to_contain_text("Run completed")
    template = json.loads(kubectl(sandbox, "get", "deployment", "cfg", "-o", "json"))
    containers = template["spec"]["template"]["spec"]["containers"]
    assert all(not c.get("env") for c in containers), containers
    assert page.js_errors == []


def _doc_table(heading: str) -> dict[str, tuple[str, str]]:
    """`state -> (words, colour)` from one table of docs/outcomes.md."""
    text = (ROOT / "docs" / "outcomes.md").read_text()
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:4] for line in section.splitlines() if line.startswith("| `")]
    return {
        state.strip().strip("`"): (words.strip(), colour.strip()) for state, words, colour in rows
    }


def test_the_page_uses_the_words_and_colours_of_docs_outcomes_and_the_server_summary_line(
    ui_server: UiServer, new_page: Any
) -> None:
    page = new_page()
    page.goto(f"{ui_server.base_url}/")
    mapping = page.evaluate(
        """async () => {
            const o = await import("/assets/outcomes.js");
            return { calls: o.CALL_STATES, runs: o.RUN_STATUSES };
        }"""
    )
    as_doc = {
        name: {
            state: (look["words"], look["tone"].replace("-", " ")) for state, look in table.items()
        }
        for name, table in mapping.items()
    }
    assert as_doc["calls"] == _doc_table("Call states")
    assert as_doc["runs"] == _doc_table("Run statuses")

    summaries = [
        RunSummary(),
        RunSummary(reads=1),
        RunSummary(reads=2, changes_run=1, verified=1),
        RunSummary(changes_run=1, verification_failed=1),
        RunSummary(changes_run=3, verified=1, not_verified=1, verification_failed=1, reads=4),
        RunSummary(changes_run=1, failed=1),
        RunSummary(rejected=2, expired=1, invalid=1, failed=2, reads=1),
        RunSummary(changes_run=2),
    ]
    shown = page.evaluate(
        """async (summaries) => {
            const o = await import("/assets/outcomes.js");
            return summaries.map((s) => o.describeSummary(s));
        }""",
        [s.model_dump() for s in summaries],
    )
    assert shown == [s.describe() for s in summaries]
