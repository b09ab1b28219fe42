"""What alert senders post, validated, and the one `Notification` the intake works on.

`AlertmanagerPayload` is Alertmanager's documented webhook body (version "4"); `GenericAlert`
is opsgate's own shape for other sources (docs/alerts.md). Both become a `Notification`:
the source, the group (dedupe) key, firing or resolved, and the alerts. Every field is
bounded; the request body's size is bounded before this (`api.guards`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from opsgate.domain.audit_payloads import AlertSource

AlertStatus = Literal["firing", "resolved"]

_Key = Annotated[str, StringConstraints(min_length=1, max_length=256)]
_Value = Annotated[str, StringConstraints(max_length=8192)]
Labels = Annotated[dict[_Key, _Value], Field(max_length=128)]
"""Label or annotation names to values, as the sender wrote them (untrusted text)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AlertmanagerAlert(_Body):
    """One alert of an Alertmanager notification."""

    status: AlertStatus
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str | None = Field(default=None, max_length=4096)
    fingerprint: str | None = Field(default=None, max_length=128)


class AlertmanagerPayload(_Body):
    """Alertmanager's webhook body (`webhook_config`), version 4."""

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=8192)
    status: AlertStatus
    receiver: str = Field(default="", max_length=256)
    alerts: list[AlertmanagerAlert] = Field(min_length=1, max_length=1000)
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: Labels = Field(default_factory=dict)
    commonAnnotations: Labels = Field(default_factory=dict)
    externalURL: str | None = Field(default=None, max_length=4096)
    truncatedAlerts: int = Field(default=0, ge=0)


class GenericAlert(_Body):
    """One alert from any other source (docs/alerts.md, "Generic webhook")."""

    title: str = Field(min_length=1, max_length=200)
    """What is wrong, in a line."""
    status: AlertStatus = "firing"
    severity: Literal["critical", "warning", "info"] = "warning"
    dedupe_key: str = Field(min_length=1, max_length=1024)
    """Notifications with the same key belong to one investigation while it is open."""
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)
    source: str | None = Field(default=None, max_length=100)
    """Which system sent it, for people reading the conversation."""
    url: str | None = Field(default=None, max_length=4096)


@dataclass(frozen=True)
class Alert:
    """One alert, whichever sender it came from."""

    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None = None
    url: str | None = None
    fingerprint: str | None = None

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or self.labels.get("title") or "unnamed alert"


@dataclass(frozen=True)
class Notification:
    """One delivery from a sender: an alert group, firing or resolved."""

    source: AlertSource
    group_key: str
    status: AlertStatus
    alerts: tuple[Alert, ...]
    sender: str
    """Who sent it, for the request text: Alertmanager's receiver or the generic `source`."""
    truncated: int = 0
    """How many alerts the sender left out (Alertmanager's `truncatedAlerts`)."""

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status == "firing")

    @property
    def alertnames(self) -> list[str]:
        return sorted({a.name for a in self.alerts})


def from_alertmanager(body: AlertmanagerPayload) -> Notification:
    return Notification(
        source="alertmanager",
        group_key=body.groupKey,
        status=body.status,
        alerts=tuple(
            Alert(
                status=a.status,
                labels=dict(a.labels),
                annotations=dict(a.annotations),
                starts_at=a.startsAt,
                url=a.generatorURL,
                fingerprint=a.fingerprint,
            )
            for a in body.alerts
        ),
        sender=f"Alertmanager receiver {body.receiver!r}",
        truncated=body.truncatedAlerts,
    )


def from_generic(body: GenericAlert) -> Notification:
    labels = {**body.labels, "title": body.title, "severity": body.severity}
    return Notification(
        source="generic",
        group_key=body.dedupe_key,
        status=body.status,
        alerts=(
            Alert(
                status=body.status,
                labels=labels,
                annotations=dict(body.annotations),
                url=body.url,
            ),
        ),
        sender=f"webhook source {body.source!r}" if body.source else "a generic webhook",
    )
