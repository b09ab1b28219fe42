"""Admin routes for outgoing webhooks: add, list, remove, and read each one's delivery log.

Only admins reach them (`auth.Admin`). A new webhook's signing secret is in the creation
answer once and never again (the store keeps it encrypted, to sign); adding and removing are
audited (`webhook.created`, `webhook.removed`: the URL's origin, never its path, query or the
secret). The outbox
(`api.notify.outbox`) does the sending; docs/notifications.md describes what receivers get.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsgate.api import auth
from opsgate.api.notify import signing
from opsgate.api.routes import RecordId
from opsgate.api.state import AppState, app_state
from opsgate.domain import audit_payloads as ap
from opsgate.domain.notifications import WebhookEvent
from opsgate.store.webhook_records import Webhook, WebhookDelivery

router = APIRouter(tags=["admin"])


def check_url(url: str) -> str:
    """An http(s) URL with a host and no fragment, with nothing a request line cannot hold."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError("the URL may not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the URL must name a host")
    if parts.fragment:
        raise ValueError("the URL may not have a #fragment (it is never sent)")
    return url


def destination(url: str) -> str:
    """What the audit log names of a webhook's URL: scheme, host and port, never the path or
    query, which some receivers make the token (a chat app's incoming-webhook URL)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    """Where deliveries are POSTed (http or https)."""
    events: list[WebhookEvent] = Field(min_length=1, max_length=6)
    """The events this webhook is told of."""

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_url(url)

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[WebhookEvent]) -> list[WebhookEvent]:
        return list(dict.fromkeys(events))


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[WebhookEvent]
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=webhook.events,
            created_by=webhook.created_by,
            created_at=webhook.created_at,
        )


class WebhookCreated(BaseModel):
    webhook: WebhookOut
    secret: str
    """The signing secret: shown in this answer only, never again."""


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryList(BaseModel):
    items: list[WebhookDelivery]


async def _audit(state: AppState, payload: ap.AuditPayload, principal: auth.Principal) -> None:
    await state.store.append_audit(
        payload.kind,
        payload.payload(),
        actor_id=principal.user.id,
        actor_name=principal.user.username,
    )


@router.post("/webhooks", response_model=WebhookCreated, status_code=201)
async def create_webhook(
    body: WebhookBody, request: Request, principal: auth.Admin
) -> WebhookCreated:
    """Add a webhook, told of the chosen events from now on; the answer holds its secret."""
    state = app_state(request)
    secret = signing.new_secret()
    webhook = await state.store.create_webhook(
        body.url, body.events, secret, created_by=principal.user.id
    )
    await _audit(
        state,
        ap.WebhookCreated(
            webhook_id=webhook.id, destination=destination(webhook.url), events=list(webhook.events)
        ),
        principal,
    )
    return WebhookCreated(webhook=WebhookOut.of(webhook), secret=secret)


@router.get("/webhooks", response_model=WebhookList)
async def list_webhooks(request: Request, principal: auth.Admin) -> WebhookList:
    webhooks = await app_state(request).store.list_webhooks()
    return WebhookList(items=[WebhookOut.of(webhook) for webhook in webhooks])


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(request: Request, principal: auth.Admin, webhook_id: RecordId) -> Response:
    """Remove a webhook and its delivery log; nothing more is sent to it."""
    state = app_state(request)
    removed = await state.store.delete_webhook(webhook_id)
    await _audit(
        state,
        ap.WebhookRemoved(webhook_id=removed.id, destination=destination(removed.url)),
        principal,
    )
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(
    request: Request,
    principal: auth.Admin,
    webhook_id: RecordId,
    limit: int = Query(default=100, ge=1, le=500),
) -> DeliveryList:
    """The webhook's deliveries, newest first, each with every attempt (status code or error,
    time, duration)."""
    store = app_state(request).store
    await store.get_webhook(webhook_id)
    return DeliveryList(items=await store.list_deliveries(webhook_id, limit=limit))
