"""The engine on PostgreSQL: store and LangGraph checkpoints in one database, resumed by a peer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.calls import stored_call
from tests.fixtures.engine import HarnessFactory

pytestmark = [pytest.mark.postgres]

SCALE = """
scripts:
  - match: "scale"
    turns:
      - tool_calls: [{name: k_scale, args: {name: frontend, replicas: 4}}]
      - text: "frontend runs 4 replicas."
"""


async def test_a_second_engine_on_the_same_postgres_resumes_a_pending_approval(
    postgres_url: str, tmp_path: Path
) -> None:
    first = HarnessFactory(tmp_path / "a", database_url=postgres_url)
    async with first.stack:
        h = await first.open(SCALE)
        run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend")
        await h.engine.wait_run(run.id)
        assert (await h.store.get_run(run.id)).status == "awaiting_approval"
    assert first.cluster.mutations() == []

    second = HarnessFactory(tmp_path / "b", database_url=postgres_url)
    async with second.stack:
        h = await second.open(SCALE)
        await h.engine.recover()
        approval_id = await h.pending_approval_id(run.id)
        [item] = (await h.store.get_approval(approval_id)).items
        await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
        await h.engine.wait_run(run.id)
        assert second.cluster.mutations() == [("scale", "frontend", "4")]
        assert (await h.store.get_run(run.id)).status == "completed"
        assert (await stored_call(h.store, item.call_id)).status == "verified"
        assert (await h.store.verify_audit()).ok
