"""`k8s_logs` without spawning kubectl: the pod, then its container's log, printed as it came.

Called by `action.NativeFirst` for `k8s_logs`. Makes kubectl's two requests (the pod, to know
its container; then `pods/<name>/log` with `container`, `tailLines`, `sinceSeconds`,
`previous`, `timestamps`) and prints the log body unchanged, capped and redacted as the
runner treats kubectl's output (`get.result_of`). Left to kubectl (`NotNative`): a workload
reference (`deployment/web`, which kubectl resolves to one of its pods), a pod with several
containers and none named (kubectl picks one and says so), and every error answer, which
`kubectl logs` words in its own way.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from opsgate.errors import NotNative
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.native.get import read_document, read_ok, result_of

_DURATION = re.compile(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")


def since_seconds(duration: str) -> int:
    """`10m` -> 600, as kubectl turns `--since` into `sinceSeconds`."""
    matched = _DURATION.fullmatch(duration)
    if matched is None or not duration:
        raise NotNative(f"a duration {duration!r} left to kubectl")
    hours, minutes, seconds = (int(part or 0) for part in matched.groups())
    return hours * 3600 + minutes * 60 + seconds


async def k8s_logs(
    params: p.LogsParams, env: ToolEnv, target: Target, argv: list[str]
) -> CommandResult:
    """What `kubectl logs` prints for `params` (whose kubectl `argv` the result names).

    Raises:
        NotNative: a read this does not print exactly as kubectl (the caller runs kubectl).
        ToolTimeout: the server did not answer within the command timeout.
    """
    started = time.monotonic()
    if env.api is None or target.kubeconfig is None:
        raise NotNative("no kubeconfig named for the native path")
    if "/" in params.pod:
        raise NotNative("a workload reference, which kubectl resolves to one of its pods")
    kubeconfig = Path(target.kubeconfig)
    namespace = params.namespace or (await env.api.endpoint(kubeconfig, target.context)).namespace
    pod_path = f"/api/v1/namespaces/{namespace}/pods/{params.pod}"

    pod = await read_document(env, target, pod_path)
    spec = pod.get("spec") or {}
    containers = [str(c.get("name")) for c in spec.get("containers") or []]
    others = [*(spec.get("initContainers") or []), *(spec.get("ephemeralContainers") or [])]
    container = params.container
    if container is None:
        if len(containers) != 1 or others:
            raise NotNative("a pod with several containers and none named")
        container = containers[0]
    query = {"container": container, "tailLines": str(params.tail)}
    if params.since is not None:
        query["sinceSeconds"] = str(since_seconds(params.since))
    if params.previous:
        query["previous"] = "true"
    if params.timestamps:
        query["timestamps"] = "true"
    body = await read_ok(env, target, f"{pod_path}/log", query)
    return result_of(argv, 0, body.decode("utf-8", errors="replace"), "", env, started)
