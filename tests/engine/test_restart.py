"""Pending approvals survive a restart; a crash during a mutation leaves `outcome_unknown`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opsgate.engine.deps import Limits
from opsgate.errors import Conflict
from tests.fixtures.calls import stored_call
from tests.fixtures.engine import HarnessFactory

ROOT = Path(__file__).resolve().parents[2]


def _child(data_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.crash_child", str(data_dir), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
async def test_pending_approval_survives_a_process_restart(tmp_path: Path) -> None:
    child = _child(tmp_path, "pause")
    _, stderr = await asyncio.to_thread(child.communicate, timeout=90)
    assert child.returncode == 0, stderr.decode()[-2000:]

    factory = HarnessFactory(tmp_path)
    async with factory.stack:
        h = await factory.open(
            """
scripts:
  - match: "scale"
    turns:
      - text: "Scaling frontend to 3."
        tool_calls: [{name: k_scale, args: {name: frontend, replicas: 3}}]
      - text: "Done: frontend has 3 replicas."
"""
        )
        await h.engine.recover()
        [run] = await h.store.list_runs(h.conversation.id)
        assert run.status == "awaiting_approval"
        approval_id = await h.pending_approval_id(run.id)
        [item] = (await h.store.get_approval(approval_id)).items
        await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
        await h.engine.wait_run(run.id)
        assert h.cluster.mutations() == [("scale", "frontend", "3")]
        finished = await h.store.get_run(run.id)
        assert finished.status == "completed"
        answers = [e.data["text"] for e in await h.events(run.id) if e.type == "answer"]
        assert answers == ["Done: frontend has 3 replicas."]


SCRIPT_AFTER_RESTART = """
scripts:
  - match: "scale"
    turns:
      - text: "Scaling frontend to 3."
        tool_calls: [{name: k_scale, args: {name: frontend, replicas: 3}}]
      - text: "Done: frontend has 3 replicas."
"""


async def _kill_child_at(tmp_path: Path, mode: str) -> None:
    """Run the child in `mode` and SIGKILL it once it has written its marker."""
    marker = tmp_path / f"{mode}-marker"
    child = _child(tmp_path, mode, str(marker))
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"the child never reached its {mode!r} point"
            await asyncio.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        await asyncio.to_thread(child.communicate, timeout=30)


@pytest.mark.slow
async def test_kill_during_a_mutation_leaves_outcome_unknown_and_no_second_run(
    tmp_path: Path,
) -> None:
    await _kill_child_at(tmp_path, "crash")

    factory = HarnessFactory(tmp_path)
    async with factory.stack:
        h = await factory.open(None)
        [run] = await h.store.list_runs(h.conversation.id)
        [call] = await h.store.list_calls(run_id=run.id)
        assert call.status == "running"
        await h.engine.recover()
        await h.engine.wait_idle()
        assert (await stored_call(h.store, call.id)).status == "outcome_unknown"
        assert (await h.store.get_run(run.id)).status == "failed"
        kinds = [a.kind for a in await h.store.list_audit(limit=1000)]
        assert "tool.outcome_unknown" in kinds
        with pytest.raises(Conflict):
            await h.engine.decide(
                call.approval_id or "", call.id, h.approver, approve=True, reason=None
            )
        await h.engine.recover()
        await h.engine.wait_idle()
        assert h.cluster.calls == []
        assert (await stored_call(h.store, call.id)).status == "outcome_unknown"


@pytest.mark.slow
async def test_kill_after_opening_an_approval_fails_the_run_and_closes_the_request(
    tmp_path: Path,
) -> None:
    await _kill_child_at(tmp_path, "opened")

    factory = HarnessFactory(tmp_path)
    async with factory.stack:
        h = await factory.open(None)
        [run] = await h.store.list_runs(h.conversation.id)
        [request] = await h.store.list_approvals(conversation_id=h.conversation.id)
        assert (run.status, request.status) == ("running", "pending")

        await h.engine.recover()
        await h.engine.wait_idle()

        assert (await h.store.get_run(run.id)).status == "failed"
        closed = await h.store.get_approval(request.id)
        assert closed.status == "expired"
        assert [(await stored_call(h.store, i.call_id)).status for i in closed.items] == ["expired"]
        with pytest.raises(Conflict):
            await h.engine.decide(
                request.id, closed.items[0].call_id, h.approver, approve=True, reason=None
            )
        assert h.cluster.mutations() == []
        audit = await h.store.list_audit(limit=1000)
        expired = [a for a in audit if a.kind == "approval.expired"]
        assert [a.payload["reason"] for a in expired] == ["the run was cut off by a restart"]
        assert audit[-1].kind == "run.finished"
        assert audit[-1].payload["status"] == "failed"
        assert (await h.store.verify_audit()).ok


async def test_recovery_fails_runs_cut_off_between_steps_and_keeps_paused_ones(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(
        """
