"""Admin routes for the approval policy: check a draft, save a new version.

The Command Center's policy view calls these; `GET /policy` (in `routes.meta`) shows the
active one to everyone signed in. A save is checked exactly as a file is at start (nothing
that loosens the gate loads), stored as a new version that new requests follow at once, and
audited as `policy.changed` with the unified diff from the policy it replaces. Requests
already open keep the requirement they were opened with.
"""

from __future__ import annotations

import difflib

from fastapi import APIRouter, Request

from opsgate.api import auth
from opsgate.api.schemas import PolicyBody, PolicyCheck
from opsgate.api.state import app_state
from opsgate.domain.policy_load import load_policy
from opsgate.errors import PolicyError

router = APIRouter(tags=["policy"])


@router.post("/policy/check", response_model=PolicyCheck)
async def check_policy(body: PolicyBody, request: Request, principal: auth.Admin) -> PolicyCheck:
    """Whether a draft would be accepted, and if not which line is wrong (nothing is saved)."""
    try:
        policy = load_policy(body.text)
    except PolicyError as e:
        return PolicyCheck(ok=False, error=str(e), line=e.line)
    return PolicyCheck(ok=True, rules=[rule.id for rule in policy.rules])


@router.put("/policy", response_model=PolicyCheck)
async def save_policy(body: PolicyBody, request: Request, principal: auth.Admin) -> PolicyCheck:
    """Save a new version (422 naming the line if it is refused); new requests follow it."""
    policy = load_policy(body.text)
    state = app_state(request)
    before = await state.engine.active_policy()
    diff = "".join(
        difflib.unified_diff(
            before.text.splitlines(keepends=True),
            body.text.splitlines(keepends=True),
            fromfile=f"policy ({before.version})",
            tofile="policy (new)",
        )
    )
    await state.store.save_policy_version(
        body.text,
        user_id=principal.user.id,
        user_name=principal.user.username,
        previous=before.version,
        diff=diff,
    )
    return PolicyCheck(ok=True, rules=[rule.id for rule in policy.rules])
