"""The pure rule of scoped roles (`domain.grants`): the highest of the global role and the
grants matching a call's context and namespace, and the reason the card shows."""

from __future__ import annotations

import pytest

from opsgate.domain import grants, roles
from opsgate.domain.grants import Grant
from opsgate.errors import Forbidden
from tests.fixtures.engine import CONTEXT, HarnessFactory

PAYMENTS = Grant(role="approver", context="prod", namespace="payments")
STAGING = Grant(role="operator", context="staging")


@pytest.mark.parametrize(
    ("context", "namespace", "expected"),
    [
        ("prod", "payments", "approver"),
        ("prod", "shop", "viewer"),
        ("prod", None, "viewer"),  # a namespace grant never covers a call without one
        ("staging", "anything", "operator"),
        ("staging", None, "operator"),
        ("dev", "payments", "viewer"),
        (None, "payments", "viewer"),
    ],
)
def test_the_effective_role_is_the_highest_matching(
    context: str | None, namespace: str | None, expected: roles.Role
) -> None:
    assert grants.effective_role("viewer", [PAYMENTS, STAGING], context, namespace) == expected


def test_a_grant_never_lowers_the_global_role() -> None:
    low = Grant(role="viewer", context="prod")
    assert grants.effective_role("approver", [low], "prod", "shop") == "approver"


def test_a_conversation_takes_the_role_in_every_one_of_its_contexts() -> None:
    held = [STAGING, Grant(role="viewer", context="prod")]
    assert grants.role_for_all("none", held, ["staging", "prod"], None) == "viewer"
    assert grants.role_for_all("none", held, ["staging"], None) == "operator"
    assert grants.role_for_all("none", held, ["dev"], None) == "none"
    assert grants.role_for_all("operator", held, [], None) == "operator"


def test_the_reason_says_where_the_role_comes_from() -> None:
    held = [PAYMENTS]
    assert grants.why("viewer", held, "prod", "payments", roles.can_approve) == (
        True,
        "approver for prod/payments",
    )
    assert grants.why("viewer", held, "prod", "shop", roles.can_approve) == (
        False,
        "you are viewer in prod/shop",
    )
    assert grants.why("admin", held, "prod", "shop", roles.can_approve) == (
        True,
        "admin everywhere",
    )


def test_the_highest_role_anywhere_lets_a_request_past_the_coarse_check() -> None:
    assert grants.highest("none", [PAYMENTS, STAGING]) == "approver"
    assert grants.highest("none", []) == "none"
    assert not roles.can_view("none")


async def test_a_read_outside_the_requesters_scope_is_refused_and_not_run(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open()
    nina = await h.store.create_user("nina", "none", None)
    # Operator for the conversation's namespace only; the fake tool's read names none.
    nina = await h.store.grant_role(
        nina.id, Grant(role="operator", context=CONTEXT, namespace="shop")
    )
    run = await h.engine.submit_call(h.conversation.id, nina, "k_get", {"name": "api"})
    await h.engine.wait_run(run.id)
    [call] = await h.store.list_calls(run_id=run.id)
    assert call.status == "refused"
    assert f"user 'nina' may not run reads in {CONTEXT}: you are none in {CONTEXT}" in (
        call.output or ""
    )
    assert h.cluster.calls == []
    finished = [e for e in await h.store.list_audit(limit=100) if e.kind == "tool.finished"]
    assert finished[-1].payload["refused"] is True

    everywhere = await h.store.grant_role(nina.id, Grant(role="operator", context=CONTEXT))
    run = await h.engine.submit_call(h.conversation.id, everywhere, "k_get", {"name": "api"})
    await h.engine.wait_run(run.id)
    [call] = await h.store.list_calls(run_id=run.id)
    assert call.status == "succeeded"


async def test_asking_in_a_conversation_outside_ones_grants_is_refused(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open()
    omar = await h.store.create_user("omar", "viewer", None)
    omar = await h.store.grant_role(omar.id, Grant(role="operator", context="elsewhere"))
    with pytest.raises(Forbidden, match="may not start runs in this conversation: they are viewer"):
        await h.engine.submit_call(h.conversation.id, omar, "k_get", {"name": "api"})
