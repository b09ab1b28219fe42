"""`k8s_top_pods` and `k8s_top_nodes` without spawning kubectl: `metrics.k8s.io`, as kubectl.

Called by `action.NativeFirst` for `k8s_top_pods` and `k8s_top_nodes`. Makes kubectl's request (the
`metrics.k8s.io/v1beta1` PodMetrics of the namespace or of all namespaces, with the label
selector) and prints what `kubectl top pod` prints: NAME, CPU(cores) as millicores rounded
up, MEMORY(bytes) as whole MiB, each pod the sum of its containers, sorted by namespace and
name, with kubectl's trailing tab after every cell (so the last column is padded too); with
`containers`, a POD column and one line per container. Left to kubectl (`NotNative`): no
metrics at all (kubectl then lists the pods to tell "not available yet" from "No resources
found"), every error answer, and a quantity this cannot read. For nodes: the NodeMetrics
and the nodes (for their allocatable CPU and memory), printed as NAME, CPU(cores), CPU(%),
MEMORY(bytes), MEMORY(%) sorted by name; a node without metrics, or metrics without their
node, is left to kubectl (it prints those lines in Go's random map order).
"""

from __future__ import annotations

import math
import re
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from opsgate.errors import NotNative
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.native.get import read_document, result_of
from opsgate.tools.native.printing import tabwriter

_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+)|([a-zA-Z]*))")
_SUFFIXES = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    **{s: Fraction(1024**i) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), 1)},
}
_MI = 1024 * 1024


def quantity(text: Any) -> Fraction:
    """The exact value of a Kubernetes quantity such as `12345n`, `250m`, `3Mi` or `1e3`.

    Raises:
        NotNative: not a quantity this reads (a sign, an unknown suffix).
    """
    matched = _QUANTITY.fullmatch(str(text)) if isinstance(text, str) else None
    if matched is None or matched.group(3) not in (None, *_SUFFIXES):
        raise NotNative(f"a quantity {text!r} left to kubectl")
    number, exponent, suffix = matched.groups()
    value = Fraction(number)
    if exponent is not None:
        return value * Fraction(10) ** int(exponent)
    return value * _SUFFIXES[suffix or ""]


def _usage(usages: list[dict[str, Any]]) -> list[str]:
    cpu = sum((quantity((u.get("usage") or {}).get("cpu", "0")) for u in usages), Fraction(0))
    memory = sum((quantity((u.get("usage") or {}).get("memory", "0")) for u in usages), Fraction(0))
    # Quantity.MilliValue and Value round up; kubectl then divides the bytes down to MiB.
    return [f"{math.ceil(cpu * 1000)}m", f"{math.ceil(memory) // _MI}Mi"]


def table(metrics: list[dict[str, Any]], *, across: bool, containers: bool) -> str:
    """What `kubectl top pod` prints for PodMetrics `metrics` (at least one)."""

    def key(item: dict[str, Any]) -> tuple[str, str]:
        meta = item.get("metadata") or {}
        return (str(meta.get("namespace") or "") if across else "", str(meta.get("name") or ""))

    header = [*(["NAMESPACE"] if across else []), *(["POD"] if containers else [])]
    rows = [[*header, "NAME", "CPU(cores)", "MEMORY(bytes)", ""]]
    for item in sorted(metrics, key=key):
        namespace, name = key(item)
        lead = [namespace] if across else []
        pod_containers = list(item.get("containers") or [])
        if containers:
            for container in pod_containers:
                cells = [str(container.get("name") or ""), *_usage([container])]
                rows.append([*lead, name, *cells, ""])
        else:
            rows.append([*lead, name, *_usage(pod_containers), ""])
    return tabwriter(rows)


def _percent(used: Fraction, available: Any) -> str:
    # kubectl: float64(used.MilliValue()) / float64(available.MilliValue()) * 100, truncated.
    whole = math.ceil(quantity(available) * 1000)
    if whole == 0:
        raise NotNative("a node with no allocatable amount, which Go divides by zero")
    return f"{int(float(math.ceil(used * 1000)) / float(whole) * 100)}%"


def node_table(metrics: list[dict[str, Any]], allocatable: dict[str, dict[str, Any]]) -> str:
    """What `kubectl top node` prints for NodeMetrics `metrics` and each node's allocatable."""
    names = [str((m.get("metadata") or {}).get("name") or "") for m in metrics]
    if set(names) != set(allocatable) or len(set(names)) != len(names):
        raise NotNative("nodes without metrics or metrics without nodes")
    rows = [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)", ""]]
    for name, item in sorted(zip(names, metrics, strict=True), key=lambda pair: pair[0]):
        usage = item.get("usage") or {}
        available = allocatable[name]
        if "cpu" not in available or "memory" not in available:
            raise NotNative("a node without allocatable CPU or memory")
        cpu, memory = quantity(usage.get("cpu", "0")), quantity(usage.get("memory", "0"))
        cpu_cell, memory_cell = _usage([{"usage": usage}])
        rows.append(
            [
                name,
                cpu_cell,
                _percent(cpu, available["cpu"]),
                memory_cell,
                _percent(memory, available["memory"]),
                "",
            ]
        )
    return tabwriter(rows)


async def _list(env: ToolEnv, target: Target, path: str, query: dict[str, str]) -> list[Any]:
    return list((await read_document(env, target, path, query)).get("items") or [])


async def k8s_top_nodes(
    params: p.TopNodesParams, env: ToolEnv, target: Target, argv: list[str]
) -> CommandResult:
    """What `kubectl top node` prints for `params` (whose kubectl `argv` the result names).

    Raises:
        NotNative: a read this does not print exactly as kubectl (the caller runs kubectl).
        ToolTimeout: the server did not answer within the command timeout.
    """
    started = time.monotonic()
    if env.api is None or target.kubeconfig is None:
        raise NotNative("no kubeconfig named for the native path")
    query = {"labelSelector": params.selector} if params.selector is not None else {}
    metrics = await _list(env, target, "/apis/metrics.k8s.io/v1beta1/nodes", query)
    if not metrics:
        raise NotNative("no node metrics, which kubectl words itself")
    nodes = await _list(env, target, "/api/v1/nodes", query)
    allocatable = {
        str((n.get("metadata") or {}).get("name") or ""): (n.get("status") or {}).get("allocatable")
        or {}
        for n in nodes
    }
    return result_of(argv, 0, node_table(metrics, allocatable), "", env, started)


async def k8s_top_pods(
    params: p.TopPodsParams, env: ToolEnv, target: Target, argv: list[str]
) -> CommandResult:
    """What `kubectl top pod` prints for `params` (whose kubectl `argv` the result names).

    Raises:
        NotNative: a read this does not print exactly as kubectl (the caller runs kubectl).
        ToolTimeout: the server did not answer within the command timeout.
    """
    started = time.monotonic()
    if env.api is None or target.kubeconfig is None:
        raise NotNative("no kubeconfig named for the native path")
    root = "/apis/metrics.k8s.io/v1beta1"
    if params.all_namespaces:
        path = f"{root}/pods"
    else:
        endpoint = await env.api.endpoint(Path(target.kubeconfig), target.context)
        path = f"{root}/namespaces/{params.namespace or endpoint.namespace}/pods"
    query = {"labelSelector": params.selector} if params.selector is not None else {}
    metrics = await _list(env, target, path, query)
    if not metrics:
        raise NotNative("no pod metrics, which kubectl explains after listing the pods")
    stdout = table(metrics, across=params.all_namespaces, containers=params.containers)
    return result_of(argv, 0, stdout, "", env, started)
