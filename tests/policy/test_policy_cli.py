"""`opsgate policy check` and `opsgate policy explain`, run as the installed command."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.cli import RunCli

POLICY = """rules:
  - id: prod-two-person
    match: {context: prod}
    require: {approvals: 2, approver_groups: sre-prod, requester_excluded: true}
  - id: payments-hours
    match: {namespace: payments, requester_group: contractors}
    require:
      windows: [{days: [mon, tue], after: 09:00, before: 17:00}]
"""


def test_check_accepts_a_good_file_and_names_its_rules(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    result = run_cli("policy", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert "accepted; 2 rules (prod-two-person, payments-hours)" in result.stdout
    path.write_text(POLICY.split("  - id: payments-hours")[0])
    one = run_cli("policy", "check", str(path))
    assert "accepted; 1 rule (prod-two-person)" in one.stdout, one.stderr


def test_check_exits_non_zero_with_the_refused_line(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.replace("approvals: 2", "approvals: 0"))
    result = run_cli("policy", "check", str(path))
    assert result.returncode == 1
    assert "line 4: rules.0.require.approvals: must be at least 1" in result.stderr
    assert "accepted" not in result.stdout


def test_explain_says_which_rules_apply_and_why_the_others_do_not(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    args = ("policy", "explain", "--tool", "k8s_scale", "--context", "prod")
    result = run_cli(*args, "--namespace", "payments", env={"OPSGATE_POLICY_FILE": str(path)})
    assert result.returncode == 0, result.stderr
    assert (
        "applies  prod-two-person: needs 2 distinct approvals, from group sre-prod, "
        "not the requester" in result.stdout
    )
    assert "skipped  payments-hours: requester groups [] does not match" in result.stdout
    grouped = run_cli(
        *args, "--namespace", "payments", "--group", "contractors", "--file", str(path)
    )
    assert "applies  payments-hours: needs 1 distinct approval, only mon,tue 09:00-17:00 UTC" in (
        grouped.stdout
    )


def test_explain_without_a_policy_says_the_built_in_gate_applies(run_cli: RunCli) -> None:
    result = run_cli("policy", "explain", "--tool", "k8s_scale")
    assert result.returncode == 0, result.stderr
    assert "the built-in gate applies" in result.stdout
