"""The shape every opsgate tool has. Families (kubectl, helm, argo, jenkins) build `Tool`s
with `define.define`; the MCP server serves them; the engine reads their annotations, preview
and verify recipes.

A tool's `run`, `preview` and `verify` are async callables taking the validated parameter
model and a `ToolEnv` (the injected dependencies: command runner, kubeconfig, Jenkins servers,
limits). Argv construction lives in pure functions beside each family so it can be tested
without running anything. `ToolParams` is the one parameter base of every family.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from opsgate.domain.acting import ActingAs, IdentityMode
from opsgate.domain.calls import CLUSTER_FAMILIES, Family, ToolAnnotations
from opsgate.settings import JenkinsServer
from opsgate.tools import validate
from opsgate.tools.native.pool import ApiPool


class ToolParams(BaseModel):
    """Base of every tool's parameter model: unknown parameters are rejected.

    Field docstrings become the descriptions in the JSON schema the model reads, in every
    family, so a parameter the model cannot read about is a missing docstring, not a setting.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class ClusterParams(ToolParams):
    """A tool that talks to a Kubernetes cluster names the kubeconfig context it runs against."""

    context: validate.ContextName | None = None
    """Kubeconfig context; the engine fills it in. Defaults to the server's configured one."""


class NamespacedParams(ClusterParams):
    """A cluster tool that works inside one namespace."""

    namespace: validate.Namespace | None = None
    """Namespace; defaults to the context's namespace."""


@dataclass(frozen=True)
class CommandResult:
    """What one subprocess did, with output already capped and redacted."""

    argv: tuple[str, ...]
    """The argv as run, with secret values masked."""
    exit_code: int
    stdout: str
    stderr: str
    duration_ms: int
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    stdout_size: int = 0
    """Size in bytes of the whole stdout before capping."""
    stderr_size: int = 0
    timed_out: bool = False


class CommandRunner(Protocol):
    """Runs one argv without a shell. The real one uses `create_subprocess_exec`.

    `stdout_cap_bytes` replaces the runner's own cap on stdout for one call, for output a tool
    reads whole to work out what it shows (a release's manifest it diffs), never for output
    shown as it is.
    """

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdout_cap_bytes: int | None = None,
    ) -> CommandResult: ...


@dataclass(frozen=True)
class ToolOutput:
    """What a tool returns: redacted, capped text plus optional structured data."""

    ok: bool
    text: str
    exit_code: int | None = None
    truncated: bool = False
    duration_ms: int = 0
    command: str | None = None
    """The command as run, secrets masked, for display."""
    data: Any = None


VerifyVerdict = Literal["verified", "failed", "not_verified"]
"""What a verify recipe concluded: the intent was checked and holds, was checked and does not
hold, or could not be checked (a read-back only; the outcome is then "not verified")."""


class RollbackCall(BaseModel):
    """A call that would undo a change, offered after its verification failed (gated again)."""

    model_config = ConfigDict(frozen=True)

    tool: str
    args: dict[str, Any]


class Verification(BaseModel):
    """What a verify recipe found; carried in `ToolOutput.data` of its result.

    `summary` is one line naming the concrete reason ("pod api-7f9c: CreateContainerConfigError:
    secret \"api-db\" not found"); `details` are the evidence read from the cluster (failing
    pods, container states, recent warning events); `next_step` says what a person could do.
    """

    model_config = ConfigDict(frozen=True)

    verdict: VerifyVerdict
    summary: str
    details: list[str] = []
    next_step: str | None = None
    rollback: RollbackCall | None = None
    proves: str | None = None
    """What this check proves (the tool's `verifies`), filled in by the tool server."""


class Snapshot(BaseModel):
    """What a mutation's targets were just before it ran, and the call that returns to it.

    Built by the tool's `undo` planner (declared with `define`), carried in `ToolOutput.data`
    of the `opsgate_snapshot` recipe. `objects` are read through the runner, so redacted: a
    Secret keeps its keys, never a value. Exactly one of `undo` and `cannot_undo` is set.
    """

    model_config = ConfigDict(frozen=True)

    objects: list[dict[str, Any]] = []
    """The targeted objects as they were (kubectl), or the release's or rollout's state."""
    undo: RollbackCall | None = None
    """The typed call restoring `objects` (a mutation: it is gated like any other)."""
    cannot_undo: str | None = None
    """Why no call can restore them (a deleted PVC's data, a build that ran, a Secret)."""


PreviewState = Literal["changes", "no_change", "failed"]
"""What a preview found: the call would change something, nothing, or the dry run failed."""


class DocumentPreview(BaseModel):
    """How one document of a multi-document manifest previewed (`k8s_apply`)."""

    model_config = ConfigDict(frozen=True)

    index: int
    """1 for the first document of the manifest."""
    name: str
    """`Kind/name`, e.g. `Pod/web`."""
    state: PreviewState


