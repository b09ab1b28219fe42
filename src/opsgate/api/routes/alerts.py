"""Alert webhooks: `POST /alerts/alertmanager` (Alertmanager's webhook) and `/alerts/generic`.

Senders are not opsgate users: each request proves itself with the intake's bearer token or
HMAC signature (`api.alerts.signing`) before its body is even parsed; a wrong one is 401 and
nothing is recorded, and with no secret configured every request is refused (401 too). What the
intake does with a valid notification is `api.alerts.intake.receive`: 202 when it opened an
investigation, 200 when it deduplicated, noted or ignored it, 429 over the rate limit.
docs/alerts.md is the guide.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from opsgate.api.alerts import intake, payloads, signing
from opsgate.api.state import app_state
from opsgate.tools.validate import invalid_input

router = APIRouter(tags=["alerts"])

_Body = TypeVar("_Body", bound=BaseModel)


async def _authentic(request: Request, model: type[_Body]) -> _Body:
    state = app_state(request)
    body = await request.body()
    signing.authenticate(
        state.settings.alerts, request.headers, body, now=state.clock().timestamp()
    )
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        raise invalid_input(e) from e


def _answer(result: intake.IntakeResult) -> JSONResponse:
    status = 202 if result.outcome == "opened" else 200
    return JSONResponse(result.model_dump(mode="json"), status_code=status)


@router.post("/alerts/alertmanager", response_model=intake.IntakeResult)
async def alertmanager_webhook(request: Request) -> JSONResponse:
    """Alertmanager's webhook (`webhook_configs`, payload version 4)."""
    body = await _authentic(request, payloads.AlertmanagerPayload)
    notification = payloads.from_alertmanager(body)
    return _answer(await intake.receive(app_state(request), notification))


@router.post("/alerts/generic", response_model=intake.IntakeResult)
async def generic_webhook(request: Request) -> JSONResponse:
    """One alert from any other source, in opsgate's generic shape (docs/alerts.md)."""
    body = await _authentic(request, payloads.GenericAlert)
    notification = payloads.from_generic(body)
    return _answer(await intake.receive(app_state(request), notification))
