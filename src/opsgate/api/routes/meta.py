"""What the server offers and how it is doing: tools, contexts, model, approval policy, health,
readiness, metrics.

`/healthz` and `/readyz` are public (they reveal no data); `/metrics` needs an admin session or
an API token; the rest needs any signed-in user.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from opsgate import settings as settings_module
from opsgate.api import auth
from opsgate.api.metrics import CONTENT_TYPE
from opsgate.api.schemas import ApprovalPolicy, Contexts, ModelInfo, ToolOut
from opsgate.api.state import app_state
from opsgate.domain import roles
from opsgate.errors import BinaryNotFound, Forbidden
from opsgate.settings import Settings
from opsgate.store import db
from opsgate.store.jenkins_directory import JenkinsDirectory
from opsgate.tools import binaries

router = APIRouter(tags=["meta"])
root_router = APIRouter(tags=["meta"])

HOW_TO_MODEL = (
    "Set OPSGATE_MODEL to a LiteLLM model name (e.g. openai/gpt-4.1 with OPENAI_API_KEY, or "
    "anthropic/claude-sonnet-4-5 with ANTHROPIC_API_KEY) and restart; for a local model run "
    "Ollama and set OPSGATE_MODEL=ollama/llama3.1 (OPSGATE_MODEL_API_BASE=http://127.0.0.1:11434). "
    "Without a model, tools still run from the tool palette."
)


@router.get("/tools", response_model=list[ToolOut])
async def list_tools(request: Request, principal: auth.Viewer) -> list[ToolOut]:
    state = app_state(request)
    return [
        ToolOut(
            name=tool.name,
            family=tool.family,
            description=tool.description,
            input_schema=tool.input_schema(),
            annotations=tool.annotations.to_mcp(),
            needs_approval=not tool.annotations.read_only or tool.read_only_when is not None,
        )
        for tool in sorted(state.tools.values(), key=lambda t: t.name)
    ]


@router.get("/contexts", response_model=Contexts)
async def list_contexts(request: Request, principal: auth.Viewer) -> Contexts:
    state = app_state(request)
    servers = await JenkinsDirectory(state.store, state.settings.jenkins).entries()
    return Contexts(
        contexts=state.contexts,
        default=state.default_context,
        jenkins=[server.name for server in servers],
    )


@router.get("/model", response_model=ModelInfo)
async def model_info(request: Request, principal: auth.Viewer) -> ModelInfo:
    name = app_state(request).model_name
    return ModelInfo(configured=name is not None, model=name, how_to=HOW_TO_MODEL)


@router.get("/policy", response_model=ApprovalPolicy)
async def approval_policy(request: Request, principal: auth.Viewer) -> ApprovalPolicy:
    """The gate's effective settings: whether a requester may approve their own change, and
    the approval policy new requests get (docs/policy.md)."""
    state = app_state(request)
    active = await state.engine.active_policy()
    return ApprovalPolicy(
        require_distinct_approver=state.settings.require_distinct_approver,
        approval_ttl_s=state.settings.approval_ttl_s,
        source=active.source,
        version=active.version,
        rules=[rule.id for rule in active.policy.rules],
        text=active.text,
    )


@root_router.get("/healthz", include_in_schema=True)
async def healthz() -> dict[str, str]:
    """Public liveness: the process answers."""
    return {"status": "ok"}


def binary_ok(settings: Settings, name: Literal["kubectl", "helm"]) -> bool:
    """Whether the tool layer would find `name` (the same lookup the tool server uses)."""
    try:
        binaries.find_binary(
            name,
            configured=settings.kubectl_path if name == "kubectl" else settings.helm_path,
            tools_dir=settings.tools_dir,
            search_path=settings_module.process_environment().get("PATH", ""),
        )
    except BinaryNotFound:
        return False
    return True


@root_router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Public readiness: database reachable with its schema at this version's newest migration,
    and tool binaries (the model is reported, not required).

    A replica whose database was migrated by a newer version (or not at all) is not ready:
    it would read and write tables it does not know.
    """
    state = app_state(request)
    checks: dict[str, Any] = {}
    try:
        revision = await state.store.schema_revision()
        checks["database"] = {"ok": True}
        head = db.head_revision()
        checks["migrations"] = {"ok": revision == head, "revision": revision, "head": head}
    except Exception as e:  # readiness reports any database failure
        checks["database"] = {"ok": False, "error": type(e).__name__}
        checks["migrations"] = {"ok": False, "revision": None, "head": db.head_revision()}
    checks["kubectl"] = {"ok": binary_ok(state.settings, "kubectl")}
    checks["helm"] = {"ok": binary_ok(state.settings, "helm")}
    checks["model"] = {"ok": state.model_name is not None, "required": False}
    ready = all(check["ok"] for key, check in checks.items() if key != "model")
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@root_router.get("/metrics", response_class=Response)
async def metrics(request: Request, principal: auth.Viewer) -> Response:
    """Prometheus metrics, for an admin or any API token (a scraper's)."""
    if principal.via != "token" and not roles.can_administer(principal.user.role):
        raise Forbidden("metrics need an admin session or an API token")
    return Response(app_state(request).metrics.render(), media_type=CONTENT_TYPE)
