"""Jenkins mutations against the sandbox, each read back: trigger, stop, describe.

Uses the session's loopback sandbox (time sped up) for end-to-end runs, and an in-process
sandbox on a manual clock, reached through `ToolEnv.http_transport`, where a test needs
time to stand still (a build waiting in the queue).
"""

from __future__ import annotations

import anyio
import httpx
import pytest
from pydantic import SecretStr

from opsgate.errors import InvalidInput, ToolFailed
from opsgate.sandbox.jenkins import SANDBOX_JENKINS_TOKEN, SANDBOX_JENKINS_USER, create_app
from opsgate.settings import JenkinsServer
from opsgate.tools.base import PreviewReport, ToolEnv, ToolOutput, Verification
from tests.fixtures.jenkins import ManualClock, tool_env
from tests.tools.jenkins.helpers import BY_NAME, preview, run, verify

TRIGGER = "jenkins_trigger_build"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def frozen_env(clock: ManualClock) -> ToolEnv:
    """A sandbox Jenkins in-process whose time moves only when the test says so."""
    app = create_app("demo", clock=clock, queue_delay_s=5.0)
    server = JenkinsServer(
        url="http://jenkins.test/",
        user=SANDBOX_JENKINS_USER,
        token=SecretStr(SANDBOX_JENKINS_TOKEN),
    )
    return tool_env({"sandbox": server}, http_transport=httpx.ASGITransport(app=app))


async def test_trigger_returns_the_build_number_and_verify_sees_success(
    jenkins_env: ToolEnv,
) -> None:
    args = {"job": "shop-build", "parameters": {"BRANCH": "feature-cart", "ENV": "staging"}}
    output = await run(jenkins_env, TRIGGER, **args)
    assert output.ok, output.text
    number = output.data["build_number"]
    assert isinstance(number, int)
    assert f"build #{number} started" in output.text
    assert output.command is not None
    assert output.command.endswith("/job/shop-build/buildWithParameters")

    checked = await verify(jenkins_env, TRIGGER, **args)
    assert checked.ok, checked.text
    assert checked.data == Verification(
        verdict="verified", summary=f"shop-build #{number} finished: SUCCESS."
    )
    build = await run(jenkins_env, "jenkins_get_build", job="shop-build", build=number)
    assert build.data["parameters"] == {
        "BRANCH": "feature-cart",
        "RUN_TESTS": True,
        "ENV": "staging",
    }
    assert build.data["result"] == "SUCCESS"


async def test_verify_reports_a_failed_triggered_build(jenkins_env: ToolEnv) -> None:
    args = {"job": "shop-build", "parameters": {"BRANCH": "broken-checkout", "RUN_TESTS": False}}
    triggered = await run(jenkins_env, TRIGGER, **args)
    checked = await verify(jenkins_env, TRIGGER, **args)
    assert not checked.ok
    number = triggered.data["build_number"]
    assert checked.data.verdict == "failed"
    assert checked.data.summary == f"shop-build #{number} finished: FAILURE."
    assert checked.data.next_step is not None
    assert "jenkins_build_log" in checked.data.next_step
    assert "FAILURE" in checked.text


async def test_undeclared_or_ill_typed_parameters_trigger_nothing(jenkins_env: ToolEnv) -> None:
    before = await run(jenkins_env, "jenkins_get_job", job="shop-build")
    with pytest.raises(InvalidInput, match="TARGET"):
        await run(jenkins_env, TRIGGER, job="shop-build", parameters={"TARGET": "prod"})
    with pytest.raises(InvalidInput, match="one of"):
        await run(jenkins_env, TRIGGER, job="shop-build", parameters={"ENV": "moon"})
    after = await run(jenkins_env, "jenkins_get_job", job="shop-build")
    assert after.data["next_build_number"] == before.data["next_build_number"]
    assert after.data["in_queue"] is False


async def test_preview_shows_validated_values_and_changes_nothing(frozen_env: ToolEnv) -> None:
    shown = await preview(frozen_env, TRIGGER, job="shop-build", parameters={"ENV": "prod"})
    assert "next build #13" in shown.text
    assert "ENV='prod'" in shown.text
    assert "BRANCH='main' (default)" in shown.text
    assert shown.data == PreviewReport(
        state="changes",
        command="POST /job/shop-build/buildWithParameters on Jenkins 'sandbox' with ENV='prod'",
    )
    queue = await run(frozen_env, "jenkins_queue")
    assert queue.data["items"] == []


async def test_a_build_still_queued_is_reported_with_its_queue_item(
    frozen_env: ToolEnv, clock: ManualClock
) -> None:
    output = await run(frozen_env, TRIGGER, job="shop-build", wait_for_start_s=0)
    assert output.ok
    assert output.data["build_number"] is None
    assert "still queued" in output.text
    queue = await run(frozen_env, "jenkins_queue")
    (item,) = queue.data["items"]
    assert (item["id"], item["job"]) == (output.data["queue_id"], "shop-build")
    assert "quiet period" in item["why"]

    clock.advance(6)
    started = await run(frozen_env, "jenkins_get_build", job="shop-build", build="lastBuild")
    assert (started.data["number"], started.data["building"]) == (13, True)


