"""Waiting for workload rollouts, bounded, and saying exactly why one did not complete.

Used by the verify recipes of every change that starts new pods: kubectl's patch, set_image,
apply, scale, restart and undo, and helm's install, upgrade and rollback. The rules follow
`kubectl rollout status`, read from the objects themselves (JSON through the injected runner):
the controller must have observed the change (`observedGeneration`), so a check right after it
cannot pass on the old state; a Deployment's replicas must all belong to its new ReplicaSet
(the one of its current revision), be available and ready. The pods of the new revision are
read on every poll: one waiting for a reason that will not resolve by itself (`pods.py`) ends
the wait at once with its reason and latest Warning events.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from opsgate.errors import ToolFailed
from opsgate.tools import pods
from opsgate.tools.base import ToolEnv, Verification
from opsgate.tools.command import Target, namespace_args, read_json

WorkloadKind = Literal["deployment", "statefulset", "daemonset"]

KINDS: dict[str, WorkloadKind] = {
    **dict.fromkeys(("deployment", "deployments", "deploy"), "deployment"),
    **dict.fromkeys(("statefulset", "statefulsets", "sts"), "statefulset"),
    **dict.fromkeys(("daemonset", "daemonsets", "ds"), "daemonset"),
}
"""How kubectl names the kinds that roll out (optionally qualified: `deployments.apps`)."""

WORKLOAD_KINDS = {
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
}
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
POLL_FIRST_S = 0.5
POLL_MAX_S = 2.0


@dataclass(frozen=True)
class Workload:
    """One object whose rollout a verify waits for."""

    kind: WorkloadKind
    name: str
    namespace: str | None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


def workload_of(resource: str, name: str | None, namespace: str | None) -> Workload | None:
    """The workload a kubectl call names (`deployment/web`, or `deployments.apps` + `web`);
    None for any other kind."""
    kind_text, _, ref_name = resource.partition("/")
    kind = KINDS.get(kind_text.split(".", 1)[0])
    named = ref_name or name
    return Workload(kind, named, namespace) if kind is not None and named else None


def workloads_in(manifest: str, namespace: str | None) -> list[Workload]:
    """The Deployments, StatefulSets and DaemonSets of a YAML manifest (a release's, an apply's);
    objects without a namespace are in `namespace`."""
    found: list[Workload] = []
    for document in yaml.safe_load_all(manifest):
        items = document.get("items") if isinstance(document, dict) else None
        for obj in items if isinstance(items, list) else [document]:
            if not isinstance(obj, dict) or obj.get("kind") not in WORKLOAD_KINDS:
                continue
            meta = obj.get("metadata") or {}
            kind: WorkloadKind = WORKLOAD_KINDS[obj["kind"]]  # type: ignore[assignment]
            found.append(Workload(kind, str(meta.get("name")), meta.get("namespace") or namespace))
    return found


@dataclass(frozen=True)
class Progress:
    """Where one rollout stands after one read."""

    done: bool
    text: str
    fatal: str | None = None
    """Set when the rollout cannot complete by itself (ProgressDeadlineExceeded...)."""


def progress(kind: WorkloadKind, obj: dict[str, Any]) -> Progress:
    """`kubectl rollout status`'s verdict on one read of a workload (pure)."""
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status") or {}
    ref = f"{kind}/{meta.get('name')}"
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return Progress(False, f"{ref}: waiting for the controller to observe the change")
    if kind == "deployment":
        return _deployment_progress(ref, spec, status)
    if kind == "statefulset":
        return _statefulset_progress(ref, spec, status)
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return Progress(False, f"{ref}: {updated} of {desired} pods updated")
    if available < desired:
        return Progress(False, f"{ref}: {available} of {desired} updated pods available")
    return Progress(True, f"{ref}: all {desired} pods updated, available and ready")


