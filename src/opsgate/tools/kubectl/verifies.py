"""Verify recipes of the kubectl mutations: did the call do what it was meant to?

Attached to the mutating tools in `mutations.py`; the engine runs `verify` after the mutation
ran. A change to a Deployment, StatefulSet or DaemonSet waits (bounded) for its rollout and
fails with the concrete reason read from the cluster (`tools.rollout`), offering
`k8s_rollout_undo` where the change replaced the pod template. A change that can only be read
back (a label, a patch of a ConfigMap) is `not_verified`, never `verified`. Each returns
`define.concluded(Verification)`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opsgate.errors import ToolFailed, truncate
from opsgate.tools import pods, rollout
from opsgate.tools.base import RollbackCall, ToolEnv, ToolOutput, Verification
from opsgate.tools.command import Target, namespace_args, read_json, run_argv
from opsgate.tools.define import concluded
from opsgate.tools.kubectl import kustomize
from opsgate.tools.kubectl import params as p

POLL_S = 0.5


def _target(env: ToolEnv, context: str | None) -> Target:
    return Target.of(env, "kubectl", context)


def _undo(workload: rollout.Workload, context: str | None) -> RollbackCall:
    args: dict[str, Any] = {"resource": workload.ref}
    if workload.namespace is not None:
        args["namespace"] = workload.namespace
    if context is not None:
        args["context"] = context
    return RollbackCall(tool="k8s_rollout_undo", args=args)


async def _rollouts(
    env: ToolEnv, context: str | None, workloads: list[rollout.Workload], *, undo: bool
) -> Verification:
    """Wait for the rollouts; with `undo`, a failure offers `k8s_rollout_undo` of the workload
    when it has a previous revision to return to."""
    outcome = await rollout.wait(env, _target(env, context), workloads, env.verify_timeout_s)
    failed = outcome.failed
    has_previous = failed is not None and (
        failed.kind != "deployment" or (outcome.revision or 0) > 1
    )
    if not (undo and failed is not None and has_previous):
        return outcome.verification
    return outcome.verification.model_copy(
        update={
            "rollback": _undo(failed, context),
            "next_step": f"fix the cause above, or k8s_rollout_undo {failed.ref} to return it to "
            "its previous revision",
        }
    )


def _object_argv(
    target: Target, resource: str, name: str | None, namespace: str | None
) -> list[str]:
    named = [name] if name is not None else []
    return [*target.head(), "get", resource, *named, *namespace_args(namespace), "--output=json"]


async def _read_back(env: ToolEnv, params: Any, what: str) -> ToolOutput:
    """Read the changed object back: it exists, and nothing more is known."""
    target = _target(env, params.context)
    argv = _object_argv(target, params.resource, getattr(params, "name", None), params.namespace)
    await read_json(env, argv)
    return concluded(Verification(verdict="not_verified", summary=f"{what}; rollout not checked"))


async def rollout_or_read_back(params: Any, env: ToolEnv, *, undo: bool) -> ToolOutput:
    """A workload waits for its rollout; any other object is read back (not verified)."""
    workload = rollout.workload_of(params.resource, getattr(params, "name", None), params.namespace)
    if workload is None:
        return await _read_back(env, params, "object updated")
    return concluded(await _rollouts(env, params.context, [workload], undo=undo))


async def verify_template_change(params: Any, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_patch` and `k8s_set_image`: they may replace the pod template, so a
    failed rollout offers `k8s_rollout_undo`."""
    return await rollout_or_read_back(params, env, undo=True)


async def verify_rollout(params: Any, env: ToolEnv) -> ToolOutput:
    """Verify of scale, restart and undo: the rollout completes (undoing them is no remedy)."""
    return await rollout_or_read_back(params, env, undo=False)


