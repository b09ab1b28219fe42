"""Local paths are cut from what the gateway tells a client."""

from __future__ import annotations

from opsgate.api.gateway.calls import hide_paths

PATHS = ["/work/opsgate/.tools/bin", "/srv/kube/config", "/work/opsgate"]


def test_a_binary_under_a_hidden_directory_shows_as_its_name() -> None:
    text = "error: /work/opsgate/.tools/bin/kubectl exited 1"
    assert hide_paths(text, PATHS) == "error: kubectl exited 1"


def test_a_hidden_file_shows_as_its_name_and_a_directory_alone_as_its_last_part() -> None:
    text = "cannot read /srv/kube/config (cwd /work/opsgate)"
    assert hide_paths(text, PATHS) == "cannot read config (cwd opsgate)"


def test_text_without_paths_is_unchanged() -> None:
    assert hide_paths("deployment.apps/web scaled", PATHS) == "deployment.apps/web scaled"
