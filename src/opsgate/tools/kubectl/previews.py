"""Preview recipes of the kubectl mutations: what a call would change, and nothing changes.

Attached to the mutating tools in `mutations.py`; the engine runs `preview` when it asks for
approval. Each is a server-side dry run (`--dry-run=server`, `kubectl diff`) or a plain read,
never anything the API server persists, and each says how it turned out (`define.previewed`):
`changes`, `no_change` (the dry run says so, or the object would be left as it is) or `failed`
(the dry run errored: NotFound, admission, an invalid manifest).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import yaml

from opsgate.tools.base import PreviewState, ToolEnv, ToolFn, ToolOutput
from opsgate.tools.command import Builder, Target, namespace_args, run_argv
from opsgate.tools.define import previewed
from opsgate.tools.kubectl import params as p

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
"""The pod template annotation `kubectl rollout restart` sets to start new pods."""

_NO_CHANGE_MARKERS = ("(no change)", "already cordoned", "already uncordoned", "skipped rollback")
"""How kubectl's dry runs say a call would leave things as they are."""

_NOISY_FIELDS = ("resourceVersion:", "generation:", "managedFields:", "uid:", "creationTimestamp:")


def _target(env: ToolEnv, context: str | None) -> Target:
    return Target.of(env, "kubectl", context)


def dry_run_argv(
    argv: list[str], output: Literal["yaml", "json", "name"] | None = None
) -> list[str]:
    """`argv` with `--dry-run=server` (and `--output`) added before any `--` separator."""
    flags = ["--dry-run=server"] + ([f"--output={output}"] if output else [])
    if "--" in argv:
        split = argv.index("--")
        return [*argv[:split], *flags, *argv[split:]]
    return [*argv, *flags]


def dry_run_state(output: ToolOutput) -> PreviewState:
    """What a dry run's own report says: failed, nothing to do, or changes."""
    if not output.ok:
        return "failed"
    text = output.text.strip()
    if not text or text.startswith("No resources found"):
        return "no_change"
    lines = [line for line in text.splitlines() if not line.startswith("Warning:")]
    if lines and all(any(mark in line for mark in _NO_CHANGE_MARKERS) for line in lines):
        return "no_change"
    return "changes"


def dry_run(builder: Builder, output: Literal["yaml", "name"] | None = None) -> ToolFn:
    """A preview running the tool's own argv as a server-side dry run."""

    async def preview(params: Any, env: ToolEnv) -> ToolOutput:
        argv = dry_run_argv(builder(params, _target(env, params.context)), output)
        result = await run_argv(env, argv)
        return previewed(result, dry_run_state(result))

    return preview


def object_diff(before: str, after: str, label: str) -> tuple[str, bool]:
    """A unified diff of two YAML renderings of one object, and whether anything changes
    (bookkeeping fields such as `resourceVersion` do not count)."""
    keep = list(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            f"{label} (now)",
            f"{label} (after)",
            n=2,
            lineterm="",
        )
    )
    changed = [
        line
        for line in keep
        if line[:1] in "+-"
        and not line.startswith(("+++", "---"))
        and not line[1:].strip().startswith(_NOISY_FIELDS)
    ]
    return ("\n".join(keep), True) if changed else (f"no changes to {label}", False)


def diff_preview(
    builder: Builder,
    object_of: Callable[[Any], list[str]],
    *,
    via: Builder | None = None,
) -> ToolFn:
    """A preview diffing the object now against the server-side dry run of the call.

    `via` builds the dry-run argv when the tool's own command does not print its result
    (`kubectl scale --dry-run=server` prints the object as it was).
    """

    async def preview(params: Any, env: ToolEnv) -> ToolOutput:
        target = _target(env, params.context)
        namespace = namespace_args(getattr(params, "namespace", None))
        current = await run_argv(
            env, [*target.head(), "get", *object_of(params), *namespace, "--output=yaml"]
        )
        if not current.ok:
            return previewed(current, "failed")
        dry = await run_argv(env, dry_run_argv((via or builder)(params, target), "yaml"))
        if not dry.ok:
            return previewed(dry, "failed")
        text, changed = object_diff(current.text, dry.text, "/".join(object_of(params)))
        output = ToolOutput(ok=True, text=text, command=dry.command)
        return previewed(output, changes(changed), labels_of(current.text))

    return preview


def labels_of(manifest: str) -> dict[str, str] | None:
    """`metadata.labels` of one object's YAML as kubectl printed it; None if unreadable."""
    try:
        found = yaml.safe_load(manifest)
    except yaml.YAMLError:
        return None
    metadata = found.get("metadata") if isinstance(found, dict) else None
    labels = metadata.get("labels", {}) if isinstance(metadata, dict) else None
    if not isinstance(labels, dict):
        return None
    return {str(k): str(v) for k, v in labels.items()}


def changes(changed: bool) -> PreviewState:
    """`changes` if anything would change, else `no_change`."""
    return "changes" if changed else "no_change"


def scale_as_patch_argv(params: p.ScaleParams, target: Target) -> list[str]:
    """The scale expressed as a merge patch, whose dry run prints the scaled object."""
    return [
        *target.head(),
        "patch",
        params.resource,
        *namespace_args(params.namespace),
        "--type=merge",
        f'--patch={{"spec":{{"replicas":{params.replicas}}}}}',
    ]


def restart_as_patch_argv(params: p.RolloutRefParams, target: Target) -> list[str]:
    """The patch `kubectl rollout restart` sends (it has no dry run of its own)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
    return [
        *target.head(),
        "patch",
        params.resource,
        *namespace_args(params.namespace),
        "--type=merge",
        f"--patch={json.dumps(body, separators=(',', ':'))}",
    ]


def diff_argv(params: p.ManifestParams | p.ApplyParams, target: Target) -> list[str]:
    """`kubectl diff` as the apply would send it: a server-side apply diffs as one."""
    argv = [*target.head(), "diff", "--filename", "-", *namespace_args(params.namespace)]
    if isinstance(params, p.ApplyParams) and params.server_side:
        argv += ["--server-side", "--field-manager=opsgate"]
        if params.force_conflicts:
            argv.append("--force-conflicts")
    return argv


def pod_argv(params: p.ExecParams, target: Target) -> list[str]:
    return [*target.head(), "get", "pod", params.pod, *namespace_args(params.namespace)]


async def exec_preview(params: p.ExecParams, env: ToolEnv) -> ToolOutput:
    """Preview of `k8s_exec`: there is no dry run of a program, so the pod is read (a missing
    pod fails the preview) and the card says what will run."""
    pod = await run_argv(env, pod_argv(params, _target(env, params.context)))
    if not pod.ok:
        return previewed(pod, "failed")
    where = f"container {params.container!r} of " if params.container else ""
    text = (
        f"{pod.text}\nexec has no dry run: the command runs in {where}pod {params.pod!r} as "
        "shown; what it changes is not known in advance."
    )
    return previewed(ToolOutput(ok=True, text=text, command=pod.command), "changes")
