"""What the diagnostics found: one `Finding` per problem, and the `Diagnosis` of a namespace.

Made by `opsgate.tools.diagnose` (the analyzers, no model involved), carried as the structured
data of the `k8s_diagnose` tool's result, and read by `opsgate diagnose`, the Command Center
and the model. A finding quotes its evidence from the cluster; the fix it may propose is only a
typed call, which goes through the approval gate like any other when someone chooses it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "warning"]
"""`critical`: something is not serving (no ready replica, no endpoint, a failed release);
`warning`: degraded or stuck, still serving."""


class ObjectRef(BaseModel):
    """The object a finding is about, as kubectl names it."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.kind.lower()}/{self.name}{where}"


class ProposedFix(BaseModel):
    """A typed call that would fix the problem; never run without an approval."""

    model_config = ConfigDict(frozen=True)

    tool: str
    args: dict[str, Any]
    why: str
    """Why this call fixes it, in one sentence."""


class Finding(BaseModel):
    """One problem, named by the analyzer that found it."""

    model_config = ConfigDict(frozen=True)

    analyzer: str
    """e.g. `crashloop`, `image_pull`, `service_endpoints` (docs/diagnostics.md lists them)."""
    severity: Severity
    object: ObjectRef
    problem: str
    """One line: what is wrong."""
    evidence: list[str] = Field(default_factory=list)
    """Quoted from the cluster: a status message, an event, the last log lines."""
    fix: ProposedFix | None = None


class Skipped(BaseModel):
    """Something the diagnosis could not check, and why (it is never reported as healthy)."""

    model_config = ConfigDict(frozen=True)

    what: str
    reason: str


class Diagnosis(BaseModel):
    """Every finding for one context and namespace, and what was and was not checked."""

    context: str | None = None
    namespace: str | None = None
    """None: every namespace (`all_namespaces`), or the context's own."""
    all_namespaces: bool = False
    findings: list[Finding] = Field(default_factory=list)
    checked: list[str] = Field(default_factory=list)
    """The analyzers that ran over the state they needed."""
    skipped: list[Skipped] = Field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No finding and nothing left unchecked: only then may anyone call it healthy."""
        return not self.findings and not self.skipped
