"""Why a pod is not running: its containers' states and the latest Warning events about it.

Used by the verify recipes that wait for new pods (`rollout.py` for workloads, kubectl's
`k8s_run_pod`, argo's canaries). A container waiting for a reason that will not resolve by
itself (a missing Secret, an image that cannot be pulled, a crash loop after a restart) makes
the pod `fatal`, so a verify can fail at once with the concrete reason instead of waiting for
its whole timeout. Pure functions over pod JSON, plus one read of events through kubectl.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from opsgate.tools.base import ToolEnv
from opsgate.tools.command import Target, namespace_args, run_argv

FATAL_WAITING_REASONS = frozenset(
    {
        "CreateContainerConfigError",
        "CreateContainerError",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "ErrImageNeverPull",
    }
)
"""Waiting reasons the kubelet keeps retrying without success until someone changes something."""

EVENTS_SHOWN = 3
"""How many of the latest Warning events of a failing pod a verification quotes."""


@dataclass(frozen=True)
class PodProblem:
    """What keeps one pod from running, in words a person can act on."""

    pod: str
    reason: str
    """`CreateContainerConfigError`, `ImagePullBackOff`, `Pending`..."""
    message: str
    fatal: bool
    """True when the reason will not resolve by itself (fail at once)."""

    def line(self) -> str:
        """`pod api-6d9f-x2: CreateContainerConfigError: secret "api-db" not found`."""
        return f"pod {self.pod}: {self.reason}" + (f": {self.message}" if self.message else "")


def _statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def problem(pod: dict[str, Any]) -> PodProblem | None:
    """Why `pod` is not running and ready, or None if it is (or has completed)."""
    name = str(pod.get("metadata", {}).get("name", "?"))
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase == "Succeeded":
        return None
    for container in _statuses(pod):
        waiting = (container.get("state") or {}).get("waiting")
        if not waiting:
            continue
        reason = str(waiting.get("reason") or "Waiting")
        message = str(waiting.get("message") or "")
        restarted = int(container.get("restartCount") or 0) > 0
        fatal = reason in FATAL_WAITING_REASONS or (reason == "CrashLoopBackOff" and restarted)
        if reason == "CrashLoopBackOff" and not message:
            message = _last_exit(container)
        return PodProblem(name, reason, message, fatal)
    if phase == "Failed":
        return PodProblem(name, "Failed", str(status.get("message") or ""), True)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            reason = str(condition.get("reason") or "Unschedulable")
            return PodProblem(name, reason, str(condition.get("message") or ""), False)
    statuses = _statuses(pod)
    if phase == "Running" and statuses and all(c.get("ready") for c in statuses):
        return None
    return PodProblem(name, str(phase or "Pending"), "not ready yet", False)


def _last_exit(container: dict[str, Any]) -> str:
    terminated = (container.get("lastState") or {}).get("terminated") or {}
    if not terminated:
        return ""
    return f"last exit code {terminated.get('exitCode')} ({terminated.get('reason', 'Error')})"


def events_argv(target: Target, pod: str, namespace: str | None) -> list[str]:
    return [
        *target.head(),
        "get",
        "events",
        *namespace_args(namespace),
        "--field-selector",
        f"involvedObject.kind=Pod,involvedObject.name={pod},type=Warning",
        "--output=json",
    ]


async def warnings(env: ToolEnv, target: Target, pod: str, namespace: str | None) -> list[str]:
    """The latest Warning events about a pod, oldest first, as `Reason: message` lines; none if
    events cannot be read (they only add to a reason already found)."""
    output = await run_argv(env, events_argv(target, pod, namespace))
    if not output.ok:
        return []
    try:
        items = json.loads(output.text).get("items") or []
    except (ValueError, AttributeError):
        return []

    def when(event: dict[str, Any]) -> str:
        return str(event.get("lastTimestamp") or event.get("eventTime") or "")

    latest = sorted(items, key=when)[-EVENTS_SHOWN:]
    return [f"Warning {e.get('reason')}: {e.get('message')}" for e in latest]


async def explain(
    env: ToolEnv, target: Target, found: PodProblem, namespace: str | None
) -> list[str]:
    """The evidence for one failing pod: its state, then its latest warnings."""
    return [
        found.line(),
        *(f"  {line}" for line in await warnings(env, target, found.pod, namespace)),
    ]
