"""`opsgate policy check` and `opsgate policy explain`: the approval policy, offline.

`check` loads a file as the server would (docs/policy.md) and prints the refused line;
`explain` matches one planned change against a file (or `OPSGATE_POLICY_FILE`) and says which
rules apply, why the others do not, and what the change would need. Neither needs a server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.text import Text

from opsgate.cli.common import console, load_settings, untrusted
from opsgate.domain.policy import Policy, Require, Subject, why_not
from opsgate.domain.roles import Role

policy_app = typer.Typer(
    help="Check and explain the approval policy (docs/policy.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _load(path: Path) -> Policy:
    from opsgate.engine.policy_source import read_policy_file

    return read_policy_file(path).policy


@policy_app.command("check")
def check(path: Annotated[Path, typer.Argument(help="The policy file (YAML).")]) -> None:
    """Check a policy file; exit 1 with the offending line if the server would refuse it.

    Example: `opsgate policy check /etc/opsgate/policy.yaml`
    """
    policy = _load(path)
    ids = ", ".join(rule.id for rule in policy.rules) or "none: the built-in gate"
    count = len(policy.rules)
    console.print(untrusted(f"{path}: accepted; {count} rule{'' if count == 1 else 's'} ({ids})"))


@policy_app.command("explain")
def explain(
    tool: Annotated[str, typer.Option(help="The tool, e.g. k8s_scale.")],
    context: Annotated[str | None, typer.Option(help="The kubeconfig context.")] = None,
    namespace: Annotated[str | None, typer.Option(help="The namespace.")] = None,
    kind: Annotated[str | None, typer.Option(help="The target's kind, e.g. deployment.")] = None,
    role: Annotated[str, typer.Option(help="The requester's role.")] = "operator",
    group: Annotated[
        list[str] | None, typer.Option(help="A group of the requester (repeatable).")
    ] = None,
    destructive: Annotated[
        bool | None,
        typer.Option("--destructive/--not-destructive", help="Default: as the tool is annotated."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="The policy file; default OPSGATE_POLICY_FILE.")
    ] = None,
) -> None:
    """Print which rules apply to a change and why, and what it would need.

    Example: `opsgate policy explain --tool k8s_scale --context prod --namespace payments`
    """
    from opsgate.tools import registry

    path = file or load_settings().policy_file
    if path is None:
        console.print("no policy file (OPSGATE_POLICY_FILE unset): the built-in gate applies")
        console.print("needs: 1 approval from an approver")
        return
    spec = registry.all_tools().get(tool)
    if spec is None:
        raise typer.BadParameter(f"no tool named {tool!r}", param_hint="--tool")
    if role not in get_args(Role):
        raise typer.BadParameter(f"no role {role!r}", param_hint="--role")
    subject = Subject(
        tool=tool,
        family=spec.family,
        destructive=spec.annotations.destructive if destructive is None else destructive,
        context=context,
        namespace=namespace,
        kind=kind,
        labels=None,
        requester_role=role,  # type: ignore[arg-type]  # checked against Role above
        requester_groups=tuple(group or ()),
    )
    policy = _load(path)
    applied = 0
    for rule in policy.rules:
        reason = why_not(rule, subject)
        if reason is None:
            applied += 1
            needs = f"{rule.id}: needs {_needs(rule.require)}"
            console.print(Text.assemble(("applies  ", "bold"), untrusted(needs)))
        else:
            console.print(Text.assemble("skipped  ", untrusted(f"{rule.id}: {reason}")))
    if not applied:
        console.print("no rule applies: the built-in gate (1 approval from an approver)")


def _needs(require: Require) -> str:
    parts = [f"{require.approvals} distinct approval{'s' if require.approvals > 1 else ''}"]
    if require.approver_groups:
        parts.append("from group " + " or ".join(require.approver_groups))
    if require.approver_roles:
        parts.append("with role " + " or ".join(require.approver_roles))
    if require.requester_excluded:
        parts.append("not the requester")
    if require.reason or require.reason_pattern:
        parts.append(
            "a reason" + (f" matching {require.reason_pattern!r}" if require.reason_pattern else "")
        )
    if require.windows:
        parts.append("only " + "; ".join(w.describe() for w in require.windows))
    if require.freezes:
        parts.append("frozen " + "; ".join(w.describe() for w in require.freezes))
    if require.break_glass_role:
        parts.append(f"break-glass: {require.break_glass_role}")
    if require.max_ttl_s:
        parts.append(f"expires within {require.max_ttl_s}s")
    return ", ".join(parts)
