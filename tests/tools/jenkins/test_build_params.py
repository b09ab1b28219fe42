"""Build parameters are checked against what the job declares, before anything is sent."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opsgate.errors import InvalidInput
from opsgate.sandbox.jenkins_json import param_definition
from opsgate.sandbox.jenkins_state import ParamDef
from opsgate.tools.jenkins import build_params
from opsgate.tools.jenkins import params as p

# The JSON a job answers with, as the sandbox shapes it after Jenkins.
JOB = {
    "property": [
        {
            "_class": "hudson.model.ParametersDefinitionProperty",
            "parameterDefinitions": [
                param_definition(ParamDef("BRANCH", "string", "main", "Branch")),
                param_definition(ParamDef("RUN_TESTS", "boolean", True)),
                param_definition(ParamDef("ENV", "choice", "dev", "", ("dev", "prod"))),
                param_definition(ParamDef("DB_PASSWORD", "password", "hunter2")),
            ],
        }
    ]
}
DECLARED = build_params.declared_params(JOB)


def test_declared_params_read_kinds_defaults_and_choices() -> None:
    by_name = {d.name: d for d in DECLARED}
    assert by_name["BRANCH"].kind == "string"
    assert by_name["BRANCH"].default == "main"
    assert by_name["RUN_TESTS"].default is True
    assert by_name["ENV"].choices == ("dev", "prod")
    assert by_name["DB_PASSWORD"].default is None


def test_declared_params_also_come_from_actions_on_old_jenkins() -> None:
    old = {"actions": [{}, JOB["property"][0]]}
    assert [d.name for d in build_params.declared_params(old)] == [d.name for d in DECLARED]


def test_values_are_typed_as_declared() -> None:
    form = build_params.validate_values(
        DECLARED, {"BRANCH": "release/1.4", "RUN_TESTS": False, "ENV": "prod"}
    )
    assert form == {"BRANCH": "release/1.4", "RUN_TESTS": "false", "ENV": "prod"}


def test_undeclared_names_are_refused_naming_them() -> None:
    with pytest.raises(InvalidInput, match="'TARGET'") as caught:
        build_params.validate_values(DECLARED, {"TARGET": "x"})
    assert caught.value.parameter == "parameters"


@pytest.mark.parametrize(
    ("given", "parameter"),
    [
        ({"ENV": "moon"}, "parameters.ENV"),
        ({"RUN_TESTS": "maybe"}, "parameters.RUN_TESTS"),
        ({"BRANCH": True}, "parameters.BRANCH"),
    ],
)
def test_ill_typed_values_are_refused(given: dict[str, str | bool], parameter: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_params.validate_values(DECLARED, given)
    assert caught.value.parameter == parameter


def test_effective_values_fill_in_defaults() -> None:
    values = build_params.effective_values(DECLARED, {"ENV": "prod"})
    assert values == {"BRANCH": "main", "RUN_TESTS": "true", "ENV": "prod"}


def test_trigger_parameters_refuse_shell_metacharacters_and_newlines() -> None:
    for bad in ("main; rm -rf /", "$(id)", "a\nb", "-x", "../x"):
        with pytest.raises(ValidationError):
            p.TriggerBuildParams(server="s", job="j", parameters={"BRANCH": bad})


def test_descriptions_are_one_plain_line() -> None:
    ok = p.SetDescriptionParams(server="s", job="j", build=1, description="released to prod")
    assert ok.description == "released to prod"
    for bad in ("line\nbreak", "<script>alert(1)</script>", "x" * 2001):
        with pytest.raises(ValidationError):
            p.SetDescriptionParams(server="s", job="j", build=1, description=bad)


def test_password_values_are_masked_whatever_their_name() -> None:
    declared = [
        *DECLARED,
        *build_params.declared_params(
            {
                "property": [
                    {
                        "parameterDefinitions": [
                            param_definition(ParamDef("DEPLOY_KEY", "password", ""))
                        ]
                    }
                ]
            }
        ),
    ]
    values = build_params.effective_values(declared, {"DEPLOY_KEY": "k-123", "ENV": "prod"})
    shown = build_params.masked(declared, values)
    assert shown["DEPLOY_KEY"] == build_params.MASK
    assert shown["ENV"] == "prod"
