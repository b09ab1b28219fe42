"""Every Jenkins read tool against the session's sandbox Jenkins on loopback.

Mutation tests share this server and only trigger `shop-build` and `platform/nightly-e2e`,
so these assertions read `shop-deploy` (never triggered) or fixed build numbers.
"""

from __future__ import annotations

import httpx
import pytest

from opsgate.errors import InvalidInput, ToolFailed
from opsgate.sandbox.jenkins_seed import DEMO_LEAKED_SECRET
from opsgate.tools import redact
from opsgate.tools.base import ToolEnv
from tests.fixtures.jenkins import JenkinsSandbox, tool_env
from tests.tools.jenkins.helpers import BY_NAME, run


async def test_whoami_names_the_configured_user(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_whoami")
    assert output.ok
    assert output.data["user"] == "admin"
    assert "'admin'" in output.text


async def test_list_jobs_shows_jobs_and_folders_with_paging(jenkins_env: ToolEnv) -> None:
    first = await run(jenkins_env, "jenkins_list_jobs", limit=2)
    assert [j["full_name"] for j in first.data["jobs"]] == ["shop-build", "shop-deploy"]
    assert first.data["more"] is True
    assert "offset=2" in first.text
    rest = await run(jenkins_env, "jenkins_list_jobs", offset=2, limit=2)
    assert rest.data["jobs"] == [{"full_name": "platform", "kind": "folder", "color": None}]
    assert rest.data["more"] is False


async def test_list_jobs_descends_into_a_folder(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_list_jobs", folder="platform")
    (job,) = output.data["jobs"]
    assert (job["full_name"], job["kind"]) == ("platform/nightly-e2e", "job")


async def test_get_job_summarises_the_failed_deploy(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_get_job", job="shop-deploy")
    assert output.ok
    assert "last build failed" in output.text
    assert output.data["last_build"]["number"] == 5
    assert output.data["last_build"]["result"] == "FAILURE"
    assert output.data["parameters"] == ["VERSION"]


async def test_get_job_parameters_lists_types_defaults_and_choices(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_get_job_parameters", job="shop-build")
    by_name = {p["name"]: p for p in output.data["parameters"]}
    assert by_name["BRANCH"]["type"] == "string"
    assert by_name["BRANCH"]["default"] == "main"
    assert by_name["RUN_TESTS"]["type"] == "boolean"
    assert by_name["ENV"]["choices"] == ["dev", "staging", "prod"]
    assert "ENV (choice) one of dev, staging, prod" in output.text


async def test_get_build_reads_result_parameters_and_cause(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_get_build", job="shop-deploy", build="lastBuild")
    assert output.data["number"] == 5
    assert output.data["result"] == "FAILURE"
    assert output.data["parameters"] == {"VERSION": "1.4.2"}
    assert output.data["causes"] == ["Started by user admin"]


async def test_get_build_reaches_a_job_in_a_folder(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_get_build", job="platform/nightly-e2e", build=1)
    assert (output.data["number"], output.data["result"]) == (1, "SUCCESS")


async def test_last_builds_pages_newest_first(jenkins_env: ToolEnv) -> None:
    first = await run(jenkins_env, "jenkins_last_builds", job="shop-deploy", limit=2)
    assert [b["number"] for b in first.data["builds"]] == [5, 4]
    assert first.data["more"] is True
    last = await run(jenkins_env, "jenkins_last_builds", job="shop-deploy", offset=4, limit=2)
    assert [b["number"] for b in last.data["builds"]] == [1]
    assert last.data["more"] is False


async def test_build_log_reads_progressively_to_the_whole_console(
    jenkins_env: ToolEnv, jenkins_sandbox: JenkinsSandbox
) -> None:
    async with httpx.AsyncClient(auth=(jenkins_sandbox.user, jenkins_sandbox.token)) as http:
        whole = (await http.get(f"{jenkins_sandbox.url}job/shop-deploy/5/consoleText")).text
    pieces: list[str] = []
    start = 0
    for _ in range(20):
        output = await run(
            jenkins_env, "jenkins_build_log", job="shop-deploy", build=5, start=start, max_bytes=256
        )
        pieces.append(output.text.split("\n", 1)[1])
        if output.data["next_start"] == start or output.data["next_start"] >= len(whole):
            break
        assert output.truncated
        assert f"start={output.data['next_start']}" in output.text
        start = output.data["next_start"]
    assert "".join(pieces) == whole.replace(DEMO_LEAKED_SECRET, redact.REDACTED)
    assert len(pieces) > 2


async def test_build_log_from_end_shows_why_the_deploy_failed(jenkins_env: ToolEnv) -> None:
    output = await run(
        jenkins_env, "jenkins_build_log", job="shop-deploy", build=5, from_end=True, max_bytes=300
    )
    assert "exceeded its progress deadline" in output.text
    assert output.text.rstrip().endswith("Finished: FAILURE")
    assert "Started by user" not in output.text


async def test_job_scm_shows_repository_branch_and_revision(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_job_scm", job="shop-deploy")
    assert output.data["repositories"] == ["https://git.example.com/shop/shop.git"]
    assert output.data["branches"] == ["*/main"]
    assert len(output.data["last_revision"]) == 40


async def test_build_changesets_list_commits(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_build_changesets", job="shop-deploy", build=5)
    (commit,) = output.data["commits"]
    assert commit["message"] == "Bump worker to 1.4.3"
    assert commit["author"] == "Bob Chen"
    assert commit["paths"] == ["charts/shop/values.yaml"]
    assert "Bob Chen: Bump worker to 1.4.3" in output.text


async def test_an_unknown_job_is_a_readable_failure(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_get_job", job="no-such-job")
    assert not output.ok
    assert output.data["status"] == 404
    assert "Not found" in output.text


async def test_a_wrong_token_fails_without_echoing_it(jenkins_sandbox: JenkinsSandbox) -> None:
    env = tool_env({"sandbox": jenkins_sandbox.server(token="wrong-token-123")})
    output = await run(env, "jenkins_whoami")
    assert not output.ok
    assert output.data["status"] == 401
    assert "wrong-token-123" not in output.text


async def test_only_configured_servers_can_be_named(jenkins_env: ToolEnv) -> None:
    tool = BY_NAME["jenkins_whoami"]
    with pytest.raises(InvalidInput, match="'sandbox'") as caught:
        await tool.run(tool.parse({"server": "elsewhere"}), jenkins_env)
    assert caught.value.parameter == "server"


async def test_an_unreachable_server_is_a_tool_failure() -> None:
    closed = JenkinsSandbox(url="http://127.0.0.1:9/", user="admin", token="secret-abc")
    env = tool_env({"sandbox": closed.server()})
    with pytest.raises(ToolFailed) as caught:
        await run(env, "jenkins_whoami")
    assert "secret-abc" not in str(caught.value)


async def test_a_secret_leaked_into_a_console_never_reaches_the_output(
    jenkins_env: ToolEnv, jenkins_sandbox: JenkinsSandbox
) -> None:
    async with httpx.AsyncClient(auth=(jenkins_sandbox.user, jenkins_sandbox.token)) as http:
        raw = (await http.get(f"{jenkins_sandbox.url}job/shop-deploy/5/consoleText")).text
    assert DEMO_LEAKED_SECRET in raw
    whole = await run(jenkins_env, "jenkins_build_log", job="shop-deploy", build=5)
    assert "REGISTRY_PASSWORD=" in whole.text
    assert DEMO_LEAKED_SECRET not in whole.text
    # Windows that start or end inside the secret's line must not show its value either.
    offset = raw.encode().index(b"SSWORD=")
    for start in range(offset - 8, offset + 12, 3):
        piece = await run(jenkins_env, "jenkins_build_log", job="shop-deploy", build=5, start=start)
        assert "7f3a9c" not in piece.text
    tail_size = len(raw.encode()) - offset + 2
    tail = await run(
        jenkins_env,
        "jenkins_build_log",
        job="shop-deploy",
        build=5,
        from_end=True,
        max_bytes=max(tail_size, 256),
    )
    assert "7f3a9c" not in tail.text


async def test_a_pipeline_job_scm_comes_from_its_last_checkout(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_job_scm", job="platform/nightly-e2e")
    assert output.data["scm_class"] is None
    assert "exports no job-level SCM" in output.text
    assert output.data["repositories"] == ["https://git.example.com/platform/e2e.git"]
    assert len(output.data["last_revision"]) == 40


async def test_pipeline_runs_list_their_change_sets(jenkins_env: ToolEnv) -> None:
    output = await run(jenkins_env, "jenkins_build_changesets", job="platform/nightly-e2e", build=2)
    (commit,) = output.data["commits"]
    assert commit["message"] == "Fix flaky checkout test"
