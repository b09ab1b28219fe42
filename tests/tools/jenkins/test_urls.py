"""Jenkins request URLs are built by pure functions and never leave the configured base URL."""

from __future__ import annotations

import pytest

from opsgate.errors import ConfigError, InvalidInput, ToolFailed
from opsgate.tools.jenkins import urls

BASE = "https://ci.example.com/jenkins/"


def test_folder_paths_become_nested_job_segments() -> None:
    assert urls.job_url(BASE, "platform/nightly-e2e") == (
        "https://ci.example.com/jenkins/job/platform/job/nightly-e2e/"
    )


def test_segments_are_percent_encoded() -> None:
    assert urls.job_url(BASE, "team a/app+web") == (
        "https://ci.example.com/jenkins/job/team%20a/job/app%2Bweb/"
    )


@pytest.mark.parametrize(
    "job",
    [
        "",
        "a//b",
        "/a",
        "a/",
        "..",
        "a/../b",
        "-rf",
        "a/-b",
        "a\nb",
        "a\x00b",
        "a%2Fb",
        "a?x=1",
        "a#frag",
        "w\u0435b",
        "trailing ",
        "/".join(["x"] * 11),
    ],
)
def test_bad_job_paths_are_refused(job: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        urls.job_url(BASE, job)
    assert caught.value.parameter == "job"


def test_build_urls_take_numbers_and_permalinks() -> None:
    assert urls.build_url(BASE, "shop-build", 13) == f"{BASE}job/shop-build/13/"
    assert urls.build_url(BASE, "shop-build", "lastFailedBuild") == (
        f"{BASE}job/shop-build/lastFailedBuild/"
    )
    with pytest.raises(InvalidInput):
        urls.build_url(BASE, "shop-build", 0)


def test_api_json_encodes_a_tree_and_refuses_odd_specs() -> None:
    url = urls.api_json(f"{BASE}job/x/", "builds[number,result]{0,5}")
    assert url == f"{BASE}job/x/api/json?tree=builds[number,result]{{0,5}}"
    assert urls.api_json(BASE) == f"{BASE}api/json"
    with pytest.raises(ValueError, match="bad tree"):
        urls.api_json(BASE, "jobs&depth=9")


def test_progressive_text_url_carries_the_offset() -> None:
    url = urls.progressive_text_url(BASE, "a/b", 7, 1024)
    assert url == f"{BASE}job/a/job/b/7/logText/progressiveText?start=1024"


def test_base_url_gets_a_trailing_slash_and_refuses_other_shapes() -> None:
    assert urls.base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/"
    for bad in (
        "ftp://ci.example.com/",
        "https://user:pw@ci.example.com/",
        "https://ci.example.com/?x=1",
        "ci.example.com",
    ):
        with pytest.raises(ConfigError):
            urls.base_url(bad)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/jenkins/queue/item/1/",
        "http://ci.example.com/jenkins/queue/item/1/",
        "https://ci.example.com:8443/jenkins/queue/item/1/",
        "https://ci.example.com/other/queue/item/1/",
        "https://ci.example.com/jenkins/../queue/item/1/",
    ],
)
def test_urls_outside_the_base_are_refused(url: str) -> None:
    with pytest.raises(ToolFailed):
        urls.ensure_under(BASE, url)


def test_queue_id_comes_from_a_location_under_the_base() -> None:
    assert urls.queue_id_from_location(BASE, f"{BASE}queue/item/42/") == 42
    with pytest.raises(ToolFailed):
        urls.queue_id_from_location(BASE, "https://evil.example.com/jenkins/queue/item/42/")
    with pytest.raises(ToolFailed):
        urls.queue_id_from_location(BASE, f"{BASE}job/x/")


def test_job_path_of_url_reads_nested_folders_back() -> None:
    assert urls.job_path_of_url(BASE, f"{BASE}job/team%20a/job/app/13/") == "team a/app"
    assert urls.job_path_of_url(BASE, "https://elsewhere/job/app/") is None
