"""The read-only tool `k8s_diagnose`: every analyzer over one namespace, in few tokens.

Registered with the kubectl family (`opsgate.tools.kubectl.TOOLS`). Its text is the digest the
model reads; its structured data (`ToolOutput.data`) is the `Diagnosis`, which `opsgate
diagnose` and the Command Center render.
"""

from __future__ import annotations

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import NamespacedParams, Tool, ToolEnv, ToolOutput
from opsgate.tools.define import Function, define
from opsgate.tools.diagnose.analyzers import diagnose, render
from opsgate.tools.diagnose.state import read_state

READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)


class DiagnoseParams(NamespacedParams):
    all_namespaces: bool = False
    """Diagnose every namespace instead of one."""


async def k8s_diagnose(params: DiagnoseParams, env: ToolEnv) -> ToolOutput:
    """Find what is broken in a namespace without guessing: crash loops (with exit codes and
    the last log lines), images that cannot be pulled, missing Secret/ConfigMap keys, OOM
    kills, unschedulable pods, failing probes, Deployments not progressing, Services without
    endpoints, Ingresses pointing nowhere, Pending volume claims, autoscalers at their maximum,
    unhealthy nodes, degraded or paused Argo Rollouts and failed Helm releases.

    Each finding quotes its evidence from the cluster and may propose a fix as a tool call;
    propose that call for approval rather than assuming it. Start an investigation here: it
    costs one call and reads everything once. Anything it could not read is listed as not
    checked.
    """
    context = params.context if params.context is not None else env.default_context
    state = await read_state(env, context, params.namespace, all_namespaces=params.all_namespaces)
    namespace = None if params.all_namespaces else params.namespace
    diagnosis = diagnose(
        state, context=context, namespace=namespace, all_namespaces=params.all_namespaces
    )
    return ToolOutput(ok=True, text=render(diagnosis), data=diagnosis.model_dump(mode="json"))


TOOLS: list[Tool] = [define("kubectl", Function(k8s_diagnose), DiagnoseParams, READ)]
