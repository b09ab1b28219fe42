"""The Argo Rollouts read tools: list, get, history, describe, experiments, analysis runs.

Collected into `opsgate.tools.argo.TOOLS`; read-only, so the engine runs them without approval.
"""

from __future__ import annotations

from typing import Any

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.argo import params as p
from opsgate.tools.argo import rollouts
from opsgate.tools.argo.kube import ROLLOUTS, get_argv, rollout_and_replicasets, target
from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from opsgate.tools.command import namespace_args, read_json, run_argv
from opsgate.tools.define import Function, define

READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)


async def _list_items(env: ToolEnv, params: p.ListParams, resource: str) -> list[Any]:
    """The objects of `resource` in the namespace(s) and selector a list call names."""
    argv = get_argv(
        target(env, params.context),
        resource,
        None,
        params.namespace,
        all_namespaces=params.all_namespaces,
        selector=params.selector,
    )
    return list((await read_json(env, argv)).get("items") or [])


async def argo_list_rollouts(params: p.ListParams, env: ToolEnv) -> ToolOutput:
    """List Argo Rollouts with their phase, canary step, canary weight and ready replicas."""
    items = await _list_items(env, params, ROLLOUTS)
    return ToolOutput(ok=True, text=rollouts.list_summary(items), data={"count": len(items)})


async def argo_get_rollout(params: p.RolloutParams, env: ToolEnv) -> ToolOutput:
    """Show one Argo Rollout like `kubectl argo rollouts get rollout`: phase, current step of
    total, canary weight, pause reasons, and the replicas and images of each revision (stable
    and canary)."""
    rollout, replicasets = await rollout_and_replicasets(
        env, target(env, params.context), params.name, params.namespace
    )
    status = rollout.get("status", {})
    return ToolOutput(
        ok=True,
        text=rollouts.summarize(rollout, replicasets),
        data={
            "phase": status.get("phase"),
            "currentStepIndex": status.get("currentStepIndex"),
            "steps": len(rollouts.steps(rollout)),
            "canaryWeight": rollouts.canary_weight(rollout),
            "paused": bool(status.get("pauseConditions") or rollout["spec"].get("paused")),
        },
    )


async def argo_rollout_history(params: p.RolloutParams, env: ToolEnv) -> ToolOutput:
    """List an Argo Rollout's revisions (ReplicaSets) with their images; use before argo_undo."""
    rollout, replicasets = await rollout_and_replicasets(
        env, target(env, params.context), params.name, params.namespace
    )
    return ToolOutput(ok=True, text=rollouts.history(rollout, replicasets))


async def argo_describe(params: p.RolloutParams, env: ToolEnv) -> ToolOutput:
    """Describe an Argo Rollout in full (kubectl describe), including its events."""
    head = target(env, params.context).head()
    argv = [*head, "describe", ROLLOUTS, params.name, *namespace_args(params.namespace)]
    return await run_argv(env, argv)


async def _phases(params: p.ListParams, env: ToolEnv, resource: str, label: str) -> ToolOutput:
    """A table of the phase and message of each object of `resource` the list call names."""
    items = await _list_items(env, params, resource)
    if not items:
        return ToolOutput(ok=True, text=f"No {label} found.", data={"count": 0})
    lines = ["NAMESPACE  NAME  PHASE  MESSAGE"]
    for item in items:
        status = item.get("status") or {}
        lines.append(
            f"{item['metadata'].get('namespace')}  {item['metadata']['name']}  "
            f"{status.get('phase', 'Unknown')}  {status.get('message', '')}".rstrip()
        )
    return ToolOutput(ok=True, text="\n".join(lines), data={"count": len(items)})


async def argo_list_experiments(params: p.ListParams, env: ToolEnv) -> ToolOutput:
    """List Argo Rollouts Experiments with their phase."""
    return await _phases(params, env, "experiments.argoproj.io", "experiments")


async def argo_list_analysisruns(params: p.ListParams, env: ToolEnv) -> ToolOutput:
    """List Argo Rollouts AnalysisRuns with their phase and message (why a canary failed)."""
    return await _phases(params, env, "analysisruns.argoproj.io", "analysis runs")


TOOLS: list[Tool] = [
    define("argo", Function(argo_list_rollouts), p.ListParams, READ),
    define("argo", Function(argo_get_rollout), p.RolloutParams, READ),
    define("argo", Function(argo_rollout_history), p.RolloutParams, READ),
    define("argo", Function(argo_describe), p.RolloutParams, READ),
    define("argo", Function(argo_list_experiments), p.ListParams, READ),
    define("argo", Function(argo_list_analysisruns), p.ListParams, READ),
]