scripts:
  - match: "scale"
    turns:
      - tool_calls: [{name: k_scale, args: {name: frontend, replicas: 3}}]
      - text: "Done."
"""
    )
    paused = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend")
    await h.engine.wait_run(paused.id)
    # A run whose process died mid-model-turn: open in the store, no task, no checkpoint.
    orphan = await h.store.create_run(h.conversation.id, "chat", h.operator.id)

    await h.engine.recover()
    await h.engine.wait_idle()

    assert (await h.store.get_run(orphan.id)).status == "failed"
    assert (await h.store.get_run(paused.id)).status == "awaiting_approval"
    approval_id = await h.pending_approval_id(paused.id)
    [item] = (await h.store.get_approval(approval_id)).items
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(paused.id)
    assert h.cluster.mutations() == [("scale", "frontend", "3")]
    assert (await h.store.get_run(paused.id)).status == "completed"


@pytest.mark.slow
async def test_a_kill_right_after_a_decision_never_runs_a_change_without_its_granted_event(
    tmp_path: Path,
) -> None:
    await _kill_child_at(tmp_path, "decided")
    factory = HarnessFactory(tmp_path)
    async with factory.stack:
        h = await factory.open(SCRIPT_AFTER_RESTART)
        await h.engine.recover()  # the decided request resumes its run
        await h.engine.wait_idle()
        assert h.cluster.mutations() == [("scale", "frontend", "3")]
        audit = await h.store.list_audit(limit=1000)
        [granted] = [a for a in audit if a.kind == "approval.granted"]
        [started] = [a for a in audit if a.kind == "tool.started" and a.call_id == granted.call_id]
        assert granted.seq < started.seq
        assert granted.actor_name == "arne"


async def test_a_second_engine_never_settles_a_live_engines_running_change(
    tmp_path: Path,
) -> None:
    """Two engines (replicas) on one database: recovery respects the live owner's lease."""
    first = HarnessFactory(tmp_path)
    second = HarnessFactory(tmp_path, engine_id="engine-b")
    async with first.stack, second.stack:
        a = await first.open(None)
        started, released = asyncio.Event(), asyncio.Event()

        async def hang(argv: tuple[str, ...]) -> None:
            if argv[0] == "scale":
                started.set()
                await released.wait()  # the change takes its time on engine A

        a.cluster.on_run = hang
        await a.engine.recover()  # engine A starts: its lease begins
        run = await a.engine.submit_call(
            a.conversation.id, a.operator, "k_scale", {"name": "api", "replicas": 4}
        )
        await a.engine.wait_run(run.id)
        approval_id = await a.pending_approval_id(run.id)
        [item] = (await a.store.get_approval(approval_id)).items
        await a.engine.decide(approval_id, item.call_id, a.approver, approve=True, reason=None)
        await asyncio.wait_for(started.wait(), 10)

        b = await second.open(None)
        b.clock.now = a.clock.now
        await b.engine.recover()  # a second replica starts while A's change runs
        assert (await stored_call(b.store, item.call_id)).status == "running"
        assert (await b.store.get_run(run.id)).status == "running"

        # Engine A stops renewing its lease (its process is gone); B's sweep takes over.
        b.clock.now += Limits().lease_s + 1
        await b.engine.sweep()
        assert (await stored_call(b.store, item.call_id)).status == "outcome_unknown"
        finished = await b.store.get_run(run.id)
        assert (finished.status, finished.owner_id) == ("failed", "engine-b")
        released.set()


async def test_a_sweep_leaves_a_run_of_this_engine_that_has_not_started_its_task_yet(
    harnesses: HarnessFactory,
) -> None:
    """Between `create_run` and its task's start the run is ours and has no task: a periodic
    sweep must not fail it as interrupted (it did: a browser run ended "interrupted by a
    restart" while it ran); only a start-up settles what an earlier process left."""
    h = await harnesses.open(None)
    engine_id = h.engine.deps.engine_id
    starting = await h.store.create_run(
        h.conversation.id, "chat", h.operator.id, owner_id=engine_id
    )
    await h.engine.sweep()
    assert (await h.store.get_run(starting.id)).status == "running"
    await h.engine.recover()
    assert (await h.store.get_run(starting.id)).status == "failed"
