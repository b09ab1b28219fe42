"""Analyzers of pods: crash loops, image pulls, config errors, OOM kills, pending pods, probes.

Registered in `analyzers.ANALYZERS`. A problem is reported once per workload that owns the
pods (a Deployment, StatefulSet, Rollout, Job, or the bare pod), with every affected pod in the
evidence: two crashing replicas of one Deployment are one problem. It is `critical` when the
workload has no ready pod left, `warning` while others still serve. Where the workload's
previous revision ran and the new one fails, the fix offered is a rollout undo.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from opsgate.domain.findings import Finding, ObjectRef, ProposedFix
from opsgate.tools.diagnose.state import ClusterState, Obj

REVISION = "deployment.kubernetes.io/revision"


@dataclass
class _Problem:
    """One kind of failure of one workload, gathered over its pods."""

    analyzer: str
    owner: ObjectRef
    problem: str
    pods: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


def owner_of(state: ClusterState, pod: Obj) -> ObjectRef:
    """The workload that owns `pod`: through its ReplicaSet to a Deployment or Rollout."""
    meta = pod.get("metadata", {})
    namespace = meta.get("namespace")
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") != "ReplicaSet":
            return ObjectRef(
                kind=ref.get("kind", "Pod"), name=ref.get("name", ""), namespace=namespace
            )
        for rs in state.of("replicasets"):
            rs_meta = rs.get("metadata", {})
            if rs_meta.get("name") == ref.get("name") and rs_meta.get("namespace") == namespace:
                for rs_ref in rs_meta.get("ownerReferences") or []:
                    return ObjectRef(kind=rs_ref["kind"], name=rs_ref["name"], namespace=namespace)
        return ObjectRef(kind="ReplicaSet", name=ref.get("name", ""), namespace=namespace)
    return ObjectRef(kind="Pod", name=meta.get("name", ""), namespace=namespace)


def _ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _last_event(state: ClusterState, pod: Obj, reasons: tuple[str, ...]) -> str | None:
    meta = pod.get("metadata", {})
    for event in reversed(state.events_for("Pod", meta.get("namespace"), meta.get("name", ""))):
        if event.get("reason") in reasons:
            return f"event {event['reason']}: {event.get('message', '')}"
    return None


def _container_problems(state: ClusterState, pod: Obj) -> Iterator[tuple[str, str, list[str]]]:
    """(analyzer, problem, evidence) for each failing container of one pod."""
    name = pod.get("metadata", {}).get("name", "")
    namespace = pod.get("metadata", {}).get("namespace", "")
    for status in pod.get("status", {}).get("containerStatuses") or []:
        container = status.get("name", "")
        waiting = (status.get("state") or {}).get("waiting") or {}
        last = (status.get("lastState") or {}).get("terminated") or {}
        reason = waiting.get("reason")
        where = f"pod {name}, container {container}"
        if last.get("reason") == "OOMKilled":
            limit = _memory_limit(pod, container)
            yield (
                "oom_killed",
                f"container {container} is killed for running out of memory",
                [
                    f"{where}: last terminated OOMKilled (exit code {last.get('exitCode')}), "
                    f"memory limit {limit or 'none'}, {status.get('restartCount', 0)} restarts"
                ],
            )
        elif reason == "CrashLoopBackOff":
            evidence = [
                f"{where}: CrashLoopBackOff, {status.get('restartCount', 0)} restarts, last exit "
                f"code {last.get('exitCode')} ({last.get('reason', 'unknown')})"
            ]
            lines = state.logs.get((namespace, name, container))
            if lines:
                evidence.append(f"last log lines of {name}: " + " | ".join(lines))
            yield "crashloop", f"container {container} keeps crashing", evidence
        elif reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName"):
            evidence = [f"{where}: {reason}: {waiting.get('message', '')}".rstrip(": ")]
            event = _last_event(state, pod, ("Failed",))
            if event and "Error: " + str(reason) not in event:  # not only the reason again
                evidence.append(event)
            yield "image_pull", f"image {status.get('image', '?')} cannot be pulled", evidence
        elif reason == "CreateContainerConfigError":
            yield (
                "config_error",
                f"container {container} cannot start: its configuration refers to something "
                "missing",
                [f"{where}: CreateContainerConfigError: {waiting.get('message', '')}"],
            )
        elif reason == "ContainerCreating" and (event := _last_event(state, pod, ("FailedMount",))):
            yield (
                "config_error",
                f"a volume of container {container} cannot be mounted",
                [f"{where}: ContainerCreating: {event}"],
            )
        elif (status.get("state") or {}).get("running") and not status.get("ready"):
            event = _last_event(state, pod, ("Unhealthy",))
            if event:
                yield (
                    "probe_failing",
                    f"container {container} fails its probe",
                    [f"{where}: {event}"],
                )


def _memory_limit(pod: Obj, container: str) -> str | None:
    for spec in pod.get("spec", {}).get("containers") or []:
        if spec.get("name") == container:
            limit: str | None = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
            return limit
    return None


def _pending(state: ClusterState, pod: Obj) -> Iterator[tuple[str, str, list[str]]]:
    status = pod.get("status", {})
    if status.get("phase") != "Pending":
        return
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            name = pod.get("metadata", {}).get("name", "")
            yield (
                "pending",
                "pods cannot be scheduled",
                [
                    f"pod {name}: {condition.get('reason', 'Unschedulable')}: "
                    f"{condition.get('message', '')}"
                ],
            )


def pod_findings(state: ClusterState) -> list[Finding]:
    """Every pod-level problem, one finding per workload and kind of failure."""
    problems: dict[tuple[str, ObjectRef], _Problem] = {}
    serving: set[ObjectRef] = set()  # workloads with a ready pod: warnings, not critical
    for pod in state.of("pods"):
        owner = owner_of(state, pod)
        if _ready(pod):
            serving.add(owner)
        for analyzer, problem, evidence in [
            *_container_problems(state, pod),
            *_pending(state, pod),
        ]:
            entry = problems.setdefault((analyzer, owner), _Problem(analyzer, owner, problem))
            entry.pods.append(pod.get("metadata", {}).get("name", ""))
            entry.evidence.extend(evidence)
    findings = []
    for entry in problems.values():
        count = len(entry.pods)
        findings.append(
            Finding(
                analyzer=entry.analyzer,
                severity="warning" if entry.owner in serving else "critical",
                object=entry.owner,
                problem=f"{entry.problem} ({count} pod{'s' if count != 1 else ''})",
                evidence=entry.evidence,
                fix=_undo(state, entry.owner, entry.analyzer),
            )
        )
    return findings


def _undo(state: ClusterState, owner: ObjectRef, analyzer: str) -> ProposedFix | None:
    """`k8s_rollout_undo` when the Deployment's current revision fails and an earlier
    revision's pods still run ready: going back is then known to work."""
    if owner.kind != "Deployment" or analyzer == "pending":
        return None
    revisions = []
    for rs in state.of("replicasets"):
        meta = rs.get("metadata", {})
        refs = meta.get("ownerReferences") or []
        if meta.get("namespace") == owner.namespace and any(
            r.get("kind") == "Deployment" and r.get("name") == owner.name for r in refs
        ):
            revision = (meta.get("annotations") or {}).get(REVISION)
            if revision and revision.isdigit():
                revisions.append((int(revision), rs))
    if len(revisions) < 2:
        return None
    revisions.sort(key=lambda item: item[0])
    (current, _), (previous, old) = revisions[-1], revisions[-2]
    if not (old.get("status") or {}).get("readyReplicas"):
        return None
    image = ", ".join(
        c.get("image", "?")
        for c in old.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    )
    return ProposedFix(
        tool="k8s_rollout_undo",
        args={"resource": f"deployment/{owner.name}", "namespace": owner.namespace},
        why=f"revision {previous} ({image}) still runs ready pods; revision {current} fails",
    )
