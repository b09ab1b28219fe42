"""Model usage and cost for admins: model turns summed per user, model or UTC day.

The admin Usage page (`views/usage.js`) draws its chart from `GET /usage`. A conversation's
own total comes with the conversation (`GET /conversations/{id}`); `/metrics` exports the
same turns as counters (`api.metrics`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from opsgate.api import auth
from opsgate.api.schemas import UsageReport
from opsgate.api.state import app_state
from opsgate.domain.usage import UsageGrouping, UsageTotal

router = APIRouter(tags=["usage"])


@router.get("/usage", response_model=UsageReport)
async def usage(
    request: Request,
    principal: auth.Admin,
    group_by: Annotated[UsageGrouping, Query()] = "day",
    days: int = Query(default=30, ge=1, le=366, description="Only the last `days` days."),
) -> UsageReport:
    state = app_state(request)
    since = state.clock() - timedelta(days=days)
    groups = await state.store.usage_by(group_by, since=since)
    priced = [g.cost_usd for g in groups if g.cost_usd is not None]
    total = UsageTotal(
        turns=sum(g.turns for g in groups),
        input_tokens=sum(g.input_tokens for g in groups),
        output_tokens=sum(g.output_tokens for g in groups),
        cost_usd=sum(priced) if priced else None,
        unpriced_turns=sum(g.unpriced_turns for g in groups),
    )
    return UsageReport(group_by=group_by, since=since, items=groups, total=total)
