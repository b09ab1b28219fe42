"""The sandbox Jenkins API acts like a secured Jenkins: auth, crumbs, shapes, builds over time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from opsgate.sandbox.jenkins import SANDBOX_JENKINS_TOKEN, SANDBOX_JENKINS_USER, create_app
from tests.fixtures.jenkins import ManualClock

AUTH = (SANDBOX_JENKINS_USER, SANDBOX_JENKINS_TOKEN)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(clock: ManualClock) -> Iterator[TestClient]:
    app = create_app("demo", clock=clock, queue_delay_s=1.0, time_scale=1.0)
    with TestClient(app, base_url="http://jenkins.test") as test_client:
        test_client.auth = AUTH
        yield test_client


def crumb_headers(client: TestClient) -> dict[str, str]:
    issued = client.get("/crumbIssuer/api/json").json()
    return {issued["crumbRequestField"]: issued["crumb"]}


def trigger(client: TestClient, clock: ManualClock, job: str, **params: str) -> int:
    """Trigger a build, let the quiet period pass, and return the build number."""
    response = client.post(
        f"/job/{job}/buildWithParameters", data=params, headers=crumb_headers(client)
    )
    assert response.status_code == 201
    item_url = response.headers["location"]
    clock.advance(1.5)
    item = client.get(f"{item_url}api/json").json()
    number: int = item["executable"]["number"]
    return number


def test_requests_without_credentials_get_403() -> None:
    client = TestClient(create_app("demo"))
    response = client.get("/api/json")
    assert response.status_code == 403


def test_a_wrong_token_gets_401_with_a_basic_challenge() -> None:
    client = TestClient(create_app("demo"))
    response = client.get("/api/json", auth=(SANDBOX_JENKINS_USER, "not-the-token"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


def test_whoami_and_me_name_the_token_user(client: TestClient) -> None:
    assert client.get("/whoAmI/api/json").json()["name"] == SANDBOX_JENKINS_USER
    assert client.get("/me/api/json").json()["id"] == SANDBOX_JENKINS_USER


def test_post_without_a_crumb_is_refused_and_queues_nothing(client: TestClient) -> None:
    refused = client.post("/job/shop-build/buildWithParameters", data={"BRANCH": "main"})
    assert refused.status_code == 403
    assert "crumb" in refused.text
    assert client.get("/queue/api/json").json()["items"] == []
    wrong = client.post("/job/shop-build/buildWithParameters", headers={"Jenkins-Crumb": "forged"})
    assert wrong.status_code == 403


def test_the_crumb_is_also_accepted_as_a_form_field(client: TestClient) -> None:
    crumb = crumb_headers(client)["Jenkins-Crumb"]
    response = client.post(
        "/job/shop-build/buildWithParameters", data={"Jenkins-Crumb": crumb, "ENV": "prod"}
    )
    assert response.status_code == 201


def test_root_lists_jobs_and_the_folder_with_tree_filter(client: TestClient) -> None:
    shallow = client.get("/api/json").json()
    assert [job["name"] for job in shallow["jobs"]] == ["shop-build", "shop-deploy", "platform"]
    assert shallow["jobs"][2]["_class"] == "com.cloudbees.hudson.plugins.folder.Folder"
    tree = client.get("/api/json", params={"tree": "jobs[name,jobs[name,fullName]]"}).json()
    folder = tree["jobs"][2]
    assert folder["jobs"] == [
        {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            "name": "nightly-e2e",
            "fullName": "platform/nightly-e2e",
        }
    ]
    paged = client.get("/api/json", params={"tree": "jobs[name]{1,3}"}).json()
    assert [job["name"] for job in paged["jobs"]] == ["shop-deploy", "platform"]


def test_folder_jobs_are_addressed_by_nested_job_segments(client: TestClient) -> None:
    job = client.get("/job/platform/job/nightly-e2e/api/json").json()
    assert job["fullName"] == "platform/nightly-e2e"
    assert job["url"] == "http://jenkins.test/job/platform/job/nightly-e2e/"
    assert client.get("/job/platform/job/missing/api/json").status_code == 404


def test_job_parameters_are_shaped_like_jenkins(client: TestClient) -> None:
    job = client.get("/job/shop-build/api/json").json()
    (prop,) = job["property"]
    assert prop["_class"] == "hudson.model.ParametersDefinitionProperty"
    by_name = {d["name"]: d for d in prop["parameterDefinitions"]}
    assert by_name["BRANCH"]["type"] == "StringParameterDefinition"
    assert by_name["BRANCH"]["defaultParameterValue"]["value"] == "main"
    assert by_name["RUN_TESTS"]["defaultParameterValue"]["value"] is True
    assert by_name["ENV"]["type"] == "ChoiceParameterDefinition"
    assert by_name["ENV"]["choices"] == ["dev", "staging", "prod"]


def test_a_pipeline_exports_no_scm_and_its_runs_list_change_sets(client: TestClient) -> None:
    job = client.get("/job/platform/job/nightly-e2e/api/json").json()
    assert job["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert "scm" not in job
    run = client.get("/job/platform/job/nightly-e2e/1/api/json").json()
    assert run["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowRun"
    assert "changeSet" not in run
    (change_set,) = run["changeSets"]
    assert len(change_set["items"]) == 1


def test_scm_details_come_only_through_a_tree(client: TestClient) -> None:
    shallow = client.get("/job/shop-build/api/json").json()
    assert shallow["scm"] == {"_class": "hudson.plugins.git.GitSCM"}
    tree = "scm[userRemoteConfigs[url],branches[name]]"
    scm = client.get("/job/shop-build/api/json", params={"tree": tree}).json()["scm"]
    assert scm["userRemoteConfigs"] == [{"url": "https://git.example.com/shop/shop.git"}]
    assert scm["branches"] == [{"name": "*/main"}]


def test_builds_are_newest_first_and_page_with_ranges(client: TestClient) -> None:
    tree = "builds[number,result]{2,5}"
    builds = client.get("/job/shop-build/api/json", params={"tree": tree}).json()["builds"]
    assert [b["number"] for b in builds] == [10, 9, 8]
    assert builds[1]["result"] == "FAILURE"


def test_a_malformed_tree_is_a_400(client: TestClient) -> None:
    assert client.get("/api/json", params={"tree": "jobs[name"}).status_code == 400


def test_shop_deploy_last_build_failed_and_its_console_says_why(client: TestClient) -> None:
    build = client.get("/job/shop-deploy/lastBuild/api/json").json()
    assert (build["number"], build["result"], build["building"]) == (5, "FAILURE", False)
    console = client.get("/job/shop-deploy/5/consoleText").text
    assert "exceeded its progress deadline" in console
    assert console.endswith("Finished: FAILURE\n")
    failed = client.get("/job/shop-deploy/lastFailedBuild/api/json").json()
    assert failed["number"] == 5


def test_a_freestyle_build_has_one_change_set_with_its_commits(client: TestClient) -> None:
    build = client.get("/job/shop-build/12/api/json").json()
    assert "changeSets" not in build
    change_set = build["changeSet"]
    assert change_set["kind"] == "git"
    (commit,) = change_set["items"]
    assert commit["msg"] == "Add cart total rounding"
    assert commit["author"]["fullName"] == "Alice Martin"
    assert commit["affectedPaths"] == ["src/cart/total.py"]


def test_a_trigger_queues_then_builds_then_succeeds(client: TestClient, clock: ManualClock) -> None:
    response = client.post(
        "/job/shop-build/buildWithParameters",
        data={"BRANCH": "release", "ENV": "staging"},
        headers=crumb_headers(client),
    )
    assert response.status_code == 201
    location = response.headers["location"]
    assert location.startswith("http://jenkins.test/queue/item/")
    waiting = client.get("/queue/api/json").json()["items"]
    assert [item["task"]["name"] for item in waiting] == ["shop-build"]
    assert "executable" not in client.get(f"{location}api/json").json()

    clock.advance(1.5)
    executable = client.get(f"{location}api/json").json()["executable"]
    assert executable["number"] == 13
    running = client.get("/job/shop-build/13/api/json").json()
    assert (running["building"], running["result"]) == (True, None)
    (params_action,) = [a for a in running["actions"] if "parameters" in a]
    values = {p["name"]: p["value"] for p in params_action["parameters"]}
    assert values == {"BRANCH": "release", "RUN_TESTS": True, "ENV": "staging"}

    clock.advance(5)
    done = client.get("/job/shop-build/13/api/json").json()
    assert (done["building"], done["result"]) == (False, "SUCCESS")
    assert client.get("/queue/api/json").json()["items"] == []


def test_a_broken_branch_parameter_makes_the_build_fail(
    client: TestClient, clock: ManualClock
) -> None:
    number = trigger(client, clock, "shop-build", BRANCH="broken-cart")
    clock.advance(5)
    assert client.get(f"/job/shop-build/{number}/api/json").json()["result"] == "FAILURE"
    assert "broken revision" in client.get(f"/job/shop-build/{number}/consoleText").text


def test_illegal_choices_and_wrong_trigger_endpoints_are_refused(client: TestClient) -> None:
    headers = crumb_headers(client)
    bad_choice = client.post(
        "/job/shop-build/buildWithParameters", data={"ENV": "moon"}, headers=headers
    )
    assert bad_choice.status_code == 400
    assert client.post("/job/shop-build/build", headers=headers).status_code == 400
    assert client.get("/job/shop-build/build").status_code == 405
    unparameterised = client.post(
        "/job/platform/job/nightly-e2e/buildWithParameters", headers=headers
    )
    assert unparameterised.status_code == 500
    assert client.post("/job/platform/job/nightly-e2e/build", headers=headers).status_code == 201


def test_progressive_text_continues_from_an_offset(client: TestClient, clock: ManualClock) -> None:
    number = trigger(client, clock, "shop-build")
    url = f"/job/shop-build/{number}/logText/progressiveText"
    clock.advance(1.0)
    first = client.get(url, params={"start": 0})
    assert first.headers["x-more-data"] == "true"
    size = int(first.headers["x-text-size"])
    assert size == len(first.content) > 0
    clock.advance(5)
    rest = client.get(url, params={"start": size})
    assert "x-more-data" not in rest.headers
    whole = client.get(f"/job/shop-build/{number}/consoleText").content
    assert first.content + rest.content == whole
    assert int(rest.headers["x-text-size"]) == len(whole)


def test_stop_aborts_a_running_build(client: TestClient, clock: ManualClock) -> None:
    number = trigger(client, clock, "shop-build")
    response = client.post(
        f"/job/shop-build/{number}/stop", headers=crumb_headers(client), follow_redirects=False
    )
    assert response.status_code == 302
    build = client.get(f"/job/shop-build/{number}/api/json").json()
    assert (build["building"], build["result"]) == (False, "ABORTED")
    assert client.get(f"/job/shop-build/{number}/consoleText").text.endswith("Finished: ABORTED\n")


def test_submit_description_reads_back(client: TestClient) -> None:
    response = client.post(
        "/job/shop-build/12/submitDescription",
        data={"description": "released to staging"},
        headers=crumb_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 302
    build = client.get("/job/shop-build/12/api/json").json()
    assert build["description"] == "released to staging"


def test_the_empty_seed_has_no_jobs() -> None:
    client = TestClient(create_app("empty"))
    assert client.get("/api/json", auth=AUTH).json()["jobs"] == []
