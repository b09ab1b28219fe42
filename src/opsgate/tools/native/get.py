"""`k8s_get` without spawning kubectl: the same requests kubectl makes, the same text it prints.

Called by `action.NativeFirst` for `k8s_get`. Resolves the resource through the context's
discovery, GETs the object or the list (`limit=500`, label and field selectors) asking for a
server-side Table for table/wide output (kubectl's own Accept header) or JSON otherwise, and
prints it with `printing`: stdout, stderr (`No resources found in shop namespace.`,
`Error from server (NotFound): ...`) and the exit code kubectl would give, as a
`CommandResult` capped and redacted exactly as the runner caps and redacts kubectl's. What it
does not reproduce (JSONPath templates, several types at once, a paginated list, an error
kubectl words itself) raises `NotNative`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from opsgate.errors import NotNative
from opsgate.tools import redact
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.native import printing
from opsgate.tools.native.discovery import ApiResource
from opsgate.tools.runner import shown_text

TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
"""kubectl's Accept header for `get` in table and wide output."""
CHUNK = "500"
"""kubectl lists in chunks of 500; a list with more is left to kubectl."""
_SERVER_ERRORS = frozenset({"NotFound", "Forbidden"})


def _no_resources(namespace: str | None) -> str:
    if namespace is None:
        return "No resources found\n"
    return f"No resources found in {namespace} namespace.\n"


def _server_error(status: int, body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError as e:
        raise NotNative(f"the server answered {status} without a Status") from e
    reason = document.get("reason") if isinstance(document, dict) else None
    message = document.get("message") if isinstance(document, dict) else None
    if reason not in _SERVER_ERRORS or not isinstance(message, str) or not message:
        raise NotNative(f"the server answered {status}, which kubectl words itself")
    return f"Error from server ({reason}): {message}\n"


async def resolve(env: ToolEnv, kubeconfig: Path, target: Target, name: str) -> ApiResource:
    """The resource kubectl means by `name` in `target`'s cluster (used by `native.events` too).

    Raises:
        NotNative: no resource of that name, even in freshly read discovery.
    """
    assert env.api is not None
    timeout = env.command_timeout_s
    found = await env.api.resources(kubeconfig, target.context, timeout_s=timeout)
    try:
        return found.resolve(name)
    except NotNative:
        # A type created since discovery was read (a new CRD): kubectl re-reads too.
        found = await env.api.resources(kubeconfig, target.context, timeout_s=timeout, refresh=True)
        return found.resolve(name)


def _stdout(params: p.GetParams, document: dict[str, Any], res: ApiResource, one: bool) -> str:
    listed = not one
    if params.output in ("table", "wide"):
        if document.get("kind") != "Table":
            raise NotNative("the server gave no Table")
        # kubectl adds NAMESPACE across namespaces only for namespaced kinds.
        across = params.all_namespaces and res.namespaced
        return printing.table(document, wide=params.output == "wide", with_namespace=across)
    items: list[dict[str, Any]] = list(document.get("items") or []) if listed else [document]
    if params.output == "name":
        return printing.name_lines(items, res.kind, res.group)
    value = printing.as_list(items, res.group_version, res.kind) if listed else document
    return printing.json_text(value) if params.output == "json" else printing.yaml_text(value)


def result_of(
    argv: list[str], code: int, stdout: str, stderr: str, env: ToolEnv, started: float
) -> CommandResult:
    """A finished read as the runner reports a command: capped and redacted alike."""
    out, err = stdout.encode(), stderr.encode()
    cap = env.output_cap_bytes
    return CommandResult(
        argv=redact.mask_argv(argv),
        exit_code=code,
        stdout=shown_text(out[:cap], truncated=len(out) > cap),
        stderr=shown_text(err[:cap], truncated=len(err) > cap),
        duration_ms=int((time.monotonic() - started) * 1000),
        stdout_truncated=len(out) > cap,
        stderr_truncated=len(err) > cap,
        stdout_size=len(out),
        stderr_size=len(err),
    )


async def read_ok(
    env: ToolEnv, target: Target, path: str, query: dict[str, str] | None = None
) -> bytes:
    """The body of the API server's 200 answer to GET `path`, as the call's identity; any
    other answer is left to kubectl (`NotNative`), which words the server's errors itself."""
    if env.api is None or target.kubeconfig is None:
        raise NotNative("no kubeconfig named for the native path")
    answer = await env.api.get(
        Path(target.kubeconfig),
        target.context,
        path,
        query=query,
        accept="application/json, */*",
        acting_as=target.acting_as,
        timeout_s=env.command_timeout_s,
    )
    if answer.status != 200:
        raise NotNative(f"the server answered {answer.status}, which kubectl words itself")
    return answer.body


async def read_document(
    env: ToolEnv, target: Target, path: str, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """`read_ok`'s answer as a JSON object (anything else is left to kubectl)."""
    try:
        document = json.loads(await read_ok(env, target, path, query))
    except ValueError as e:
        raise NotNative("the server answered with no JSON") from e
    if not isinstance(document, dict):
        raise NotNative("the server answered with no JSON object")
    return document


async def k8s_get(
    params: p.GetParams, env: ToolEnv, target: Target, argv: list[str]
) -> CommandResult:
    """What `kubectl get` prints for `params` (whose kubectl `argv` the result names), read
    straight from the API server.

    Raises:
        NotNative: a read this does not print exactly as kubectl (the caller runs kubectl).
        ToolTimeout: the server did not answer within the command timeout.
    """
    started = time.monotonic()
    if env.api is None or target.kubeconfig is None:
        raise NotNative("no kubeconfig named for the native path")
    if params.jsonpath is not None:
        raise NotNative("JSONPath templates are printed by kubectl")
    kind_name, _, ref_name = params.resource.partition("/")
    name = ref_name or params.name
    if "," in kind_name or kind_name == "all":
        raise NotNative("several resource types at once")
    if name is not None and (params.all_namespaces or params.selector or params.field_selector):
        raise NotNative("a name with a selector or all namespaces, which kubectl words itself")
    kubeconfig = Path(target.kubeconfig)
    res = await resolve(env, kubeconfig, target, kind_name)
    namespace: str | None = None
    if res.namespaced and not params.all_namespaces:
        endpoint = await env.api.endpoint(kubeconfig, target.context)
        namespace = params.namespace or endpoint.namespace
    path = res.collection_path(namespace) + (f"/{name}" if name is not None else "")
    query: dict[str, str] = {}
    if name is None:
        if params.selector is not None:
            query["labelSelector"] = params.selector
        if params.field_selector is not None:
            query["fieldSelector"] = params.field_selector
        query["limit"] = CHUNK
    table = params.output in ("table", "wide")
    answer = await env.api.get(
        kubeconfig,
        target.context,
        path,
        query=query,
        accept=TABLE_ACCEPT if table else "application/json",
        acting_as=target.acting_as,
        timeout_s=env.command_timeout_s,
    )
    if answer.status != 200:
        return result_of(argv, 1, "", _server_error(answer.status, answer.body), env, started)
    try:
        document = json.loads(answer.body)
    except ValueError as e:
        raise NotNative("the server answered with no JSON") from e
    if not isinstance(document, dict):
        raise NotNative("the server answered with no JSON object")
    if (document.get("metadata") or {}).get("continue"):
        raise NotNative("the list has more than one chunk")
    stdout = _stdout(params, document, res, one=name is not None)
    empty = name is None and not (document.get("rows") or document.get("items"))
    stderr = ""
    if empty and params.output in ("table", "wide"):
        stderr = _no_resources(namespace)
    return result_of(argv, 0, stdout, stderr, env, started)
