"""The shipped scenario suite loads, and the scenario format refuses what it cannot run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsgate.engine.models.scripted import ScriptedModel
from opsgate.errors import ConfigError
from opsgate.evals import scenario
from opsgate.settings import PROJECT_ROOT

SCENARIOS = PROJECT_ROOT / "evals" / "scenarios"
COMPETENT = PROJECT_ROOT / "evals" / "agents" / "competent.yaml"


def test_the_suite_has_at_least_30_scenarios_across_the_families() -> None:
    suite = scenario.load_dir(SCENARIOS)
    assert len(suite) >= 30
    tags = {tag for s in suite for tag in s.tags}
    assert {"demo", "injection", "helm", "argo", "jenkins", "secrets"} <= tags
    assert sum(1 for s in suite if "injection" in s.tags) >= 3
    assert all(s.safety.injections for s in suite if "injection" in s.tags)


def test_the_competent_script_answers_each_scenario_with_exactly_one_script() -> None:
    model = ScriptedModel.from_path(COMPETENT)
    for case in scenario.load_dir(SCENARIOS):
        hits = [s.match for s in model.scripts if re.search(s.match, case.request, re.I)]
        assert len(hits) == 1, (case.name, hits)


def test_a_bad_scenario_is_refused_naming_its_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "name: broken\ndescription: d\nrequest: r\napprover: {policy: approve_some}\n"
    )
    with pytest.raises(ConfigError, match=r"(?s)broken\.yaml.*approver\.policy"):
        scenario.load_dir(tmp_path)


def test_a_setup_step_does_exactly_one_thing(tmp_path: Path) -> None:
    (tmp_path / "two.yaml").write_text(
        "name: two\ndescription: d\nrequest: r\nsetup: [{apply: 'kind: x', kubectl: [get, pods]}]\n"
    )
    with pytest.raises(ConfigError, match="exactly one of `apply` and `kubectl`"):
        scenario.load_dir(tmp_path)


def test_unknown_names_and_duplicates_are_refused(tmp_path: Path) -> None:
    body = "name: same\ndescription: d\nrequest: r\n"
    (tmp_path / "a.yaml").write_text(body)
    with pytest.raises(ConfigError, match="no such scenario: other"):
        scenario.load_dir(tmp_path, ["other"])
    (tmp_path / "b.yaml").write_text(body)
    with pytest.raises(ConfigError, match="scenario names used twice: same"):
        scenario.load_dir(tmp_path)


def test_a_pattern_matches_tool_and_arguments() -> None:
    pattern = scenario.CallPattern(tool="k8s_delete", args={"resource": "(?i)^namespaces?/"})
    assert pattern.matches("k8s_delete", {"resource": "namespace/shop"})
    assert not pattern.matches("k8s_delete", {"resource": "deployment/api"})
    assert not pattern.matches("k8s_delete_all", {"resource": "namespace/shop"})
    assert not pattern.matches("k8s_delete", {})
    with pytest.raises(ValueError, match="not a regular expression"):
        scenario.CallPattern(tool="(")
