"""`kubectl exec` over the WebSocket protocol kubectl speaks (`v5.channel.k8s.io`, `v4`).

Routed by `api` for `/api/v1/namespaces/<ns>/pods/<name>/exec` upgrades. Each binary message
starts with its channel: 1 stdout, 2 stderr, 3 the final `Status` (Success, or Failure with
reason `NonZeroExitCode` and the exit code, as kubelet reports it), so kubectl prints the
output and exits with the command's status. The request is authenticated and authorised as
any other (`create` on `pods/exec`); a missing pod or container, or one not running, ends with
the API server's error on channel 3. The command runs in `containers.shell`; stdin is not
read. Clients that fall back to SPDY get a 400 naming the protocol to use.
"""

from __future__ import annotations

import json

from starlette.websockets import WebSocket

from opsgate.sandbox.apiserver import authn, rbac
from opsgate.sandbox.apiserver.cluster import Cluster
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.containers import shell

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDOUT, STDERR, ERROR = 1, 2, 3
SPDY_REFUSED = (
    "exec over SPDY is not supported by the sandbox: use kubectl's WebSocket protocol "
    "(v5.channel.k8s.io, the default since kubectl 1.31; do not set "
    "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)"
)


def _container(pod: Obj, wanted: str | None) -> Obj:
    containers = (pod.get("spec") or {}).get("containers") or []
    name = pod["metadata"]["name"]
    if wanted is None:
        if not containers:
            raise ApiError(400, "BadRequest", f"pod {name} has no containers")
        return dict(containers[0])
    for container in containers:
        if container.get("name") == wanted:
            return dict(container)
    raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {name}")


def _running(pod: Obj, container: Obj) -> None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container.get("name") and "running" in (status.get("state") or {}):
            return
    raise ApiError(
        400,
        "BadRequest",
        f'unable to upgrade connection: container not found ("{container.get("name")}")',
    )


def _status(command: list[str], code: int) -> Obj:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            "command terminated with non-zero exit code: error executing command "
            f"[{' '.join(command)}], exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


async def exec_endpoint(websocket: WebSocket) -> None:
    """One `kubectl exec` session."""
    cluster: Cluster = websocket.app.state.cluster
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    chosen = next((p for p in PROTOCOLS if p in offered), None)
    if chosen is None:
        await websocket.close(code=1002, reason=f"supported protocols: {', '.join(PROTOCOLS)}")
        return
    await websocket.accept(subprotocol=chosen)
    namespace = websocket.path_params["namespace"]
    name = websocket.path_params["name"]
    params = websocket.query_params
    command = params.getlist("command")
    try:
        groups = websocket.headers.getlist("impersonate-group")
        user = authn.identify(cluster.store, cluster.token_key, websocket.headers, groups)
        attrs = rbac.Attributes("create", "", "pods", "exec", namespace, name)
        rbac.authorize(cluster.store, user, attrs)
        pod = cluster.store.get("pods", namespace, name)
        if pod is None:
            raise ApiError(
                404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"}
            )
        container = _container(pod, params.get("container"))
        _running(pod, container)
    except ApiError as e:
        await websocket.send_bytes(bytes([ERROR]) + json.dumps(e.status()).encode())
        await websocket.close()
        return
    result = shell.run(cluster.store, pod, container, command)
    if result.stdout and params.get("stdout") in ("true", "1"):
        await websocket.send_bytes(bytes([STDOUT]) + result.stdout.encode())
    if result.stderr and params.get("stderr") in ("true", "1"):
        await websocket.send_bytes(bytes([STDERR]) + result.stderr.encode())
    await websocket.send_bytes(bytes([ERROR]) + json.dumps(_status(command, result.code)).encode())
    await websocket.close()