def _deployment_progress(ref: str, spec: dict[str, Any], status: dict[str, Any]) -> Progress:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == (
            "ProgressDeadlineExceeded"
        ):
            message = str(condition.get("message") or "progress deadline exceeded")
            return Progress(
                False, f"{ref}: {message}", fatal=f"ProgressDeadlineExceeded: {message}"
            )
    desired = int(spec.get("replicas", 1))
    replicas = int(status.get("replicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < desired:
        return Progress(False, f"{ref}: {updated} of {desired} new replicas updated")
    if replicas > updated:
        return Progress(False, f"{ref}: {replicas - updated} old replicas pending termination")
    if available < updated:
        return Progress(False, f"{ref}: {available} of {updated} updated replicas available")
    return Progress(True, f"{ref}: {desired} of {desired} replicas updated, available and ready")


def _statefulset_progress(ref: str, spec: dict[str, Any], status: dict[str, Any]) -> Progress:
    desired = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    if ready < desired:
        return Progress(False, f"{ref}: {ready} of {desired} pods ready")
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
        partition = int(
            ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition") or 0
        )
        if updated < desired - partition:
            return Progress(False, f"{ref}: {updated} of {desired - partition} pods updated")
        if partition == 0 and status.get("updateRevision") != status.get("currentRevision"):
            return Progress(False, f"{ref}: waiting for the update revision to become current")
    return Progress(True, f"{ref}: {desired} of {desired} pods updated and ready")


def _owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    uid = owner.get("metadata", {}).get("uid")
    return any(
        ref.get("uid") == uid for ref in obj.get("metadata", {}).get("ownerReferences") or []
    )


def revision(obj: dict[str, Any]) -> int | None:
    """A Deployment's (or ReplicaSet's) revision number, from its annotation."""
    value = str((obj.get("metadata", {}).get("annotations") or {}).get(REVISION_ANNOTATION))
    return int(value) if value.isdigit() else None


def new_pods(kind: WorkloadKind, obj: dict[str, Any], listed: list[dict[str, Any]]) -> list[Any]:
    """The pods of the workload's current revision among `listed` (ReplicaSets and pods)."""
    pods_listed = [item for item in listed if item.get("kind") == "Pod"]
    if kind == "deployment":
        current = revision(obj)
        owners = [
            rs
            for rs in listed
            if rs.get("kind") == "ReplicaSet" and _owned_by(rs, obj) and revision(rs) == current
        ]
        return [pod for pod in pods_listed if any(_owned_by(pod, rs) for rs in owners)]
    owned = [pod for pod in pods_listed if _owned_by(pod, obj)]
    update_revision = (obj.get("status") or {}).get("updateRevision")
    if kind == "statefulset" and update_revision:
        labels = "controller-revision-hash"
        return [
            p for p in owned if (p["metadata"].get("labels") or {}).get(labels) == update_revision
        ]
    return owned


def selector_of(obj: dict[str, Any]) -> str | None:
    """A workload's label selector in kubectl's syntax (`app=web,tier in (a,b)`)."""
    selector = obj.get("spec", {}).get("selector") or {}
    parts = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(expression.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                operator, f"!{key}"
            )
        )
    return ",".join(parts) or None


@dataclass(frozen=True)
class Outcome:
    """How waiting for some rollouts ended."""

    verification: Verification
    failed: Workload | None = None
    """The workload whose rollout did not complete."""
    revision: int | None = None
    """That workload's revision when it failed (a Deployment's), to roll back from."""


async def wait(
    env: ToolEnv, target: Target, workloads: list[Workload], timeout_s: float
) -> Outcome:
    """Wait until every rollout completes, one fails for good, or `timeout_s` passes (one
    deadline for all of them)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    done: list[Outcome] = []
    for index, workload in enumerate(workloads):
        outcome = await _wait_one(env, target, workload, deadline, timeout_s)
        if outcome.failed is None:
            done.append(outcome)
            continue
        others = [f"rolled out: {o.verification.summary}" for o in done]
        rest = [w.ref for w in workloads[index + 1 :]]
        others += [f"not checked: {', '.join(rest)}"] if rest else []
        details = [*outcome.verification.details, *others]
        return Outcome(
            outcome.verification.model_copy(update={"details": details}),
            outcome.failed,
            outcome.revision,
        )
    if not done:
        return Outcome(Verification(verdict="verified", summary="no rollout to wait for"))
    summaries = [o.verification.summary for o in done]
    return Outcome(Verification(verdict="verified", summary="; ".join(summaries)))


async def _wait_one(
    env: ToolEnv, target: Target, workload: Workload, deadline: float, timeout_s: float
) -> Outcome:
    loop = asyncio.get_running_loop()
    namespace = namespace_args(workload.namespace)
    interval = POLL_FIRST_S
    reported = ""
    while True:
        try:
            obj = await read_json(
                env, [*target.head(), "get", workload.ref, *namespace, "--output=json"]
            )
        except ToolFailed as e:
            return _failed(workload, f"{workload.ref} could not be read: {e}", [], None)
        state = progress(workload.kind, obj)
        if state.done:
            return Outcome(Verification(verdict="verified", summary=state.text))
        selector = selector_of(obj)
        listing = [*target.head(), "get", "replicasets.apps,pods", *namespace, "--output=json"]
        listed = await read_json(env, [*listing, "--selector", selector] if selector else listing)
        problems = [
            p
            for p in map(pods.problem, new_pods(workload.kind, obj, listed.get("items") or []))
            if p
        ]
        fatal = next((p for p in problems if p.fatal), None)
        if fatal is not None or state.fatal is not None:
            summary = fatal.line() if fatal is not None else f"{workload.ref}: {state.fatal}"
            evidence = await pods.explain(env, target, fatal, workload.namespace) if fatal else []
            return _failed(workload, summary, [state.text, *evidence], revision(obj))
        if loop.time() >= deadline:
            stuck = problems[0] if problems else None
            evidence = await pods.explain(env, target, stuck, workload.namespace) if stuck else []
            summary = f"{workload.ref} did not finish rolling out in {timeout_s:g} s: {state.text}"
            return _failed(workload, summary, evidence, revision(obj), timed_out=True)
        if state.text != reported:
            await env.report(state.text)
            reported = state.text
        await asyncio.sleep(interval)
        interval = min(interval * 1.5, POLL_MAX_S)


def _failed(
    workload: Workload,
    summary: str,
    details: list[str],
    at_revision: int | None,
    *,
    timed_out: bool = False,
) -> Outcome:
    if timed_out:
        next_step = (
            f"look at the pods of {workload.ref} (k8s_describe, k8s_events); the rollout may "
            "still finish, or roll it back"
        )
    else:
        next_step = f"fix the cause above, or roll {workload.ref} back to its previous revision"
    verification = Verification(
        verdict="failed", summary=summary, details=details, next_step=next_step
    )
    return Outcome(verification, workload, at_revision)
