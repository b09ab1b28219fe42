"""Audit pages for people investigating: each event with its facts (tool, object, namespace,
context, outcome) and its conversation's title, filtered by object and outcome, logins hidden
on request.

`GET /audit` (`api.routes.audit`) calls `audit_page`. The store filters by its columns (actor,
kind, tool, conversation, run, time); object and outcome live in the payload, so they are
matched here on `domain.audit_facts`, scanning a bounded number of store pages per request:
a page may hold fewer rows than asked while `next_after_seq` says there is more to scan.
Events the user may not see (`api.scopes`) are skipped the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from opsgate.api import scopes
from opsgate.domain.audit import AuditEvent
from opsgate.domain.audit_facts import AuditFacts, Outcome, facts
from opsgate.errors import NotFound
from opsgate.store.protocol import Store
from opsgate.store.records import AuditFilter, User

LOGIN_KINDS = frozenset({"user.login", "user.sso_login"})
"""What "hide logins" hides: successful sign-ins (refused ones stay, they may be attacks)."""
SCAN_PAGES = 20
"""Store pages one request reads at most while object or outcome filters skip events."""


class AuditRow(AuditEvent):
    """An audit event as the audit view lists it."""

    facts: AuditFacts
    conversation_title: str | None = None
    """The title of the event's conversation (None without one, or once it is gone)."""


class AuditPage(BaseModel):
    items: list[AuditRow]
    next_after_seq: int | None
    """Pass as `after_seq` for the next page; null at the end."""


class RowFilter(BaseModel):
    """What `audit_page` matches beyond the store's columns."""

    object: str | None = None
    outcome: Outcome | None = None
    hide_logins: bool = False

    def matches(self, event: AuditEvent, shown: AuditFacts) -> bool:
        if self.hide_logins and event.kind in LOGIN_KINDS:
            return False
        if self.outcome is not None and shown.outcome != self.outcome:
            return False
        return self.object is None or self.object in (shown.object or "").split(", ")


async def audit_page(
    store: Store,
    user: User,
    flt: AuditFilter,
    rows: RowFilter,
    *,
    after_seq: int,
    limit: int,
) -> AuditPage:
    """Up to `limit` matching rows after `after_seq` that `user` may see (`api.scopes`),
    oldest first."""
    found: list[AuditRow] = []
    objects: dict[str, str] = {}  # call id -> object, for results that name only their call
    cursor, exhausted = after_seq, False
    for _ in range(SCAN_PAGES):
        events = await store.list_audit(flt, limit=limit, after_seq=cursor)
        exhausted = len(events) < limit
        shown_seqs = {e.seq for e in await scopes.audit_events(store, user, events)}
        for event in events:
            cursor = event.seq
            if event.seq not in shown_seqs:
                continue
            shown = facts(event.kind, event.payload)
            if event.call_id is not None:
                if shown.object is not None:
                    objects.setdefault(event.call_id, shown.object)
                elif event.call_id in objects:
                    shown = shown.model_copy(update={"object": objects[event.call_id]})
            if rows.matches(event, shown):
                found.append(AuditRow(**event.model_dump(), facts=shown))
                if len(found) == limit:
                    return AuditPage(items=await _titled(store, found), next_after_seq=cursor)
        if exhausted:
            break
    return AuditPage(
        items=await _titled(store, found), next_after_seq=None if exhausted else cursor
    )


async def titles(store: Store, conversation_ids: Iterable[str | None]) -> dict[str, str | None]:
    """Each named conversation's title; None for one that is gone."""
    found: dict[str, str | None] = {}
    for conversation_id in {c for c in conversation_ids if c is not None}:
        try:
            found[conversation_id] = (await store.get_conversation(conversation_id)).title
        except NotFound:
            found[conversation_id] = None
    return found


async def _titled(store: Store, rows: list[AuditRow]) -> list[AuditRow]:
    named = await titles(store, (r.conversation_id for r in rows))
    return [
        row.model_copy(update={"conversation_title": named[row.conversation_id]})
        if row.conversation_id is not None
        else row
        for row in rows
    ]
