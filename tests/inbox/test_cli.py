"""`opsgate approvals list` (the inbox: its columns, filters and `--json`) and `approvals show`
(the card with the diff and the command), run as a user would against a live server."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fixtures.api import ApiEnv, live_server, running_app
from tests.fixtures.cli import OPSGATE, cli_env
from tests.inbox.test_inbox_api import propose, wait_inbox


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[ApiEnv, str]]:
    async with running_app(tmp_path / "data") as env, live_server(env.app) as url:
        yield env, url


async def opsgate(
    env: ApiEnv, url: str, role: str, *args: str, tmp: Path
) -> subprocess.CompletedProcess[str]:
    argv = [str(OPSGATE), *args, "--server", url, "--token", env.tokens[role]]  # type: ignore[index]
    return await asyncio.to_thread(
        subprocess.run,
        argv,
        env=cli_env(tmp / "cli"),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_list_prints_one_row_per_change_with_the_inbox_columns(
    served: tuple[ApiEnv, str], tmp_path: Path
) -> None:
    env, url = served
    async with env.client("operator") as operator, env.client("approver") as approver:
        await propose(operator)
        await propose(operator, "k_delete", {"name": "legacy"})
        rows = (await wait_inbox(approver, 2))["items"]
    done = await opsgate(env, url, "approver", "approvals", "list", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "2 pending changes you may decide, 2 waiting on you"
    header = next(line for line in lines if "approval" in line and "proposer" in line)
    for column in ("change", "namespace", "context", "age", "left", "marks", "policy"):
        assert column in header
    scale = next(line for line in lines if rows[0]["approval_id"] in line)
    delete = next(line for line in lines if rows[1]["approval_id"] in line)
    assert "k_scale frontend" in scale
    assert "sandbox" in scale
    assert "operator" in scale
    assert "waiting on you" in scale
    assert "one approval (built-in gate)" in scale
    assert "DESTRUCTIVE" not in scale
    assert "k_delete legacy" in delete
    assert "DESTRUCTIVE" in delete


async def test_list_filters_and_says_when_nothing_matches(
    served: tuple[ApiEnv, str], tmp_path: Path
) -> None:
    env, url = served
    async with env.client("operator") as operator, env.client("approver") as approver:
        await propose(operator)
        await wait_inbox(approver, 1)
    done = await opsgate(env, url, "approver", "approvals", "list", "--destructive", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "1 pending change you may decide, 1 waiting on you; none matches destructive"
    )
    operator_view = await opsgate(env, url, "operator", "approvals", "list", tmp=tmp_path)
    assert operator_view.stdout.strip() == (
        "0 pending changes you may decide, 0 waiting on you; none to list"
    )


async def test_list_json_is_the_inbox_as_the_api_answers_it(
    served: tuple[ApiEnv, str], tmp_path: Path
) -> None:
    env, url = served
    async with env.client("operator") as operator, env.client("approver") as approver:
        await propose(operator)
        await wait_inbox(approver, 1)
        api = (await approver.get("/api/v1/inbox")).json()
    done = await opsgate(env, url, "approver", "approvals", "list", "--json", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed.keys() == api.keys()
    assert (printed["pending"], printed["waiting_on_me"]) == (1, 1)
    [row] = printed["items"]
    assert {key: value for key, value in row.items() if key != "seconds_left"} == {
        key: value for key, value in api["items"][0].items() if key != "seconds_left"
    }
    assert (row["tool"], row["proposed_by_name"], row["destructive"]) == (
        "k_scale",
        "operator",
        False,
    )


async def test_show_prints_the_card_with_the_diff_and_the_command(
    served: tuple[ApiEnv, str], tmp_path: Path
) -> None:
    env, url = served
    async with env.client("operator") as operator, env.client("approver") as approver:
        await propose(operator)
        row = (await wait_inbox(approver, 1))["items"][0]
        approval = (await approver.get(f"/api/v1/approvals/{row['approval_id']}")).json()
    item = approval["items"][0]
    assert item["preview_state"] == "changes"
    assert item["preview"]
    done = await opsgate(
        env, url, "approver", "approvals", "show", row["approval_id"], tmp=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert f"approval {row['approval_id']} proposed by operator" in done.stdout
    assert f"command {item['command']}" in done.stdout
    assert "the dry run found changes" in done.stdout
    for line in item["preview"].strip().splitlines():
        assert line.strip() in done.stdout
    assert "replicas: 4" in done.stdout
