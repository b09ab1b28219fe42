"""A long call's progress reaches the stream (and the store) between its start and its end."""

from __future__ import annotations

from pathlib import Path

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from tests.fixtures.engine import HarnessFactory, NameParams, engine_tools

HINTS = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
)


async def _watch(params: NameParams, env: ToolEnv) -> ToolOutput:
    for ready in (1, 2, 3):
        await env.report(f"{params.name}: {ready} of 3 replicas ready")
    return ToolOutput(ok=True, text=f"{params.name} is ready")


async def test_progress_of_a_read_is_streamed_between_its_start_and_its_end(
    tmp_path: Path,
) -> None:
    tools = {
        **engine_tools(),
        "k_watch": Tool("k_watch", "kubectl", "Watch.", NameParams, HINTS, _watch),
    }
    factory = HarnessFactory(tmp_path, tools=tools)
    async with factory.stack:
        h = await factory.open(
            """
scripts:
  - match: "watch"
    turns:
      - tool_calls: [{name: k_watch, args: {name: frontend}}]
      - text: "frontend is ready."
"""
        )
        run = await h.engine.submit_message(h.conversation.id, h.operator, "watch frontend")
        await h.engine.wait_run(run.id)

        stored = await h.events(run.id)
        kinds = [e.type for e in stored]
        started, finished = kinds.index("tool.started"), kinds.index("tool.finished")
        progress = [e for e in stored if e.type == "tool.progress"]
        assert [e.data["text"] for e in progress] == [
            f"frontend: {n} of 3 replicas ready" for n in (1, 2, 3)
        ]
        call_id = stored[started].data["call_id"]
        assert {e.data["call_id"] for e in progress} == {call_id}
        positions = [i for i, kind in enumerate(kinds) if kind == "tool.progress"]
        assert started < min(positions)
        assert max(positions) < finished
        assert (await h.store.get_run(run.id)).status == "completed"
