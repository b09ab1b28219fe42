"""Outgoing webhooks over the real app: signed deliveries to a real receiver on loopback,
retries, the delivery log, what a payload may hold, and who may manage webhooks.

The app runs its own outbox (polling every 50 ms); the receiver is `receiver.receiver()`.
The signature check is the snippet in docs/notifications.md, run as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.api import ApiEnv, running_app, wait_for
from tests.inbox.test_inbox_api import propose
from tests.notify.receiver import Received, Receiver, receiver

DOC = Path(__file__).parents[2] / "docs" / "notifications.md"
PUBLIC_URL = "https://opsgate.example.test"
FAST = {"webhook_poll_s": 0.05, "webhook_backoff_s": 0.05, "public_url": PUBLIC_URL}


def documented_verify() -> Callable[..., bool]:
    """The `verify` function of the documentation's recipe, exactly as printed there."""
    found = re.search(r"## Verifying a delivery.*?```python\n(.*?)```", DOC.read_text(), re.S)
    assert found is not None, "docs/notifications.md lost its verification recipe"
    namespace: dict[str, Any] = {}
    # The point is to run the documented text itself, so a wrong recipe fails here.
    exec(compile(found.group(1), str(DOC), "exec"), namespace)  # noqa: S102
    verify: Callable[..., bool] = namespace["verify"]
    return verify


async def add_webhook(admin: httpx.AsyncClient, url: str, *events: str) -> dict[str, Any]:
    answer = await admin.post("/api/v1/webhooks", json={"url": url, "events": list(events)})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def delivered(target: Receiver, event: str, count: int = 1) -> list[Received]:
    async def arrived() -> list[Received] | None:
        found = target.of(event)
        return found if len(found) >= count else None

    found: list[Received] = await wait_for(arrived, 30)
    return found


async def test_a_delivery_is_signed_as_documented_and_says_what_waits(tmp_path: Path) -> None:
    verify = documented_verify()
    with receiver() as target:
        async with (
            running_app(tmp_path / "data", **FAST) as env,
            env.client("admin") as admin,
            env.client("operator") as operator,
        ):
            created = await add_webhook(admin, target.url, "approval.requested")
            conversation_id = await propose(operator)
            [got] = await delivered(target, "approval.requested")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert verify(secret, got.headers, got.body)
    assert not verify(secret, got.headers, got.body.replace(b"k_scale", b"k_delete"))
    assert not verify("whsec_" + "x" * 43, got.headers, got.body)
    body = got.json()
    assert got.path == "/hooks/opsgate"
    assert got.headers["X-Opsgate-Delivery"].startswith("dlv_")
    assert body["event"] == "approval.requested"
    assert body["conversation_id"] == conversation_id
    assert body["link"] == f"{PUBLIC_URL}/#/c/{conversation_id}"
    assert (body["actor"], body["proposed_by"]) == ("engine", "operator")
    [call] = body["calls"]
    assert (call["tool"], call["object"], call["context"]) == ("k_scale", None, "sandbox")
    assert call["destructive"] is False
    assert body["approval_id"].startswith("apr_")


async def test_a_500_is_retried_and_the_log_shows_both_attempts(tmp_path: Path) -> None:
    verify = documented_verify()
    with receiver() as target:
        target.answers = [500]
        async with (
            running_app(tmp_path / "data", **FAST) as env,
            env.client("admin") as admin,
            env.client("operator") as operator,
        ):
            created = await add_webhook(admin, target.url, "approval.requested")
            webhook_id = created["webhook"]["id"]
            await propose(operator)
            first, second = await delivered(target, "approval.requested", 2)

            async def settled() -> dict[str, Any] | None:
                listed = await admin.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
                assert listed.status_code == 200, listed.text
                items: list[dict[str, Any]] = listed.json()["items"]
                return items[0] if items and items[0]["state"] != "pending" else None

            delivery = await wait_for(settled, 30)
    assert delivery["state"] == "delivered"
    assert delivery["attempts"] == 2
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 200]
    assert delivery["last_status"] == 200
    assert delivery["finished_at"] is not None
    assert first.headers["X-Opsgate-Delivery"] == second.headers["X-Opsgate-Delivery"]
    assert first.body == second.body
    assert verify(created["secret"], first.headers, first.body)
    assert verify(created["secret"], second.headers, second.body)


