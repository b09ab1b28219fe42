"""Analyzers of everything but pods: Deployments, Services, Ingresses, PVCs, HPAs, Nodes, Argo
Rollouts and Helm releases.

Registered in `analyzers.ANALYZERS`. Each reads `ClusterState` only and quotes the object's own
status (a condition's message, an event) as its evidence.
"""

from __future__ import annotations

from collections.abc import Iterator

from opsgate.domain.findings import Finding, ObjectRef, ProposedFix
from opsgate.tools.diagnose.state import ClusterState, Obj


def _ref(kind: str, obj: Obj) -> ObjectRef:
    meta = obj.get("metadata", {})
    return ObjectRef(kind=kind, name=meta.get("name", ""), namespace=meta.get("namespace"))


def _condition(obj: Obj, kind: str) -> Obj | None:
    for condition in obj.get("status", {}).get("conditions") or []:
        if condition.get("type") == kind:
            found: Obj = condition
            return found
    return None


def deployments(state: ClusterState) -> Iterator[Finding]:
    """Deployments with unavailable replicas or a rollout that stopped progressing."""
    for deployment in state.of("deployments"):
        status = deployment.get("status", {})
        wanted = deployment.get("spec", {}).get("replicas", 1)
        available = status.get("availableReplicas", 0)
        progressing = _condition(deployment, "Progressing")
        stuck = progressing is not None and progressing.get("status") == "False"
        if available >= wanted and not stuck:
            continue
        evidence = [f"{available} of {wanted} replicas available"]
        for kind in ("Available", "Progressing"):
            condition = _condition(deployment, kind)
            if condition is not None and condition.get("status") == "False":
                evidence.append(
                    f"{kind}=False ({condition.get('reason')}): {condition.get('message')}"
                )
        yield Finding(
            analyzer="deployment_unavailable",
            severity="critical" if available == 0 and wanted > 0 else "warning",
            object=_ref("Deployment", deployment),
            problem="rollout stopped progressing" if stuck else "replicas unavailable",
            evidence=evidence,
        )


def services(state: ClusterState) -> Iterator[Finding]:
    """Services whose selector matches no pod, or whose pods are none of them ready."""
    endpoints = {
        (e.get("metadata", {}).get("namespace"), e.get("metadata", {}).get("name")): e
        for e in state.of("endpoints")
    }
    for service in state.of("services"):
        selector = service.get("spec", {}).get("selector")
        if not selector or service.get("spec", {}).get("type") == "ExternalName":
            continue
        meta = service.get("metadata", {})
        subsets = (endpoints.get((meta.get("namespace"), meta.get("name"))) or {}).get(
            "subsets"
        ) or []
        ready = sum(len(s.get("addresses") or []) for s in subsets)
        if ready:
            continue
        not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
        matching = [
            pod
            for pod in state.of("pods")
            if pod.get("metadata", {}).get("namespace") == meta.get("namespace")
            and all(
                (pod.get("metadata", {}).get("labels") or {}).get(k) == v
                for k, v in selector.items()
            )
        ]
        wanted = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        if not matching:
            problem, evidence = (
                "its selector matches no pod",
                [f"selector {wanted}: no pod matches"],
            )
        else:
            problem = "no ready endpoints"
            evidence = [
                f"selector {wanted}: {len(matching)} pods match, none ready "
                f"({not_ready} listed not ready)"
            ]
        yield Finding(
            analyzer="service_endpoints",
            severity="critical",
            object=_ref("Service", service),
            problem=problem,
            evidence=evidence,
        )


def ingresses(state: ClusterState) -> Iterator[Finding]:
    """Ingress rules whose backend Service does not exist or lacks the named port."""
    known = {
        (s.get("metadata", {}).get("namespace"), s.get("metadata", {}).get("name")): s
        for s in state.of("services")
    }
    for ingress in state.of("ingresses"):
        namespace = ingress.get("metadata", {}).get("namespace")
        spec = ingress.get("spec", {})
        backends = [spec["defaultBackend"]] if spec.get("defaultBackend") else []
        for rule in spec.get("rules") or []:
            backends += [p.get("backend", {}) for p in (rule.get("http") or {}).get("paths") or []]
        missing = []
        for backend in backends:
            service = backend.get("service") or {}
            name = service.get("name")
            if name is None:
                continue
            target = known.get((namespace, name))
            port = service.get("port") or {}
            if target is None:
                missing.append(f"backend service {name} does not exist")
            elif not any(
                p.get("port") == port.get("number")
                or (port.get("name") and p.get("name") == port.get("name"))
                for p in target.get("spec", {}).get("ports") or []
            ):
                missing.append(
                    f"backend service {name} has no port {port.get('number') or port.get('name')}"
                )
        if missing:
            yield Finding(
                analyzer="ingress_backends",
                severity="critical",
                object=_ref("Ingress", ingress),
                problem="routes to a backend that does not exist",
                evidence=sorted(set(missing)),
            )


