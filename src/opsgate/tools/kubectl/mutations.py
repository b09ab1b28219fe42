"""The kubectl mutating tools, their pure argv builders, and their annotations.

Collected into `opsgate.tools.kubectl.TOOLS`; the engine pauses each call for approval. The
preview and verify recipes they carry live in `previews.py`, `verifies.py` and `apply.py`.
Each builder's docstring is the tool description the model reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

import yaml

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import Tool
from opsgate.tools.command import Argv, Target, namespace_args
from opsgate.tools.define import define
from opsgate.tools.kubectl import apply, exec_policy, jobs, previews, undo, verifies
from opsgate.tools.kubectl import params as p

DELETE_TIMEOUT_S = 60
"""How long `kubectl delete` waits for the objects to be gone (its own `--timeout`)."""


def _object(params: p.ObjectParams | p.DeleteParams) -> list[str]:
    return [params.resource] if params.name is None else [params.resource, params.name]


def _workload(params: p.RolloutRefParams) -> list[str]:
    return [params.resource]


def k8s_apply(params: p.ApplyParams, target: Target) -> list[str]:
    """Create or update objects (kubectl apply) from a YAML/JSON manifest, or from a
    kustomization (a directory, or its files' content) rendered with `kubectl kustomize`. Set
    `server_side` for server-side apply. The preview shows the server-side diff of each object;
    workloads are verified by waiting for their rollout."""
    argv = [*target.head(), "apply", "--filename", "-", *namespace_args(params.namespace)]
    if params.server_side:
        argv += ["--server-side", "--field-manager=opsgate"]
    if params.force_conflicts:
        argv.append("--force-conflicts")
    return argv


def normalized_patch(text: str) -> str:
    """The patch as compact JSON, whatever notation it came in (already validated)."""
    try:
        body = json.loads(text)
    except ValueError:
        body = yaml.safe_load(text)
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def k8s_patch(params: p.PatchParams, target: Target) -> list[str]:
    """Patch one object (kubectl patch) with a strategic merge patch (default), a JSON merge
    patch, or a JSON Patch list (`patch_type: json`)."""
    return [
        *target.head(),
        "patch",
        *_object(params),
        *namespace_args(params.namespace),
        f"--type={params.patch_type}",
        f"--patch={normalized_patch(params.patch)}",
    ]


def _set_metadata(
    verb: Literal["label", "annotate"],
    params: p.LabelParams | p.AnnotateParams,
    entries: Mapping[str, str | None],
    target: Target,
) -> list[str]:
    """kubectl label/annotate on one object: `key=value` sets, `key-` removes (value null)."""
    pairs = [f"{key}-" if value is None else f"{key}={value}" for key, value in entries.items()]
    argv = [*target.head(), verb, *_object(params), *namespace_args(params.namespace), *pairs]
    return [*argv, "--overwrite"] if params.overwrite else argv


def k8s_label(params: p.LabelParams, target: Target) -> list[str]:
    """Add, change (with `overwrite`) or remove (value null) labels on one object."""
    return _set_metadata("label", params, params.labels, target)


def k8s_annotate(params: p.AnnotateParams, target: Target) -> list[str]:
    """Add, change (with `overwrite`) or remove (value null) annotations on one object."""
    return _set_metadata("annotate", params, params.annotations, target)


def k8s_set_image(params: p.SetImageParams, target: Target) -> list[str]:
    """Change container images of a workload (kubectl set image), which starts a rollout;
    verified by waiting for it."""
    pairs = [f"{container}={image}" for container, image in params.images.items()]
    return [
        *target.head(),
        "set",
        "image",
        params.resource,
        *namespace_args(params.namespace),
        *pairs,
    ]


def k8s_scale(params: p.ScaleParams, target: Target) -> list[str]:
    """Set the replica count of a deployment, statefulset or replicaset (kubectl scale);
    verified by waiting for the rollout."""
    return [
        *target.head(),
        "scale",
        params.resource,
        *namespace_args(params.namespace),
        f"--replicas={params.replicas}",
    ]


def k8s_rollout_restart(params: p.RolloutRefParams, target: Target) -> list[str]:
    """Restart a workload's pods with a rolling update (kubectl rollout restart); verified by
    waiting for the rollout."""
    return [
        *target.head(),
        "rollout",
        "restart",
        params.resource,
        *namespace_args(params.namespace),
    ]


def k8s_rollout_undo(params: p.RolloutUndoParams, target: Target) -> list[str]:
    """Roll a workload back to its previous revision, or to `to_revision` (kubectl rollout
    undo); verified by waiting for the rollout."""
    argv = [*target.head(), "rollout", "undo", params.resource, *namespace_args(params.namespace)]
    if params.to_revision is not None:
        argv.append(f"--to-revision={params.to_revision}")
    return argv


def k8s_delete(params: p.DeleteParams, target: Target) -> list[str]:
    """Delete one object, or every object matching a label selector (kubectl delete).
    Destructive: give the reason."""
    argv = [*target.head(), "delete", *_object(params), *namespace_args(params.namespace)]
    if params.selector is not None:
        argv += ["--selector", params.selector]
    if params.grace_period_s is not None:
        argv.append(f"--grace-period={params.grace_period_s}")
    return [*argv, f"--timeout={DELETE_TIMEOUT_S}s"]


def k8s_cordon(params: p.NodeParams, target: Target) -> list[str]:
    """Mark a node unschedulable so no new pods land on it (kubectl cordon)."""
    return [*target.head(), "cordon", params.node]


def k8s_uncordon(params: p.NodeParams, target: Target) -> list[str]:
    """Mark a node schedulable again (kubectl uncordon)."""
    return [*target.head(), "uncordon", params.node]


def k8s_drain(params: p.DrainParams, target: Target) -> list[str]:
    """Cordon a node and evict its pods, respecting disruption budgets (kubectl drain).
    Destructive: give the reason."""
    argv = [*target.head(), "drain", params.node, f"--timeout={params.timeout_s}s"]
    if params.ignore_daemonsets:
        argv.append("--ignore-daemonsets")
    if params.delete_emptydir_data:
        argv.append("--delete-emptydir-data")
    if params.grace_period_s is not None:
        argv.append(f"--grace-period={params.grace_period_s}")
    return argv


def k8s_run_pod(params: p.RunPodParams, target: Target) -> list[str]:
    """Start a single pod from an image (kubectl run), e.g. a debugging pod; `command`
    replaces the image's entrypoint."""
    argv = [
        *target.head(),
        "run",
        params.name,
        f"--image={params.image}",
        *namespace_args(params.namespace),
        f"--restart={params.restart}",
    ]
    if params.labels:
        argv.append("--labels=" + ",".join(f"{k}={v}" for k, v in params.labels.items()))
    if params.command:
        argv += ["--command", "--", *params.command]
    return argv


def k8s_create_job_from_cronjob(params: p.CreateJobParams, target: Target) -> list[str]:
    """Run a CronJob's job now, outside its schedule (kubectl create job --from=cronjob/...):
    creates a Job named `name` from the CronJob's template; verified by waiting for it to
    complete."""
    return [
        *target.head(),
        "create",
        "job",
        params.name,
        f"--from=cronjob/{params.cronjob}",
        *namespace_args(params.namespace),
    ]


def k8s_exec(params: p.ExecParams, target: Target) -> list[str]:
    """Run a program in a container (kubectl exec), `command` as an argv list with no shell.
    Inspecting commands (cat, ls, ps, df...) that read no environment, secret path or network
    run without approval; anything else waits."""
    argv = [*target.head(), "exec", params.pod, *namespace_args(params.namespace)]
    if params.container is not None:
        argv += ["--container", params.container]
    return [*argv, "--", *params.command]


def _exec_reads_only(params: p.ExecParams) -> bool:
    return exec_policy.exec_is_read_only(params.command)


_ROLLS_OUT = (
    "waits (bounded) for the workload's rollout: every replica of the new revision updated, "
    "available and ready; a failing new pod fails it at once with its reason"
)
_ROLLS_OUT_OR_READ_BACK = f"{_ROLLS_OUT}; any other kind is only read back (not verified)"

# openWorldHint: true where the change reaches past the cluster's own state (image pulls from
# registries, arbitrary programs inside containers); false where it only edits cluster objects.
TOOLS: list[Tool] = [
    define(
        "kubectl",
        apply.AllOrNothing(k8s_apply, stdin="manifest"),
        p.ApplyParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
        preview=apply.preview_documents,
        verify=verifies.verify_apply,
        verifies=(
            "reads every object back and waits (bounded) for the rollout of each Deployment, "
            "StatefulSet and DaemonSet in it; with no workload, not verified"
        ),
        undo=undo.applied(k8s_apply),
    ),
    define(
        "kubectl",
        Argv(k8s_patch),
        p.PatchParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=False),
        preview=previews.diff_preview(k8s_patch, _object),
        verify=verifies.verify_template_change,
        verifies=_ROLLS_OUT_OR_READ_BACK,
        undo=undo.object_change(k8s_patch),
    ),
    define(
        "kubectl",
        Argv(k8s_label),
        p.LabelParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
        preview=previews.diff_preview(k8s_label, _object),
        verify=verifies.verify_metadata,
        verifies="reads the labels back; what selects the object is not checked (not verified)",
        undo=undo.object_change(k8s_label),
    ),
    define(
        "kubectl",
        Argv(k8s_annotate),
        p.AnnotateParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
        preview=previews.diff_preview(k8s_annotate, _object),
        verify=verifies.verify_metadata,
        verifies="reads the annotations back; what reads them is not checked (not verified)",
        undo=undo.object_change(k8s_annotate),
    ),
    define(
        "kubectl",
        Argv(k8s_set_image),
        p.SetImageParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
        preview=previews.diff_preview(k8s_set_image, _workload),
        verify=verifies.verify_template_change,
        verifies=_ROLLS_OUT_OR_READ_BACK,
        undo=undo.object_change(k8s_set_image),
    ),
    define(
        "kubectl",
        Argv(k8s_scale),
        p.ScaleParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
        preview=previews.diff_preview(k8s_scale, _workload, via=previews.scale_as_patch_argv),
        verify=verifies.verify_rollout,
        verifies=_ROLLS_OUT_OR_READ_BACK,
        undo=undo.object_change(k8s_scale, via=previews.scale_as_patch_argv),
    ),
    define(
        "kubectl",
        Argv(k8s_rollout_restart),
        p.RolloutRefParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=False),
        preview=previews.diff_preview(
            k8s_rollout_restart, _workload, via=previews.restart_as_patch_argv
        ),
        verify=verifies.verify_rollout,
        verifies=_ROLLS_OUT,
    ),
    define(
        "kubectl",
        Argv(k8s_rollout_undo),
        p.RolloutUndoParams,
        ToolAnnotations(read_only=False, destructive=True, idempotent=False, open_world=False),
        preview=previews.dry_run(k8s_rollout_undo),
        verify=verifies.verify_rollout,
        verifies=_ROLLS_OUT,
    ),
    define(
        "kubectl",
        Argv(k8s_delete, timeout=lambda _params: DELETE_TIMEOUT_S),
        p.DeleteParams,
        ToolAnnotations(read_only=False, destructive=True, idempotent=True, open_world=False),
        preview=previews.dry_run(k8s_delete),
        verify=verifies.verify_deleted,
        verifies="checks that nothing matching remains (objects still terminating fail it)",
        undo=undo.undo_delete,
    ),
    define(
        "kubectl",
        Argv(k8s_cordon),
        p.NodeParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
        preview=previews.dry_run(k8s_cordon),
        verify=verifies.verify_cordon,
        verifies="reads the node back: it must be unschedulable",
    ),
    define(
        "kubectl",
        Argv(k8s_uncordon),
        p.NodeParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
        preview=previews.dry_run(k8s_uncordon),
        verify=verifies.verify_uncordon,
        verifies="reads the node back: it must be schedulable",
    ),
    define(
        "kubectl",
        Argv(k8s_drain),
        p.DrainParams,
        ToolAnnotations(read_only=False, destructive=True, idempotent=True, open_world=False),
        preview=previews.dry_run(k8s_drain),
        verify=verifies.verify_drained,
        verifies="reads the node back cordoned, with only DaemonSet, mirror or finished pods on it",
    ),
    define(
        "kubectl",
        Argv(k8s_run_pod),
        p.RunPodParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
        preview=previews.dry_run(k8s_run_pod, output="yaml"),
        verify=verifies.verify_pod_started,
        verifies=(
            "waits (bounded) until the pod runs and is ready, or completes; an image or "
            "configuration error fails it at once"
        ),
    ),
    define(
        "kubectl",
        Argv(k8s_create_job_from_cronjob),
        p.CreateJobParams,
        # A new Job (and its pods) each time; the second call with the same name fails.
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
        preview=previews.dry_run(k8s_create_job_from_cronjob, output="yaml"),
        verify=jobs.verify_job_completed,
        verifies=(
            "waits (bounded) for the Job to complete; a failed Job or a pod that cannot start "
            "fails it at once with its reason"
        ),
    ),
    define(
        "kubectl",
        Argv(k8s_exec),
        p.ExecParams,
        ToolAnnotations(read_only=False, destructive=True, idempotent=False, open_world=True),
        preview=previews.exec_preview,
        verify=verifies.exec_not_checked,
        verifies="nothing: the command's exit code is the only outcome (not verified)",
        read_only_when=_exec_reads_only,
    ),
]