async def test_a_refusing_receiver_is_not_retried(tmp_path: Path) -> None:
    with receiver() as target:
        target.answers = [404]
        async with (
            running_app(tmp_path / "data", **FAST) as env,
            env.client("admin") as admin,
            env.client("operator") as operator,
        ):
            created = await add_webhook(admin, target.url, "approval.requested")
            await propose(operator)
            await delivered(target, "approval.requested")

            async def settled() -> dict[str, Any] | None:
                path = f"/api/v1/webhooks/{created['webhook']['id']}/deliveries"
                items: list[dict[str, Any]] = (await admin.get(path)).json()["items"]
                return items[0] if items and items[0]["state"] != "pending" else None

            delivery = await wait_for(settled, 30)
            await propose(operator)
            await delivered(target, "approval.requested", 2)
    assert (delivery["state"], delivery["attempts"], delivery["last_status"]) == ("failed", 1, 404)
    # The second request's delivery came; the refused one never came again.
    assert len(target.of("approval.requested")) == 2


async def test_an_unreachable_receiver_is_logged_with_the_error(tmp_path: Path) -> None:
    with receiver() as gone:
        url = gone.url
    async with (
        running_app(tmp_path / "data", **FAST, webhook_max_attempts=2) as env,
        env.client("admin") as admin,
        env.client("operator") as operator,
    ):
        created = await add_webhook(admin, url, "approval.requested")
        await propose(operator)

        async def settled() -> dict[str, Any] | None:
            path = f"/api/v1/webhooks/{created['webhook']['id']}/deliveries"
            items: list[dict[str, Any]] = (await admin.get(path)).json()["items"]
            return items[0] if items and items[0]["state"] != "pending" else None

        delivery = await wait_for(settled, 30)
    assert (delivery["state"], delivery["attempts"], delivery["last_status"]) == ("failed", 2, None)
    assert all("ConnectError" in a["error"] for a in delivery["attempt_log"])


@pytest.mark.parametrize("role", ["operator", "approver", "viewer"])
async def test_only_admins_manage_webhooks(api_env: ApiEnv, role: str) -> None:
    async with api_env.client("admin") as admin, api_env.client(role) as other:  # type: ignore[arg-type]
        created = await add_webhook(admin, "https://hooks.example.test/a", "run.failed")
        webhook_id = created["webhook"]["id"]
        body = {"url": "https://hooks.example.test/b", "events": ["run.failed"]}
        answers = [
            await other.get("/api/v1/webhooks"),
            await other.post("/api/v1/webhooks", json=body),
            await other.get(f"/api/v1/webhooks/{webhook_id}/deliveries"),
            await other.delete(f"/api/v1/webhooks/{webhook_id}"),
        ]
        listed = (await admin.get("/api/v1/webhooks")).json()["items"]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert [w["url"] for w in listed] == ["https://hooks.example.test/a"]


async def test_the_secret_is_shown_once_and_admin_changes_are_audited(api_env: ApiEnv) -> None:
    async with api_env.client("admin") as admin:
        refused = [
            await admin.post("/api/v1/webhooks", json={"url": url, "events": ["run.failed"]})
            for url in (
                "ftp://hooks.example.test/",
                "javascript:alert(1)",
                "http:///x",
                "https://a/ b",
            )
        ]
        unknown_event = await admin.post(
            "/api/v1/webhooks", json={"url": "https://h.example.test/", "events": ["run.started"]}
        )
        url = "https://h.example.test:8443/services/T0/B0/tokenlike?key=k"
        created = await add_webhook(admin, url, "run.failed", "run.failed")
        secret = created["secret"]
        listed = await admin.get("/api/v1/webhooks")
        removed = await admin.delete(f"/api/v1/webhooks/{created['webhook']['id']}")
        again = await admin.delete(f"/api/v1/webhooks/{created['webhook']['id']}")
        audit = await admin.get("/api/v1/audit", params={"kind": "webhook."})
    assert [a.status_code for a in refused] == [422, 422, 422, 422]
    assert unknown_event.status_code == 422
    assert created["webhook"]["events"] == ["run.failed"]
    assert secret not in listed.text
    assert listed.json()["items"][0]["url"] == url
    assert (removed.status_code, again.status_code) == (204, 404)
    events = audit.json()["items"]
    assert [e["kind"] for e in events] == ["webhook.created", "webhook.removed"]
    assert all(e["actor_name"] == "admin" for e in events)
    assert events[0]["payload"] == {
        "webhook_id": created["webhook"]["id"],
        "destination": "https://h.example.test:8443",
        "events": ["run.failed"],
    }
    assert events[1]["payload"]["destination"] == "https://h.example.test:8443"
    assert secret not in audit.text
    assert "tokenlike" not in audit.text
    stored = await api_env.state.store.list_audit(limit=1000)
    assert all(secret not in str(event.payload) for event in stored)