async def test_stop_aborts_a_running_build_and_verify_reads_aborted(jenkins_env: ToolEnv) -> None:
    triggered = await run(jenkins_env, TRIGGER, job="platform/nightly-e2e")
    number = triggered.data["build_number"]
    args = {"job": "platform/nightly-e2e", "build": number}
    shown = await preview(jenkins_env, "jenkins_stop_build", **args)
    assert f"Would abort platform/nightly-e2e #{number}" in shown.text
    assert "Started by user admin" in shown.text

    stopped = await run(jenkins_env, "jenkins_stop_build", **args)
    assert stopped.ok
    checked = await verify(jenkins_env, "jenkins_stop_build", **args)
    assert checked.ok
    assert checked.data.verdict == "verified"
    assert "ABORTED" in checked.data.summary
    build = await run(jenkins_env, "jenkins_get_build", **args)
    assert (build.data["building"], build.data["result"]) == (False, "ABORTED")
    log = await run(jenkins_env, "jenkins_build_log", **args, from_end=True)
    assert "Finished: ABORTED" in log.text


async def test_stopping_a_finished_build_changes_nothing_and_verify_says_so(
    jenkins_env: ToolEnv,
) -> None:
    args = {"job": "platform/nightly-e2e", "build": 1}
    shown = await preview(jenkins_env, "jenkins_stop_build", **args)
    assert "already finished (SUCCESS)" in shown.text
    await run(jenkins_env, "jenkins_stop_build", **args)
    checked = await verify(jenkins_env, "jenkins_stop_build", **args)
    assert not checked.ok
    assert checked.data.verdict == "failed"
    assert checked.data.summary == "platform/nightly-e2e #1 is SUCCESS."


async def test_description_is_set_and_reads_back(jenkins_env: ToolEnv) -> None:
    args = {"job": "shop-build", "build": 11, "description": "promoted to staging by opsgate"}
    shown = await preview(jenkins_env, "jenkins_set_build_description", **args)
    assert "to:   'promoted to staging by opsgate'" in shown.text
    output = await run(jenkins_env, "jenkins_set_build_description", **args)
    assert output.ok
    checked = await verify(jenkins_env, "jenkins_set_build_description", **args)
    assert checked.ok, checked.text
    build = await run(jenkins_env, "jenkins_get_build", job="shop-build", build=11)
    assert build.data["description"] == "promoted to staging by opsgate"
    other = {**args, "description": "something else"}
    assert not (await verify(jenkins_env, "jenkins_set_build_description", **other)).ok


async def test_a_queue_location_outside_the_server_is_refused() -> None:
    """A compromised or misconfigured Jenkins must not steer opsgate to another host."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/crumbIssuer/api/json":
            return httpx.Response(200, json={"crumb": "c", "crumbRequestField": "Jenkins-Crumb"})
        if path == "/job/app/api/json":
            return httpx.Response(200, json={"name": "app", "buildable": True})
        if path == "/job/app/build" and request.headers.get("Jenkins-Crumb") == "c":
            return httpx.Response(201, headers={"Location": "http://evil.test/queue/item/1/"})
        return httpx.Response(404, text="not here")

    server = JenkinsServer(url="http://ci.test/", user="u", token=SecretStr("t"))
    env = tool_env({"sandbox": server}, http_transport=httpx.MockTransport(answer))
    with pytest.raises(ToolFailed, match="outside its base URL"):
        await run(env, TRIGGER, job="app")


def test_the_family_has_fourteen_tools_with_deliberate_annotations() -> None:
    assert len(BY_NAME) == 14
    for tool in BY_NAME.values():
        assert tool.family == "jenkins"
        assert tool.annotations.open_world
        assert "server" in tool.input_schema()["properties"]
    mutations = {name for name, tool in BY_NAME.items() if not tool.annotations.read_only}
    assert mutations == {TRIGGER, "jenkins_stop_build", "jenkins_set_build_description"}
    for name in mutations:
        assert BY_NAME[name].preview is not None
        assert BY_NAME[name].verify is not None
    assert BY_NAME["jenkins_stop_build"].annotations.destructive
    assert not BY_NAME[TRIGGER].annotations.idempotent
    assert not BY_NAME["jenkins_set_build_description"].annotations.destructive


async def test_verify_waits_for_a_build_still_in_the_queue(
    frozen_env: ToolEnv, clock: ManualClock
) -> None:
    args = {"job": "shop-build", "parameters": {"BRANCH": "queued"}, "wait_for_start_s": 0}
    triggered = await run(frozen_env, TRIGGER, **args)
    assert triggered.data["build_number"] is None
    results: list[ToolOutput] = []

    async def check() -> None:
        results.append(await verify(frozen_env, TRIGGER, **args))

    async with anyio.create_task_group() as group:
        group.start_soon(check)
        await anyio.sleep(0.5)
        assert not results  # still polling the queue
        clock.advance(6)  # the quiet period ends: build #13 starts
        await anyio.sleep(0.5)
        assert not results  # now waiting for the build to finish
        clock.advance(5)
    (checked,) = results
    assert checked.ok, checked.text
    assert checked.data.summary == "shop-build #13 finished: SUCCESS."
