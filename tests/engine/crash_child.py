"""A child process for the restart and crash tests: it runs one engine, then dies or exits.

`python -m tests.engine.crash_child DIR pause` starts a scale and exits once it awaits approval;
`python -m tests.engine.crash_child DIR crash MARKER` also approves it and hangs inside the tool
call (after writing MARKER) until the parent kills it with SIGKILL; `... DIR opened MARKER`
hangs right after the approval request is opened, before the run pauses at the gate;
`... DIR decided MARKER` approves it and hangs right after the store committed the decision.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from tests.fixtures.engine import HarnessFactory

SCRIPT = """
scripts:
  - match: "scale"
    turns:
      - text: "Scaling frontend to 3."
        tool_calls: [{name: k_scale, args: {name: frontend, replicas: 3}}]
      - text: "Done."
"""


async def main(data_dir: Path, mode: str, marker: Path | None) -> None:
    factory = HarnessFactory(data_dir)
    if mode == "crash":
        factory.cluster.hang_marker = marker
    async with factory.stack:
        h = await factory.open(SCRIPT)
        if mode == "opened" and marker is not None:
            create_approval = h.store.create_approval

            async def create_then_hang(**kwargs: Any) -> Any:
                await create_approval(**kwargs)
                await asyncio.to_thread(marker.write_text, "opened")
                await asyncio.Event().wait()

            h.store.create_approval = create_then_hang  # type: ignore[method-assign]
        if mode == "decided" and marker is not None:
            decide = h.store.decide

            async def decide_then_hang(*args: Any, **kwargs: Any) -> Any:
                await decide(*args, **kwargs)
                await asyncio.to_thread(marker.write_text, "decided")
                await asyncio.Event().wait()

            h.store.decide = decide_then_hang  # type: ignore[method-assign]
        run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend to 3")
        await h.engine.wait_run(run.id)
        if mode in ("crash", "decided"):
            approval_id = await h.pending_approval_id(run.id)
            [item] = (await h.store.get_approval(approval_id)).items
            await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
            await h.engine.wait_run(run.id)


if __name__ == "__main__":
    marker_arg = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], marker_arg))
