"""Benchmark-style tasks on the sandbox: a setup, the ideal fix and a verifier, all kubectl.

Each scenario module (one per family) builds `Task`s and hands them to `run_task`, which
proves the verifier can fail: it runs the setup, requires the verifier to report a problem,
applies the fix, and requires the verifier to pass. Verifiers read the cluster only through
kubectl, as the public tasks' verifier scripts do, and return what is still wrong (empty when
the task is solved).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fixtures.sandbox import SandboxInfo, eventually, kubectl


@dataclass(frozen=True)
class Step:
    """One kubectl invocation (`{ns}` in an argument is the task's namespace), with stdin."""

    args: tuple[str, ...]
    stdin: str | None = None


Verifier = Callable[[SandboxInfo, str], list[str]]
"""(sandbox, namespace) -> what is still wrong; empty when the task is solved."""


@dataclass(frozen=True)
class Task:
    """A setup that leaves the cluster broken, the ideal fix, and the verifier."""

    setup: tuple[Step, ...]
    fix: tuple[Step, ...]
    verify: Verifier
    settle_s: float = 0.0
    """How long the broken state needs to show (a back-off, a first pull) before it is judged."""


def apply(manifest: str) -> Step:
    """`kubectl apply -n {ns} -f -` of a YAML manifest."""
    return Step(("apply", "-n", "{ns}", "-f", "-"), manifest)


def run(*args: str) -> Step:
    return Step(tuple(args))


def _do(sandbox: SandboxInfo, namespace: str, step: Step) -> None:
    args = [a.replace("{ns}", namespace) for a in step.args]
    stdin = step.stdin.replace("{ns}", namespace) if step.stdin else None
    result = kubectl(sandbox, *args, stdin=stdin)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"


def run_task(sandbox: SandboxInfo, namespace: str, task: Task, timeout: float = 15.0) -> None:
    """Set up, see the verifier fail, fix, see it pass (each within `timeout`)."""
    for step in task.setup:
        _do(sandbox, namespace, step)
    broken = eventually(
        lambda: task.verify(sandbox, namespace) or None, timeout, "the verifier fails on setup"
    )
    assert broken, "the verifier must name what is wrong before the fix"
    for step in task.fix:
        _do(sandbox, namespace, step)
    eventually(
        lambda: not task.verify(sandbox, namespace),
        timeout,
        f"the verifier passes after the fix (before it: {broken})",
    )


def jsonpath(sandbox: SandboxInfo, namespace: str, *args: str) -> str:
    """`kubectl get ... -o jsonpath=...` output ('' when the object is missing)."""
    result = kubectl(sandbox, "get", "-n", namespace, *args)
    return result.stdout.strip() if result.returncode == 0 else ""


def get(sandbox: SandboxInfo, namespace: str, *args: str) -> Any:
    """`kubectl get ... -o json`, parsed (None when kubectl fails)."""
    result = kubectl(sandbox, "get", "-n", namespace, *args, "-o", "json")
    return json.loads(result.stdout) if result.returncode == 0 else None


def wait_ready(sandbox: SandboxInfo, namespace: str, selector: str) -> list[str]:
    """The verifier scripts' `kubectl wait --for=condition=Ready pod -l ...`, as problems."""
    result = kubectl(
        sandbox,
        "wait",
        "-n",
        namespace,
        "--for=condition=Ready",
        "pod",
        "-l",
        selector,
        "--timeout=1s",
    )
    return [] if result.returncode == 0 else [f"pods {selector} not Ready: {result.stderr.strip()}"]
