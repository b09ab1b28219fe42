"""The compiled LangGraph graph: plan → classify → reads → approval gate → execute → verify.

Built once per process by `Engine` from its `Steps`; checkpointed per run (thread id = run id)
so a run paused at the gate survives a restart. The run's state is one channel and each node
names the next in its update (see `_node`). `open_checkpointer` picks the saver: SQLite
file in the data directory by default, PostgreSQL when the database is PostgreSQL.

    START ─┬─> plan ─> classify ─> execute_reads ─> request_approval ─> gate ─> execute ─> verify
           │    ^                    │                                                     │
           │    └──── chat ──────────┴── direct: answer ─────────── plan | answer <────────┘
           └─ direct calls start at classify; any node may route to finish (stop, limits)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol, get_args

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from opsgate.engine.deps import Tracer
from opsgate.engine.recorder import Recorder
from opsgate.engine.saver import ThreadedSqliteSaver
from opsgate.engine.state import GraphState, Route, RunState
from opsgate.engine.steps import Steps
from opsgate.store import db

CHECKPOINT_FILE = "checkpoints.sqlite"

NODES: tuple[Route, ...] = get_args(Route)


def _start(state: GraphState) -> Route:
    return "classify" if state["run"]["kind"] == "direct" else "plan"


Node = Callable[[RunState], Awaitable[RunState]]


class _GraphNode(Protocol):
    def __call__(self, state: GraphState) -> Awaitable[GraphState | Command[Route]]: ...


def _node(node: Node, routed: bool, recorder: Recorder, tracer: Tracer) -> _GraphNode:
    """The step as a graph node: run it on the run's state and merge its update back in.

    A routed step names the next node in its update's `next`; it travels with the update in
    one `Command`, so LangGraph evaluates no branch over the state after every node. Before
    each step the engine waits for its record writer if that has fallen behind. Each step is
    a span (`opsgate.step`) saying where it went next, or that it paused the run at the gate.
    """
    name = getattr(node, "__name__", "step")

    async def step(state: GraphState) -> GraphState | Command[Route]:
        await recorder.keep_up()
        attributes = {"opsgate.step": name, "opsgate.run_id": state["run"]["run_id"]}
        with tracer.span("opsgate.step", attributes) as span:
            try:
                update = await node(state["run"])
            except GraphBubbleUp:
                # LangGraph's interrupt: the run waits at the gate, nothing failed.
                span.set("opsgate.step.outcome", "paused")
                raise
            except Exception as e:
                span.fail(type(e).__name__)
                raise
            span.set("opsgate.step.outcome", "ok")
            span.set("opsgate.step.next", str(update.get("next", "end")))
        if routed:
            return Command(update={"run": update}, goto=update["next"])
        return {"run": update}

    step.__name__ = name
    return step


def build_graph(
    steps: Steps, checkpointer: BaseCheckpointSaver[str] | None
) -> CompiledStateGraph[GraphState, None, GraphState, GraphState]:
    """Compile the loop over `steps`; every node names the next one in its update's `next`."""
    builder: StateGraph[GraphState, None, GraphState, GraphState] = StateGraph(GraphState)
    routed: dict[Route, Node] = {
        "plan": steps.plan,
        "classify": steps.classify,
        "execute_reads": steps.execute_reads,
        "request_approval": steps.request_approval,
        "gate": steps.gate,
        "execute": steps.execute,
        "verify": steps.verify,
    }
    for name, node in routed.items():
        builder.add_node(
            name, _node(node, True, steps.recorder, steps.deps.tracer), destinations=NODES
        )
    builder.add_node("answer", _node(steps.answer, False, steps.recorder, steps.deps.tracer))
    builder.add_node("finish", _node(steps.finish, False, steps.recorder, steps.deps.tracer))
    builder.add_conditional_edges(START, _start, ["plan", "classify"])
    builder.add_edge("answer", END)
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer)


@asynccontextmanager
async def open_checkpointer(
    database_url: str | None, data_dir: Path
) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """The checkpoint saver for this deployment, set up and closed with the context."""
    if database_url and database_url.startswith("postgresql"):
        # Imported here: it brings psycopg, which a SQLite deployment never needs.
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        async with AsyncPostgresSaver.from_conn_string(conninfo) as saver:
            # Replicas starting together would each run LangGraph's migrations and collide
            # on its migrations table: one at a time.
            async with db.session_lock(conninfo, db.CHECKPOINT_SETUP_LOCK_KEY):
                await saver.setup()
            yield saver
        return
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    sqlite_saver = ThreadedSqliteSaver(data_dir / CHECKPOINT_FILE)
    try:
        await sqlite_saver.asetup()
        yield sqlite_saver
    finally:
        await sqlite_saver.aclose()
