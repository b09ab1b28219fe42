"""The kubectl read tools (`readOnlyHint: true`) and their pure argv builders.

Collected into `opsgate.tools.kubectl.TOOLS`; the engine runs these without approval. Each
builder's docstring is the tool description the model reads.
"""

from __future__ import annotations

import asyncio
import dataclasses

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools import redact
from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from opsgate.tools.command import Argv, Target, namespace_args
from opsgate.tools.define import Function, define
from opsgate.tools.kubectl import params as p
from opsgate.tools.kubectl import wait_for
from opsgate.tools.native import events as native_events
from opsgate.tools.native import get as native_get
from opsgate.tools.native import logs as native_logs
from opsgate.tools.native import top as native_top
from opsgate.tools.native.action import NativeFirst

READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)
"""Reads of the configured cluster: no side effects, a closed world."""


def k8s_get(params: p.GetParams, target: Target) -> list[str]:
    """List or show Kubernetes objects (kubectl get). Filter by name, label or field selector;
    choose the output format (table, wide, yaml, json, name) or a JSONPath template.
    Secret values are always redacted."""
    argv = [*target.head(), "get", params.resource]
    if params.name is not None:
        argv.append(params.name)
    argv += namespace_args(params.namespace, params.all_namespaces)
    if params.selector is not None:
        argv += ["--selector", params.selector]
    if params.field_selector is not None:
        argv += ["--field-selector", params.field_selector]
    if params.jsonpath is not None:
        argv += ["--output", f"jsonpath={params.jsonpath}"]
    elif params.output != "table":
        argv += ["--output", params.output]
    return argv


def _redact_jsonpath(params: p.GetParams, output: ToolOutput) -> ToolOutput:
    if params.jsonpath is None:
        return output
    text = redact.redact_jsonpath_output(
        output.text, resource=params.resource, jsonpath=params.jsonpath
    )
    return dataclasses.replace(output, text=text)


def k8s_describe(params: p.DescribeParams, target: Target) -> list[str]:
    """Describe Kubernetes objects in detail, with their recent events (kubectl describe).
    The first thing to read when a pod or deployment misbehaves."""
    argv = [*target.head(), "describe", params.resource]
    if params.name is not None:
        argv.append(params.name)
    argv += namespace_args(params.namespace)
    if params.selector is not None:
        argv += ["--selector", params.selector]
    return argv


def k8s_logs(params: p.LogsParams, target: Target) -> list[str]:
    """Read a pod's container logs (kubectl logs): the last `tail` lines, optionally only those
    newer than `since`, or the previous crashed instance's logs with `previous`."""
    argv = [*target.head(), "logs", params.pod, *namespace_args(params.namespace)]
    if params.container is not None:
        argv += ["--container", params.container]
    argv.append(f"--tail={params.tail}")
    if params.since is not None:
        argv.append(f"--since={params.since}")
    if params.previous:
        argv.append("--previous")
    if params.timestamps:
        argv.append("--timestamps")
    return argv


def k8s_events(params: p.EventsParams, target: Target) -> list[str]:
    """List recent events (kubectl events), newest last; optionally only about one object or
    only warnings. Explains scheduling failures, image pull errors, crash loops, probe failures."""
    argv = [*target.head(), "events", *namespace_args(params.namespace, params.all_namespaces)]
    if params.for_object is not None:
        argv += ["--for", params.for_object]
    if params.types is not None:
        argv += ["--types", params.types]
    return argv


def k8s_rollout_status(params: p.RolloutStatusParams, target: Target) -> list[str]:
    """Wait (bounded by `timeout_s`) for a deployment, statefulset or daemonset rollout to
    finish and report whether it succeeded (kubectl rollout status)."""
    return [
        *target.head(),
        "rollout",
        "status",
        params.resource,
        *namespace_args(params.namespace),
        "--watch=true",
        f"--timeout={params.timeout_s}s",
    ]


def k8s_rollout_history(params: p.RolloutHistoryParams, target: Target) -> list[str]:
    """Show a workload's rollout revisions (kubectl rollout history), or one revision's
    template in detail."""
    argv = [*target.head(), "rollout", "history", params.resource]
    argv += namespace_args(params.namespace)
    if params.revision is not None:
        argv.append(f"--revision={params.revision}")
    return argv


def k8s_cluster_info(params: p.ClusterInfoParams, target: Target) -> list[str]:
    """Show the control plane and core service addresses of the cluster (kubectl cluster-info)."""
    return [*target.head(), "cluster-info"]


