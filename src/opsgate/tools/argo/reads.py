"""The Argo Rollouts read tools: list, get, history, describe, experiments, analysis runs.

Collected into `opsgate.tools.argo.TOOLS`; read-only, so the engine runs them without approval.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.argo import params as p
from opsgate.tools.argo import rollouts
from opsgate.tools.argo.kube import ROLLOUTS, get_argv, get_json, rollout_and_replicasets
from opsgate.tools.base import Tool, ToolEnv, ToolOutput, ToolParams
from opsgate.tools.kubectl.argv import Target, namespace_args, run_argv

READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)


def read_tool(
    name: str,
    description: str,
    params: type[ToolParams],
    run: Callable[[Any, ToolEnv], Awaitable[ToolOutput]],
) -> Tool:
    return Tool(
        name=name,
        family="argo",
        description=description,
        params=params,
        annotations=READ,
        run=run,
    )


def _target(env: ToolEnv, params: Any) -> Target:
    return Target.of(env, params.context)


async def _list_items(env: ToolEnv, params: p.ListParams, resource: str) -> list[Any]:
    """The objects of `resource` in the namespace(s) and selector a list call names."""
    argv = get_argv(
        _target(env, params),
        resource,
        None,
        params.namespace,
        all_namespaces=params.all_namespaces,
        selector=params.selector,
    )
    return list((await get_json(env, argv)).get("items") or [])


async def list_rollouts(params: p.ListParams, env: ToolEnv) -> ToolOutput:
    items = await _list_items(env, params, ROLLOUTS)
    return ToolOutput(ok=True, text=rollouts.list_summary(items), data={"count": len(items)})


async def get_rollout(params: p.RolloutParams, env: ToolEnv) -> ToolOutput:
    rollout, replicasets = await rollout_and_replicasets(
        env, _target(env, params), params.name, params.namespace
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


async def rollout_history(params: p.RolloutParams, env: ToolEnv) -> ToolOutput:
    rollout, replicasets = await rollout_and_replicasets(
        env, _target(env, params), params.name, params.namespace
    )
    return ToolOutput(ok=True, text=rollouts.history(rollout, replicasets))


async def describe(params: p.RolloutParams, env: ToolEnv) -> ToolOutput:
    target = _target(env, params)
    argv = [*target.head(), "describe", ROLLOUTS, params.name, *namespace_args(params.namespace)]
    return await run_argv(env, argv)


def _lister(resource: str, label: str) -> Callable[[p.ListParams, ToolEnv], Awaitable[ToolOutput]]:
    async def run(params: p.ListParams, env: ToolEnv) -> ToolOutput:
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

    return run


TOOLS = [
    read_tool(
        "argo_list_rollouts",
        "List Argo Rollouts with their phase, canary step, canary weight and ready replicas.",
        p.ListParams,
        list_rollouts,
    ),
    read_tool(
        "argo_get_rollout",
        "Show one Argo Rollout like `kubectl argo rollouts get rollout`: phase, current step of "
        "total, canary weight, pause reasons, and the replicas and images of each revision "
        "(stable and canary).",
        p.RolloutParams,
        get_rollout,
    ),
    read_tool(
        "argo_rollout_history",
        "List an Argo Rollout's revisions (ReplicaSets) with their images; use before argo_undo.",
        p.RolloutParams,
        rollout_history,
    ),
    read_tool(
        "argo_describe",
        "Describe an Argo Rollout in full (kubectl describe), including its events.",
        p.RolloutParams,
        describe,
    ),
    read_tool(
        "argo_list_experiments",
        "List Argo Rollouts Experiments with their phase.",
        p.ListParams,
        _lister("experiments.argoproj.io", "experiments"),
    ),
    read_tool(
        "argo_list_analysisruns",
        "List Argo Rollouts AnalysisRuns with their phase and message (why a canary failed).",
        p.ListParams,
        _lister("analysisruns.argoproj.io", "analysis runs"),
    ),
]
