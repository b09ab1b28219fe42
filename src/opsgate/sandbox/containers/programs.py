"""What a container's main process does once started: serve, finish, crash, or be OOM-killed.

Called by `states` (the container's state and restarts) and `logs` (what it printed). The
rules, first match wins:

- the pod is annotated `sandbox.opsgate.dev/behavior: CrashLoopBackOff`: exits 1 at once;
- its memory need exceeds its memory limit: killed by the kernel (`OOMKilled`, exit 137). The
  need is the pod annotation `sandbox.opsgate.dev/memory-need` (a quantity), else a `stress
  --vm-bytes N` argument (the Kubernetes docs' memory task), else the image's profile;
- a known image that needs one of some variables (`postgres`: `POSTGRES_PASSWORD`) set none of
  them: prints the image's own error and exits 1;
- its command ends in `exit N` with N > 0 (`sh -c "exit 1"`): exits N;
- it is not restarted after a clean exit (`restartPolicy` Never or OnFailure) and its command
  is a one-shot script of the exec vocabulary (`oneshot`): prints its output, exits with its
  status;
- it belongs to a Job: runs to completion (exit 0);
- anything else runs until stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from opsgate.sandbox.apiserver import quantity
from opsgate.sandbox.apiserver.store import Obj, Store
from opsgate.sandbox.containers import images, oneshot, references

BEHAVIOR_ANNOTATION = "sandbox.opsgate.dev/behavior"
MEMORY_ANNOTATION = "sandbox.opsgate.dev/memory-need"
Fate = Literal["serve", "crash", "complete"]
CRASH_LINES = (
    "Starting shop api v2.3.1",
    "Loading configuration from environment",
    "Error: required environment variable DATABASE_URL is not set",
    "exiting with status 1",
)
"""What the demo's crash-looping `api` prints each time it starts."""
_EXIT = re.compile(r"(?:^|[;&|\s])exit\s+(\d+)\s*$")


@dataclass(frozen=True)
class Outcome:
    """How a container's run ends (`serve`: it does not), and what it prints before."""

    fate: Fate
    exit_code: int = 0
    reason: Literal["Completed", "Error", "OOMKilled"] = "Completed"
    lines: tuple[str, ...] = ()


def _command(container: Obj) -> list[str]:
    return [str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]


def memory_need(pod: Obj, container: Obj) -> Fraction:
    """The bytes a container's process uses once running (see the module rules)."""
    annotated = (pod["metadata"].get("annotations") or {}).get(MEMORY_ANNOTATION)
    argv = _command(container)
    if annotated is None and "--vm-bytes" in argv[:-1]:
        raw = argv[argv.index("--vm-bytes") + 1].upper().removesuffix("B")
        # stress counts in binary units: its `250M` is 250Mi.
        annotated = raw + "i" if raw[-1:] in ("K", "M", "G") else raw
    if annotated is not None:
        try:
            return quantity.parse(annotated)
        except quantity.QuantityError:
            pass
    return Fraction(images.profile(container.get("image", "")).memory_mi * 1024 * 1024)


def _memory_limit(container: Obj) -> Fraction | None:
    limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    try:
        return None if limit is None else quantity.parse(limit)
    except quantity.QuantityError:
        return None


def env_names(store: Store, namespace: str, container: Obj) -> set[str]:
    """The variable names a container starts with (literal, referenced and `envFrom` ones)."""
    names = {
        str(v.get("name"))
        for v in container.get("env") or []
        if v.get("value") or v.get("valueFrom")
    }
    for source in container.get("envFrom") or []:
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = source.get(field)
            if ref is not None:
                keys = references.keys_of(store, kind, namespace, ref.get("name", "")) or set()
                names |= {source.get("prefix", "") + k for k in keys}
    return names


def outcome(store: Store, pod: Obj, container: Obj) -> Outcome:
    """How this container's run ends."""
    meta = pod["metadata"]
    if (meta.get("annotations") or {}).get(BEHAVIOR_ANNOTATION) == "CrashLoopBackOff":
        return Outcome("crash", 1, "Error", CRASH_LINES)
    limit = _memory_limit(container)
    if limit is not None and memory_need(pod, container) > limit:
        return Outcome("crash", 137, "OOMKilled")
    profile = images.profile(container.get("image", ""))
    if profile.required_env and not (
        set(profile.required_env) & env_names(store, meta.get("namespace", ""), container)
    ):
        return Outcome("crash", 1, "Error", profile.missing_env)
    exited = _EXIT.search(" ".join(_command(container)))
    if exited and int(exited.group(1)) > 0:
        return Outcome("crash", int(exited.group(1)), "Error")
    if pod.get("spec", {}).get("restartPolicy") in ("Never", "OnFailure"):
        ran = oneshot.run(store, pod, container)
        if ran is not None:
            lines = tuple((ran.stdout + ran.stderr).splitlines())
            if ran.code == 0:
                return Outcome("complete", lines=lines)
            return Outcome("crash", ran.code, "Error", lines)
    if any(ref.get("kind") == "Job" for ref in meta.get("ownerReferences") or []):
        return Outcome("complete")
    return Outcome("serve", lines=profile.startup)
