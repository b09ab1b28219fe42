"""Preview and verify recipes of the kubectl mutations, as `ToolFn`s with pure argv builders.

Attached to the mutating tools in `mutations.py`; the engine calls `preview` when it asks for
approval (a server-side dry run or `kubectl diff`: nothing changes) and `verify` after the
mutation ran (rollout status with a bounded timeout, or a read of the changed object).
"""

from __future__ import annotations

import dataclasses

from opsgate.tools.base import ToolEnv, ToolOutput, Verification
from opsgate.tools.command import Target, deadline, namespace_args, run_argv
from opsgate.tools.kubectl import manifests
from opsgate.tools.kubectl import params as p

VERIFY_ROLLOUT_TIMEOUT_S = 120
_ROLLOUT_KINDS = frozenset(
    {"deployment", "deployments", "deploy", "statefulset", "statefulsets", "sts"}
    | {"daemonset", "daemonsets", "ds"}
)


def _target(env: ToolEnv, context: str | None) -> Target:
    return Target.of(env, "kubectl", context)


def is_rollout_kind(resource: str) -> bool:
    return resource.split("/", 1)[0].split(".", 1)[0] in _ROLLOUT_KINDS


def rollout_status_argv(
    resource: str, namespace: str | None, target: Target, timeout_s: int = VERIFY_ROLLOUT_TIMEOUT_S
) -> list[str]:
    return [
        *target.head(),
        "rollout",
        "status",
        resource,
        *namespace_args(namespace),
        "--watch=true",
        f"--timeout={timeout_s}s",
    ]


async def rollout_status(params: p.RolloutRefParams, env: ToolEnv) -> ToolOutput:
    """Verify: wait (bounded) for the workload's rollout; other kinds are read back instead."""
    target = _target(env, params.context)
    if not is_rollout_kind(params.resource):
        argv = [*target.head(), "get", params.resource, *namespace_args(params.namespace)]
        return await run_argv(env, argv)
    argv = rollout_status_argv(params.resource, params.namespace, target)
    return await run_argv(env, argv, timeout_s=deadline(env, VERIFY_ROLLOUT_TIMEOUT_S))


def get_manifest_argv(params: p.ManifestParams, target: Target) -> list[str]:
    return [*target.head(), "get", "--filename", "-", *namespace_args(params.namespace)]


async def verify_apply(params: p.ApplyParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_apply`: rollout status of every workload, else read the objects back."""
    target = _target(env, params.context)
    found = manifests.workloads(params.manifest)
    if not found:
        return await run_argv(env, get_manifest_argv(params, target), stdin=params.manifest)
    outputs = []
    for resource, namespace in found:
        argv = rollout_status_argv(resource, namespace or params.namespace, target)
        outputs.append(await run_argv(env, argv, timeout_s=deadline(env, VERIFY_ROLLOUT_TIMEOUT_S)))
    return ToolOutput(
        ok=all(output.ok for output in outputs),
        text="\n".join(output.text for output in outputs),
        exit_code=max(output.exit_code or 0 for output in outputs),
        truncated=any(output.truncated for output in outputs),
        duration_ms=sum(output.duration_ms for output in outputs),
        command="; ".join(output.command or "" for output in outputs),
    )


def show_object_argv(params: p.ObjectParams, target: Target) -> list[str]:
    name = [params.name] if params.name is not None else []
    return [
        *target.head(),
        "get",
        params.resource,
        *name,
        *namespace_args(params.namespace),
        "--output=yaml",
    ]


async def show_object(params: p.ObjectParams, env: ToolEnv) -> ToolOutput:
    """Verify: the changed object as the server now has it."""
    return await run_argv(env, show_object_argv(params, _target(env, params.context)))


def verify_deleted_argv(params: p.DeleteParams, target: Target) -> list[str]:
    name = [params.name] if params.name is not None else []
    selector = ["--selector", params.selector] if params.selector is not None else []
    return [
        *target.head(),
        "get",
        params.resource,
        *name,
        *selector,
        *namespace_args(params.namespace),
        "--ignore-not-found",
        "--output=name",
    ]


async def verify_deleted(params: p.DeleteParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_delete`: nothing matching is left (objects still terminating fail it)."""
    output = await run_argv(env, verify_deleted_argv(params, _target(env, params.context)))
    if not output.ok:
        return output
    remaining = output.text.strip()
    text = f"still present: {remaining}" if remaining else "deleted: nothing matching remains"
    return dataclasses.replace(output, ok=not remaining, text=text)


def show_node_argv(params: p.NodeParams, target: Target) -> list[str]:
    return [*target.head(), "get", "node", params.node]


async def show_node(params: p.NodeParams, env: ToolEnv) -> ToolOutput:
    """Verify of cordon/uncordon: the node's status (shows `SchedulingDisabled`)."""
    return await run_argv(env, show_node_argv(params, _target(env, params.context)))


def pods_on_node_argv(params: p.DrainParams, target: Target) -> list[str]:
    return [
        *target.head(),
        "get",
        "pods",
        "--all-namespaces",
        "--field-selector",
        f"spec.nodeName={params.node}",
    ]


async def pods_on_node(params: p.DrainParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_drain`: the pods still on the node (daemonset pods are expected)."""
    return await run_argv(env, pods_on_node_argv(params, _target(env, params.context)))


def show_pod_argv(params: p.RunPodParams, target: Target) -> list[str]:
    return [*target.head(), "get", "pod", params.name, *namespace_args(params.namespace)]


async def show_pod(params: p.RunPodParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_run_pod`: the pod exists and its phase."""
    return await run_argv(env, show_pod_argv(params, _target(env, params.context)))


async def exec_not_checked(params: p.ExecParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_exec`: a program's effect cannot be read back, so nothing is checked."""
    summary = "not verified: what the program changed is not checked (only its exit code is known)"
    return ToolOutput(
        ok=False, text=summary, data=Verification(verdict="not_verified", summary=summary)
    )
