"""The cluster state the analyzers read: every object of the kinds they need, read once.

Called by `tool.k8s_diagnose`. Each kind is one `kubectl get -o json` (run concurrently), so a
kind this identity may not list, or a kind the cluster does not serve (Argo's Rollout), is
recorded as such instead of failing the whole diagnosis; the analyzers that need it are then
reported as not checked. Helm releases come from `helm list`; the last log lines of crashing
containers from `kubectl logs --previous`. Everything passes through the runner, so output is
capped and redacted like any tool's.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from opsgate.errors import truncate
from opsgate.tools.base import ToolEnv
from opsgate.tools.command import WHOLE_OUTPUT_BYTES, Target, namespace_args, run_argv

Obj = dict[str, Any]

NAMESPACED_KINDS = (
    "pods",
    "replicasets",
    "deployments",
    "statefulsets",
    "services",
    "endpoints",
    "ingresses",
    "persistentvolumeclaims",
    "horizontalpodautoscalers",
    "events",
    "rollouts.argoproj.io",
)
CLUSTER_KINDS = ("nodes",)

LOG_LINES = 5
"""Last lines quoted from a crashing container's previous run."""
MAX_LOGS = 6
"""At most this many containers' logs are read per diagnosis (one kubectl each)."""

NOT_SERVED = "the server doesn't have a resource type"


@dataclass
class ClusterState:
    """What was read, by kind, and why any kind could not be."""

    objects: dict[str, list[Obj]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    """kind -> the error that kept it from being read (forbidden, timed out)."""
    not_served: set[str] = field(default_factory=set)
    """Kinds the cluster does not serve (no CRD): nothing to check, not a gap."""
    releases: list[Obj] | None = None
    """Helm releases (`helm list -o json`); None when they could not be read."""
    release_error: str | None = None
    logs: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    """(namespace, pod, container) -> the last lines of its previous run."""

    def of(self, kind: str) -> list[Obj]:
        return self.objects.get(kind, [])

    def events_for(self, kind: str, namespace: str | None, name: str) -> list[Obj]:
        """Events about one object, newest last."""
        found = [
            e
            for e in self.of("events")
            if e.get("involvedObject", {}).get("kind") == kind
            and e.get("involvedObject", {}).get("name") == name
            and (namespace is None or e.get("metadata", {}).get("namespace") == namespace)
        ]
        return sorted(found, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


async def _read_kind(
    env: ToolEnv, target: Target, kind: str, scope: list[str], state: ClusterState
) -> None:
    # Read whole: the objects are digested, never shown, so the display cap does not apply.
    argv = [*target.head(), "get", kind, *scope, "--output", "json"]
    output = await run_argv(env, argv, stdout_cap_bytes=WHOLE_OUTPUT_BYTES)
    if not output.ok:
        if NOT_SERVED in output.text:
            state.not_served.add(kind)
        else:
            state.unreadable[kind] = truncate(output.text.strip(), 300)
        return
    try:
        state.objects[kind] = list(json.loads(output.text).get("items", []))
    except ValueError:
        state.unreadable[kind] = "kubectl's output was not JSON (cut short or an error)"


async def _read_releases(
    env: ToolEnv, context: str | None, scope: list[str], state: ClusterState
) -> None:
    head = Target.of(env, "helm", context).head()
    argv = [*head, "list", *scope, "--deployed", "--failed", "--pending", "--output", "json"]
    output = await run_argv(env, argv, binary="helm", stdout_cap_bytes=WHOLE_OUTPUT_BYTES)
    if not output.ok:
        state.release_error = truncate(output.text.strip(), 300)
        return
    try:
        state.releases = list(json.loads(output.text or "[]"))
    except ValueError:
        state.release_error = "helm's output was not JSON (cut short or an error)"


async def read_state(
    env: ToolEnv, context: str | None, namespace: str | None, *, all_namespaces: bool = False
) -> ClusterState:
    """Every kind the analyzers need, in `namespace` (None: the context's), or everywhere."""
    state = ClusterState()
    target = Target.of(env, "kubectl", context)
    scope = namespace_args(namespace, all_namespaces=all_namespaces)
    await asyncio.gather(
        *(_read_kind(env, target, kind, scope, state) for kind in NAMESPACED_KINDS),
        *(_read_kind(env, target, kind, [], state) for kind in CLUSTER_KINDS),
        _read_releases(env, context, scope, state),
    )
    await _read_crash_logs(env, target, state)
    return state


def crashing_containers(state: ClusterState) -> list[tuple[str, str, str]]:
    """(namespace, pod, container) of every container that has restarted after a crash."""
    found = []
    for pod in state.of("pods"):
        meta = pod.get("metadata", {})
        for status in pod.get("status", {}).get("containerStatuses") or []:
            terminated = (status.get("lastState") or {}).get("terminated")
            if terminated and terminated.get("reason") != "Completed":
                found.append((meta.get("namespace", ""), meta.get("name", ""), status["name"]))
    return found


async def _read_crash_logs(env: ToolEnv, target: Target, state: ClusterState) -> None:
    async def read(key: tuple[str, str, str]) -> None:
        namespace, pod, container = key
        argv = [
            *target.head(),
            "logs",
            pod,
            "--container",
            container,
            "--previous",
            "--tail",
            str(LOG_LINES),
            *namespace_args(namespace),
        ]
        output = await run_argv(env, argv)
        if output.ok:
            state.logs[key] = [line for line in output.text.splitlines() if line.strip()]

    await asyncio.gather(*(read(key) for key in crashing_containers(state)[:MAX_LOGS]))
