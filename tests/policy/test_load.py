"""Policy files: what loads, and what is refused at load with the line that is wrong."""

from __future__ import annotations

import pytest

from opsgate.domain.policy_load import load_policy
from opsgate.errors import PolicyError


def _refused(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy(text)
    return caught.value


def test_no_text_is_the_built_in_gate() -> None:
    assert load_policy("").rules == ()
    assert load_policy("rules: []\n").rules == ()


def test_approvals_zero_is_refused_naming_its_line() -> None:
    error = _refused(
        "rules:\n  - id: prod\n    match: {context: prod}\n    require:\n      approvals: 0\n"
    )
    assert error.line == 5
    assert "approvals: must be at least 1" in str(error)
    assert str(error).startswith("line 5: ")


@pytest.mark.parametrize("key", ["exempt", "allow", "skip", "bypass", "auto_approve"])
def test_a_rule_that_tries_to_exempt_a_tool_is_refused_naming_its_line(key: str) -> None:
    error = _refused(f"rules:\n  - id: quiet\n    match: {{tool: k8s_scale}}\n    {key}: true\n")
    assert error.line == 4
    assert "never exempt a call from approval" in str(error)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("rules:\n  - id: a\n    require:\n      requester_excluded: false\n", 4, "only be true"),
        ("rules:\n  - id: a\n    require:\n      reason: false\n", 4, "only be true"),
        ("rules:\n  - id: a\n    require:\n      approvals: -1\n", 4, "at least 1"),
        ("rules:\n  - id: a\n    require:\n      approver_roles: [viewer]\n", 4, "approver"),
        ("rules:\n  - id: a\n    require:\n      max_ttl_s: 0\n", 4, "greater than"),
        ("rules:\n  - id: a\n    requires: {approvals: 2}\n", 3, "unknown key"),
        ("rules:\n  - id: a\n    match:\n      tool: x\n      tool: y\n", 5, "given twice"),
        ("rules:\n  - id: a\n  - id: a\n", 1, "used twice"),
        ("rules:\n  - id: a\n    require: {reason_pattern: '('}\n", 3, "regular expression"),
        (
            "rules:\n  - id: a\n    require:\n      freezes:\n        - {timezone: Mars/Base}\n",
            5,
            "unknown timezone",
        ),
        ("rules: [\n", 2, "not valid YAML"),
        ("rules: []\n# \x05\n", 2, "not valid YAML: unacceptable character"),
        ("- just a list\n", 1, "mapping"),
        ("x: &a [1]\nrules:\n  - id: a\n    match: {tool: *a}\n", 4, "aliases are not allowed"),
    ],
)
def test_bad_files_are_refused_whole_naming_the_line(text: str, line: int, words: str) -> None:
    error = _refused(text)
    assert error.line == line, str(error)
    assert words in str(error)


def test_times_of_day_need_no_quotes() -> None:
    policy = load_policy(
        "rules:\n  - id: f\n    require:\n      freezes: [{days: fri, after: 16:00}]\n"
    )
    [freeze] = policy.rules[0].require.freezes
    assert freeze.after.hour == 16
    assert freeze.days == ("fri",)


def test_a_file_nested_too_deeply_is_refused_not_crashed_on() -> None:
    error = _refused("rules: " + "[" * 1500 + "]" * 1500 + "\n")
    assert "nested too deeply" in str(error)
