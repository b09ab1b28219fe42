"""`opsgate webhooks add|list|deliveries|remove` against a live server, in process (Typer's
runner in a thread, so the server keeps serving on the test's event loop)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from opsgate.cli import main
from opsgate.errors import Forbidden
from tests.fixtures.api import ApiEnv, live_server, running_app, wait_for
from tests.inbox.test_inbox_api import propose
from tests.notify.receiver import receiver
from tests.notify.test_webhooks import FAST, delivered


async def opsgate(env: ApiEnv, url: str, role: str, *args: str) -> Result:
    argv = ["webhooks", *args, "--server", url, "--token", env.tokens[role]]  # type: ignore[index]
    return await asyncio.to_thread(CliRunner().invoke, main.app, argv)


async def test_an_admin_adds_lists_reads_deliveries_and_removes(tmp_path: Path) -> None:
    with receiver() as target:
        target.answers = [503]
        async with (
            running_app(tmp_path / "data", **FAST) as env,
            live_server(env.app) as url,
            env.client("operator") as operator,
        ):
            added = await opsgate(
                env, url, "admin", "add", target.url, "--event", "approval.requested"
            )
            assert added.exit_code == 0, added.output
            found = re.search(r"added webhook (whk_\w+) ->", added.output)
            assert found is not None, added.output
            webhook_id = found.group(1)
            assert re.search(r"signing secret \(shown only now\): whsec_\S{40,}", added.output)
            listed = await opsgate(env, url, "admin", "list")
            await propose(operator)
            await delivered(target, "approval.requested", 2)

            async def logged() -> Result | None:
                shown = await opsgate(env, url, "admin", "deliveries", webhook_id)
                return shown if "delivered after 2 attempt(s)" in shown.output else None

            deliveries = await wait_for(logged, 30)
            refused = await opsgate(env, url, "approver", "list")
            removed = await opsgate(env, url, "admin", "remove", webhook_id)
            after = await opsgate(env, url, "admin", "list")
    assert listed.exit_code == 0, listed.output
    assert f"{webhook_id}  {target.url}  [approval.requested]" in listed.output
    assert "whsec_" not in listed.output
    lines = deliveries.output.splitlines()
    assert "approval.requested" in lines[0]
    assert "answered 503" in lines[1]
    assert "answered 200" in lines[2]
    assert isinstance(refused.exception, Forbidden)
    assert removed.exit_code == 0, removed.output
    assert removed.output.strip() == f"removed webhook {webhook_id}"
    assert after.output.strip() == "no webhooks"


async def test_an_admin_links_a_slack_user_and_the_link_is_audited(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with running_app(data) as env:
        runner = CliRunner(env={"OPSGATE_DATA_DIR": str(data)})
        linked = await asyncio.to_thread(
            runner.invoke, main.app, ["users", "link-slack", "approver", "U024BE7LH"]
        )
        malformed = await asyncio.to_thread(
            runner.invoke, main.app, ["users", "link-slack", "approver", "alice@example.com"]
        )
        user = await env.state.store.slack_user("U024BE7LH")
        audit = await env.state.store.list_audit(limit=1000)
    assert linked.exit_code == 0, linked.output
    assert linked.output.strip() == "Slack user U024BE7LH now decides as approver"
    assert malformed.exit_code == 2
    assert user is not None
    assert user.username == "approver"
    [event] = [e for e in audit if e.kind == "user.slack_linked"]
    assert event.actor_name == "cli"
    assert event.payload == {
        "user_id": env.users["approver"].id,
        "username": "approver",
        "slack_user_id": "U024BE7LH",
        "via": "cli",
    }
