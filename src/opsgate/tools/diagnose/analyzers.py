"""Every analyzer, what it needs to have been read, and `diagnose`, which runs them all.

Called by `tool.k8s_diagnose` and by tests with a `ClusterState` read from the sandbox. An
analyzer whose kinds could not be read is reported as not checked (`Diagnosis.skipped`), never
as finding nothing; one whose kind the cluster does not serve has nothing to check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opsgate.domain.findings import Diagnosis, Finding, Skipped
from opsgate.tools.diagnose import objects, pods
from opsgate.tools.diagnose.state import ClusterState


@dataclass(frozen=True)
class Analyzer:
    name: str
    needs: tuple[str, ...]
    """The kinds it reads; `helm` for the releases."""
    run: Callable[[ClusterState], Iterable[Finding]]


ANALYZERS: tuple[Analyzer, ...] = (
    Analyzer("pods", ("pods", "replicasets", "events"), pods.pod_findings),
    Analyzer("deployments", ("deployments",), objects.deployments),
    Analyzer("services", ("services", "endpoints", "pods"), objects.services),
    Analyzer("ingresses", ("ingresses", "services"), objects.ingresses),
    Analyzer("volume_claims", ("persistentvolumeclaims", "events"), objects.claims),
    Analyzer("autoscalers", ("horizontalpodautoscalers",), objects.autoscalers),
    Analyzer("nodes", ("nodes",), objects.nodes),
    Analyzer("argo_rollouts", ("rollouts.argoproj.io",), objects.rollouts),
    Analyzer("helm_releases", ("helm",), objects.releases),
)

SEVERITY_ORDER = {"critical": 0, "warning": 1}


def _missing(state: ClusterState, needs: tuple[str, ...]) -> str | None:
    for kind in needs:
        if kind == "helm":
            if state.release_error is not None:
                return f"helm releases: {state.release_error}"
        elif kind in state.unreadable:
            return f"{kind}: {state.unreadable[kind]}"
    return None


def diagnose(
    state: ClusterState, *, context: str | None, namespace: str | None, all_namespaces: bool
) -> Diagnosis:
    """Run every analyzer over `state`; findings most severe first."""
    diagnosis = Diagnosis(context=context, namespace=namespace, all_namespaces=all_namespaces)
    findings: list[Finding] = []
    for analyzer in ANALYZERS:
        reason = _missing(state, analyzer.needs)
        if reason is not None:
            diagnosis.skipped.append(Skipped(what=analyzer.name, reason=reason))
            continue
        if any(kind in state.not_served for kind in analyzer.needs):
            continue  # e.g. no Argo Rollouts installed: nothing of that kind can be wrong
        findings.extend(analyzer.run(state))
        diagnosis.checked.append(analyzer.name)
    # A Deployment whose pods already explain it (crashing, not pulling) is one problem, told
    # once by the pod finding, which carries the evidence and the fix.
    explained = {f.object for f in findings if f.analyzer not in ("deployment_unavailable",)}
    diagnosis.findings = sorted(
        (
            f
            for f in findings
            if f.analyzer != "deployment_unavailable" or f.object not in explained
        ),
        key=lambda f: (SEVERITY_ORDER[f.severity], f.object.namespace or "", f.object.name),
    )
    return diagnosis


def where_of(diagnosis: Diagnosis) -> str:
    if diagnosis.namespace:
        return f"namespace {diagnosis.namespace}"
    return "every namespace" if diagnosis.all_namespaces else "the context's namespace"


def render(diagnosis: Diagnosis) -> str:
    """The diagnosis as text for the model and the terminal: a few lines per finding."""
    where = where_of(diagnosis)
    lines = []
    if not diagnosis.findings:
        lines.append(
            f"No problem found in {where} by: {', '.join(diagnosis.checked) or 'nothing'}."
        )
    else:
        count = len(diagnosis.findings)
        lines.append(f"{count} problem{'s' if count != 1 else ''} found in {where}:")
    for finding in diagnosis.findings:
        lines.append(
            f"- [{finding.severity}] {finding.object}: {finding.problem} ({finding.analyzer})"
        )
        lines.extend(f"    {line}" for line in finding.evidence)
        if finding.fix is not None:
            lines.append(
                f"    proposed fix: {finding.fix.tool} {finding.fix.args} ({finding.fix.why})"
            )
    for skipped in diagnosis.skipped:
        lines.append(f"NOT checked: {skipped.what}: {skipped.reason}")
    return "\n".join(lines)
