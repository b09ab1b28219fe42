"""Running kubectl for the Argo tools: reading Rollouts and ReplicaSets as JSON, sending patches.

Used by `reads.py` and `mutations.py`. The argv builders here are pure; `read_json` and
`patch` run them through the injected runner.
"""

from __future__ import annotations

from typing import Any, Literal

from opsgate.tools.base import ToolEnv, ToolOutput
from opsgate.tools.command import Target, namespace_args, read_json, run_argv

ROLLOUTS = "rollouts.argoproj.io"
REPLICASETS = "replicasets.apps"
PatchType = Literal["merge", "json"]


def get_argv(
    target: Target,
    resource: str,
    name: str | None,
    namespace: str | None,
    *,
    all_namespaces: bool = False,
    selector: str | None = None,
) -> list[str]:
    argv = [*target.head(), "get", resource]
    if name is not None:
        argv.append(name)
    argv += namespace_args(namespace, all_namespaces)
    if selector is not None:
        argv += ["--selector", selector]
    return [*argv, "--output", "json"]


def patch_argv(
    target: Target,
    name: str,
    namespace: str | None,
    body: str,
    *,
    patch_type: PatchType,
    status: bool = False,
    dry_run: bool = False,
) -> list[str]:
    argv = [*target.head(), "patch", ROLLOUTS, name, *namespace_args(namespace)]
    argv += ["--type", patch_type, "--patch", body]
    if status:
        argv.append("--subresource=status")
    if dry_run:
        argv.append("--dry-run=server")
    return argv


async def rollout_and_replicasets(
    env: ToolEnv, target: Target, name: str, namespace: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rollout = await read_json(env, get_argv(target, ROLLOUTS, name, namespace))
    rs_list = await read_json(env, get_argv(target, REPLICASETS, None, namespace))
    return rollout, list(rs_list.get("items") or [])


async def patch(env: ToolEnv, argv: list[str]) -> ToolOutput:
    return await run_argv(env, argv)


def target(env: ToolEnv, context: str | None) -> Target:
    """Argo tools drive kubectl: no Argo binary is needed."""
    return Target.of(env, "kubectl", context)