async def verify_apply(params: p.ApplyParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_apply`: every object exists; the manifest's workloads roll out."""
    target = _target(env, params.context)
    argv = [*target.head(), "get", "--filename", "-", *namespace_args(params.namespace)]
    manifest = await kustomize.manifest_of(params, env)
    found = await run_argv(env, argv, stdin=manifest)
    if not found.ok:
        summary = "objects of the manifest are missing after the apply"
        return concluded(Verification(verdict="failed", summary=summary, details=[found.text]))
    workloads = rollout.workloads_in(manifest, params.namespace)
    if not workloads:
        summary = "objects applied and read back; no workload in the manifest, rollout not checked"
        return concluded(Verification(verdict="not_verified", summary=summary))
    return concluded(await _rollouts(env, params.context, workloads, undo=True))


async def verify_metadata(params: p.LabelParams | p.AnnotateParams, env: ToolEnv) -> ToolOutput:
    """Verify of label/annotate: the object reads back with the entries set or removed; what
    selects or reads them is not checked."""
    field = "labels" if isinstance(params, p.LabelParams) else "annotations"
    wanted = params.labels if isinstance(params, p.LabelParams) else params.annotations
    target = _target(env, params.context)
    obj = await read_json(env, _object_argv(target, params.resource, params.name, params.namespace))
    actual = obj.get("metadata", {}).get(field) or {}
    wrong = [key for key, value in wanted.items() if actual.get(key) != value]
    if wrong:
        shown = ", ".join(f"{key}={actual.get(key)!r}" for key in wrong)
        return concluded(Verification(verdict="failed", summary=f"{field} read back as {shown}"))
    summary = f"object updated: {field} read back as set; rollout not checked"
    return concluded(Verification(verdict="not_verified", summary=summary))


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
        raise ToolFailed(truncate(output.text, 500))
    remaining = output.text.split()
    if remaining:
        summary = f"still present: {' '.join(remaining[:10])}"
        return concluded(Verification(verdict="failed", summary=summary, details=remaining[10:]))
    return concluded(Verification(verdict="verified", summary="deleted: nothing matching remains"))


async def verify_cordon(params: p.NodeParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_cordon`: the node reads back unschedulable."""
    return await _schedulable(params, env, wanted=False)


async def verify_uncordon(params: p.NodeParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_uncordon`: the node reads back schedulable."""
    return await _schedulable(params, env, wanted=True)


async def _schedulable(params: p.NodeParams, env: ToolEnv, *, wanted: bool) -> ToolOutput:
    target = _target(env, params.context)
    node = await read_json(env, [*target.head(), "get", "node", params.node, "--output=json"])
    schedulable = not node.get("spec", {}).get("unschedulable", False)
    state = "schedulable" if schedulable else "unschedulable (cordoned)"
    verdict = "verified" if schedulable == wanted else "failed"
    return concluded(Verification(verdict=verdict, summary=f"node {params.node!r} is {state}"))


def pods_on_node_argv(params: p.DrainParams, target: Target) -> list[str]:
    return [
        *target.head(),
        "get",
        "pods",
        "--all-namespaces",
        "--field-selector",
        f"spec.nodeName={params.node}",
        "--output=json",
    ]


def _stays(pod: dict[str, Any]) -> bool:
    """Pods a drain leaves alone: DaemonSet pods, mirror pods, and finished ones."""
    meta = pod.get("metadata", {})
    if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
        return True
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return True
    return any(ref.get("kind") == "DaemonSet" for ref in meta.get("ownerReferences") or [])


async def verify_drained(params: p.DrainParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_drain`: the node is cordoned and only pods a drain leaves remain."""
    target = _target(env, params.context)
    listed = await read_json(env, pods_on_node_argv(params, target))
    left = [
        f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
        for pod in listed.get("items") or []
        if not _stays(pod)
    ]
    cordoned = await _schedulable(params, env, wanted=False)
    if not cordoned.ok:
        return cordoned
    if left:
        summary = f"{len(left)} pods still on node {params.node!r}"
        return concluded(Verification(verdict="failed", summary=summary, details=left[:20]))
    summary = f"node {params.node!r} is cordoned; only DaemonSet or finished pods remain"
    return concluded(Verification(verdict="verified", summary=summary))


async def verify_pod_started(params: p.RunPodParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_run_pod`: wait (bounded) until the pod runs and is ready, or completes;
    an image or configuration error fails it at once."""
    target = _target(env, params.context)
    argv = _object_argv(target, "pod", params.name, params.namespace)
    deadline = asyncio.get_running_loop().time() + env.verify_timeout_s
    while True:
        found = pods.problem(await read_json(env, argv))
        if found is None:
            summary = f"pod {params.name} is running and ready (or completed)"
            return concluded(Verification(verdict="verified", summary=summary))
        if found.fatal or asyncio.get_running_loop().time() >= deadline:
            evidence = await pods.explain(env, target, found, params.namespace)
            return concluded(
                Verification(
                    verdict="failed",
                    summary=found.line(),
                    details=evidence[1:],
                    next_step=f"fix the cause, then k8s_delete pod/{params.name} and run it again",
                )
            )
        await env.report(found.line())
        await asyncio.sleep(POLL_S)


async def exec_not_checked(params: p.ExecParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_exec`: a program's effect cannot be read back, so nothing is checked."""
    summary = "not verified: what the program changed is not checked (only its exit code is known)"
    return concluded(Verification(verdict="not_verified", summary=summary))