def claims(state: ClusterState) -> Iterator[Finding]:
    """PersistentVolumeClaims that stay Pending for a reason other than waiting for a pod."""
    for claim in state.of("persistentvolumeclaims"):
        if claim.get("status", {}).get("phase") != "Pending":
            continue
        meta = claim.get("metadata", {})
        events = state.events_for(
            "PersistentVolumeClaim", meta.get("namespace"), meta.get("name", "")
        )
        if events and events[-1].get("reason") == "WaitForFirstConsumer":
            continue  # binds when a pod uses it: not a problem
        evidence = [f"event {e.get('reason')}: {e.get('message')}" for e in events[-2:]]
        yield Finding(
            analyzer="pvc_pending",
            severity="warning",
            object=_ref("PersistentVolumeClaim", claim),
            problem="claim is not bound",
            evidence=evidence or ["phase Pending, no event says why"],
        )


def autoscalers(state: ClusterState) -> Iterator[Finding]:
    """HorizontalPodAutoscalers held at their maximum."""
    for hpa in state.of("horizontalpodautoscalers"):
        spec, status = hpa.get("spec", {}), hpa.get("status", {})
        maximum, current = spec.get("maxReplicas"), status.get("currentReplicas", 0)
        limited = _condition(hpa, "ScalingLimited")
        if maximum is None or current < maximum:
            continue
        evidence = [f"{current} of at most {maximum} replicas"]
        if limited is not None and limited.get("status") == "True":
            evidence.append(f"ScalingLimited ({limited.get('reason')}): {limited.get('message')}")
        yield Finding(
            analyzer="hpa_at_max",
            severity="warning",
            object=_ref("HorizontalPodAutoscaler", hpa),
            problem="autoscaler is at its maximum replicas",
            evidence=evidence,
        )


PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


def nodes(state: ClusterState) -> Iterator[Finding]:
    """Nodes not Ready or under pressure."""
    for node in state.of("nodes"):
        ready = _condition(node, "Ready")
        evidence = []
        if ready is None or ready.get("status") != "True":
            reason = (ready or {}).get("message") or "no Ready condition"
            evidence.append(f"Ready={(ready or {}).get('status', 'Unknown')}: {reason}")
        for kind in PRESSURE:
            condition = _condition(node, kind)
            if condition is not None and condition.get("status") == "True":
                evidence.append(f"{kind}: {condition.get('message')}")
        if evidence:
            yield Finding(
                analyzer="node_health",
                severity="critical" if evidence[0].startswith("Ready=") else "warning",
                object=_ref("Node", node),
                problem="node is not ready"
                if evidence[0].startswith("Ready=")
                else "node is under pressure",
                evidence=evidence,
            )


def rollouts(state: ClusterState) -> Iterator[Finding]:
    """Argo Rollouts that are degraded, aborted or paused."""
    for rollout in state.of("rollouts.argoproj.io"):
        status = rollout.get("status", {})
        phase = status.get("phase")
        ref = _ref("Rollout", rollout)
        if phase == "Degraded" or status.get("abort"):
            yield Finding(
                analyzer="rollout_health",
                severity="critical",
                object=ref,
                problem="rollout is degraded" if phase == "Degraded" else "rollout was aborted",
                evidence=[f"phase {phase}: {status.get('message', '')}"],
            )
        elif phase == "Paused":
            weights = (status.get("canary") or {}).get("weights") or {}
            weight = (weights.get("canary") or {}).get("weight")
            step = status.get("currentStepIndex")
            evidence = [f"phase Paused: {status.get('message', '')}, at step {step}"]
            if weight is not None:
                evidence.append(f"canary weight {weight}%")
            yield Finding(
                analyzer="rollout_health",
                severity="warning",
                object=ref,
                problem="rollout is paused mid-update",
                evidence=evidence,
            )


def releases(state: ClusterState) -> Iterator[Finding]:
    """Helm releases whose last operation failed or never finished."""
    for release in state.releases or []:
        status = str(release.get("status", ""))
        if status == "deployed":
            continue
        revision = int(release.get("revision") or 0)
        ref = ObjectRef(
            kind="HelmRelease", name=release.get("name", ""), namespace=release.get("namespace")
        )
        fix = None
        if status == "failed" and revision > 1:
            fix = ProposedFix(
                tool="helm_rollback",
                args={"release": ref.name, "namespace": ref.namespace, "revision": revision - 1},
                why=f"revision {revision} failed; revision {revision - 1} is the one before it",
            )
        yield Finding(
            analyzer="helm_release",
            severity="critical" if status == "failed" else "warning",
            object=ref,
            problem=f"release is {status}",
            evidence=[f"revision {revision}, chart {release.get('chart')}, status {status}"],
            fix=fix,
        )