def k8s_contexts(params: p.ContextsParams, target: Target) -> list[str]:
    """List the kubeconfig contexts this server knows (names, clusters, users; no credentials)."""
    return [*target.head(), "config", "get-contexts"]


def k8s_top_pods(params: p.TopPodsParams, target: Target) -> list[str]:
    """Show pods' current CPU and memory usage (kubectl top pod; needs metrics-server)."""
    argv = [*target.head(), "top", "pod", *namespace_args(params.namespace, params.all_namespaces)]
    if params.selector is not None:
        argv += ["--selector", params.selector]
    if params.containers:
        argv.append("--containers")
    return argv


def k8s_top_nodes(params: p.TopNodesParams, target: Target) -> list[str]:
    """Show nodes' current CPU and memory usage (kubectl top node; needs metrics-server)."""
    argv = [*target.head(), "top", "node"]
    if params.selector is not None:
        argv += ["--selector", params.selector]
    return argv


def k8s_api_resources(params: p.ApiResourcesParams, target: Target) -> list[str]:
    """List the resource types the cluster serves, with short names, groups and kinds
    (kubectl api-resources)."""
    argv = [*target.head(), "api-resources"]
    if params.namespaced is not None:
        argv.append(f"--namespaced={str(params.namespaced).lower()}")
    if params.api_group is not None:
        argv.append(f"--api-group={params.api_group}")
    return argv


def k8s_auth_can_i(params: p.AuthCanIParams, target: Target) -> list[str]:
    """Check whether the current credentials, or a user, ServiceAccount or group given in `as`
    and `as_groups`, may perform a verb on a resource (kubectl auth can-i; answers yes or no),
    or list everything they may do in a namespace (`list_all`)."""
    question = ["--list"] if params.list_all else [str(params.verb), str(params.resource)]
    argv = [*target.head(), "auth", "can-i", *question]
    argv += namespace_args(params.namespace, params.all_namespaces)
    if params.subresource is not None:
        argv.append(f"--subresource={params.subresource}")
    if params.as_user is not None:
        argv.append(f"--as={params.as_user}")
    argv += [f"--as-group={group}" for group in params.as_groups]
    return argv


def k8s_diff(params: p.DiffParams, target: Target) -> list[str]:
    """Show what applying a manifest would change, computed by a server-side dry run
    (kubectl diff). Changes nothing. Exit code 1 only means there are differences."""
    return [*target.head(), "diff", "--filename", "-", *namespace_args(params.namespace)]


async def k8s_wait_seconds(params: p.WaitParams, env: ToolEnv) -> ToolOutput:
    """Pause for a number of seconds (at most 300) before the next step, e.g. to let a rollout
    progress before checking it again. Touches nothing."""
    await asyncio.sleep(params.seconds)
    return ToolOutput(ok=True, text=f"waited {params.seconds} s")


TOOLS: list[Tool] = [
    define(
        "kubectl",
        NativeFirst(Argv(k8s_get, post=_redact_jsonpath), native_get.k8s_get),
        p.GetParams,
        READ,
    ),
    define("kubectl", Argv(k8s_describe), p.DescribeParams, READ),
    define("kubectl", NativeFirst(Argv(k8s_logs), native_logs.k8s_logs), p.LogsParams, READ),
    define(
        "kubectl", NativeFirst(Argv(k8s_events), native_events.k8s_events), p.EventsParams, READ
    ),
    define("kubectl", Argv(k8s_rollout_status), p.RolloutStatusParams, READ),
    define("kubectl", Argv(k8s_rollout_history), p.RolloutHistoryParams, READ),
    define("kubectl", Argv(k8s_cluster_info), p.ClusterInfoParams, READ),
    define("kubectl", Argv(k8s_contexts), p.ContextsParams, READ),
    define(
        "kubectl", NativeFirst(Argv(k8s_top_pods), native_top.k8s_top_pods), p.TopPodsParams, READ
    ),
    define(
        "kubectl",
        NativeFirst(Argv(k8s_top_nodes), native_top.k8s_top_nodes),
        p.TopNodesParams,
        READ,
    ),
    define("kubectl", Argv(k8s_api_resources), p.ApiResourcesParams, READ),
    define("kubectl", Argv(k8s_auth_can_i, ok_exit_codes=(0, 1)), p.AuthCanIParams, READ),
    define("kubectl", Argv(k8s_diff, stdin="manifest", ok_exit_codes=(0, 1)), p.DiffParams, READ),
    define("kubectl", Function(k8s_wait_seconds), p.WaitParams, READ),
    define("kubectl", Function(wait_for.k8s_wait_for), wait_for.WaitForParams, READ),
]