class PreviewReport(BaseModel):
    """How a preview turned out; carried in `ToolOutput.data` of its result."""

    model_config = ConfigDict(frozen=True)

    state: PreviewState
    command: str | None = None
    """The exact command the approved call will run, for display (secrets masked)."""
    documents: list[DocumentPreview] = []
    """Per document, for a manifest previewed document by document; any failed one makes
    `state` failed."""
    labels: dict[str, str] | None = None
    """The target object's labels as the preview read them (the approval policy matches on
    them); None when the preview read no single object."""


Progress = Callable[[str], Awaitable[None]]
"""Reports how a long call is getting on, in one line of plain text (never command output)."""


async def no_progress(text: str) -> None:
    """The `ToolEnv.report` of a run nobody follows."""


class JenkinsServers(Protocol):
    """The Jenkins servers tools may name, looked up when a call runs (not at start-up).

    The tool servers pass `opsgate.store.jenkins_directory.JenkinsDirectory`: the servers an
    admin added through the API (in the database) plus those from settings, so a server added
    while opsgate runs is usable at once. `ConfiguredJenkins` is a fixed set.
    """

    async def lookup(self, name: str) -> JenkinsServer | None:
        """The server called `name`, with its credentials; None if there is none."""
        ...

    async def names(self) -> list[str]:
        """Every name `lookup` would find, sorted (for messages listing the choices)."""
        ...


@dataclass(frozen=True)
class ConfiguredJenkins:
    """A fixed set of Jenkins servers by name, with no database behind it."""

    servers: Mapping[str, JenkinsServer] = field(default_factory=dict)

    async def lookup(self, name: str) -> JenkinsServer | None:
        return self.servers.get(name)

    async def names(self) -> list[str]:
        return sorted(self.servers)


@dataclass(frozen=True)
class ToolEnv:
    """Dependencies every tool run receives; built once by the MCP server."""

    runner: CommandRunner
    kubectl: Path
    helm: Path
    kubeconfig: Path | None = None
    default_context: str | None = None
    command_timeout_s: float = 60.0
    verify_timeout_s: float = 90.0
    """How long a verify waits for a rollout to complete; below the engine's own bound on a
    verify, so the tool reports what it saw rather than being cut off."""
    output_cap_bytes: int = 64 * 1024
    jenkins: JenkinsServers = field(default_factory=ConfiguredJenkins)
    """The Jenkins servers tools may name; resolved per call."""
    http_transport: httpx.AsyncBaseTransport | None = None
    """Injected by tests; the real transport otherwise."""
    helm_home: Path | None = None
    """Where helm keeps its cache, config and repositories (HELM_*_HOME), never `$HOME`."""
    cluster_identity: Mapping[str, IdentityMode] = field(default_factory=dict)
    """Context -> whose identity its calls use (`domain.acting`); `service` when absent."""
    acting_as: ActingAs | None = None
    """The person this call acts as under impersonation; set per call by the MCP server from
    the request's `_meta`, never from the call's arguments."""
    report: Progress = no_progress
    api: ApiPool | None = None
    """The pooled API connections the native read path uses instead of spawning kubectl
    (`Settings.native_reads`); None runs kubectl for every read."""
    """Where a tool that waits (a rollout, a build) says how it is getting on; set per call
    by the MCP server, which sends it to the client as progress notifications."""


ToolFn = Callable[[Any, ToolEnv], Awaitable[ToolOutput]]

CommandFn = Callable[[Any, ToolEnv], Awaitable[str]]
"""Renders the exact command a call would run, for people to read: secret values masked,
private temp files named by a placeholder. May read (argo plans its patches from the object)."""


@dataclass(frozen=True)
class Tool:
    """One typed tool: its parameters, MCP annotations, and what running it means."""

    name: str
    family: Family
    description: str
    params: type[ToolParams]
    annotations: ToolAnnotations
    run: ToolFn
    preview: ToolFn | None = None
    """A dry run showing what the mutation would change (server-side diff where possible)."""
    verify: ToolFn | None = None
    """A check, run after the mutation, that it had the intended effect."""
    verifies: str | None = None
    """What `verify` proves, in one line (shown beside its verdict); set on every mutating
    tool, None for reads."""
    read_only_when: Callable[[Any], bool] | None = None
    """For tools whose nature depends on arguments (k8s_exec): True if this call only reads."""
    command: CommandFn | None = None
    """The exact command an approved call will run, for the approval card."""
    snapshot: ToolFn | None = None
    """For a mutation, reads its targets before it runs; the result's data is a `Snapshot`."""

    @property
    def reaches_cluster(self) -> bool:
        """Whether calls go to the cluster a kubeconfig context names (its `context` param);
        approvals of its changes are bound to that cluster's identity."""
        return self.family in CLUSTER_FAMILIES and "context" in self.params.model_fields

    def input_schema(self) -> dict[str, Any]:
        return self.params.model_json_schema()

    def parse(self, args: Mapping[str, Any]) -> ToolParams:
        """Validate raw arguments into the parameter model (raises pydantic.ValidationError)."""
        return self.params.model_validate(dict(args))

    def is_read_only(self, params: ToolParams) -> bool:
        """Read-only only if annotated so, or if the per-call rule says so. Fails closed."""
        if self.read_only_when is not None:
            return self.read_only_when(params)
        return self.annotations.read_only
