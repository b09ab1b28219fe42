"""The compiled LangGraph graph: plan → classify → reads → approval gate → execute → verify.

Built once per process by `Engine` from its `Steps`; checkpointed per run (thread id = run id)
so a run paused at the gate survives a restart. `open_checkpointer` picks the saver: SQLite
file in the data directory by default, PostgreSQL when the database is PostgreSQL.

    START ─┬─> plan ─> classify ─> execute_reads ─> request_approval ─> gate ─> execute ─> verify
           │    ^                    │                                                     │
           │    └──── chat ──────────┴── direct: answer ─────────── plan | answer <────────┘
           └─ direct calls start at classify; any node may route to finish (stop, limits)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from opsgate.engine.state import Route, RunState
from opsgate.engine.steps import Steps

CHECKPOINT_FILE = "checkpoints.sqlite"

NODES: tuple[Route, ...] = (
    "plan",
    "classify",
    "execute_reads",
    "request_approval",
    "gate",
    "execute",
    "verify",
    "answer",
    "finish",
)


def _route(state: RunState) -> Route:
    return state["next"]


def _start(state: RunState) -> Route:
    return "classify" if state["kind"] == "direct" else "plan"


def build_graph(
    steps: Steps, checkpointer: BaseCheckpointSaver[str] | None
) -> CompiledStateGraph[RunState, None, RunState, RunState]:
    """Compile the loop over `steps`; every branch is chosen by the node's `next`."""
    builder: StateGraph[RunState, None, RunState, RunState] = StateGraph(RunState)
    builder.add_node("plan", steps.plan)
    builder.add_node("classify", steps.classify)
    builder.add_node("execute_reads", steps.execute_reads)
    builder.add_node("request_approval", steps.request_approval)
    builder.add_node("gate", steps.gate)
    builder.add_node("execute", steps.execute)
    builder.add_node("verify", steps.verify)
    builder.add_node("answer", steps.answer)
    builder.add_node("finish", steps.finish)
    builder.add_conditional_edges(START, _start, ["plan", "classify"])
    for node in NODES[:-2]:
        builder.add_conditional_edges(node, _route, list(NODES))
    builder.add_edge("answer", END)
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer)


@asynccontextmanager
async def open_checkpointer(
    database_url: str | None, data_dir: Path
) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """The checkpoint saver for this deployment, set up and closed with the context."""
    if database_url and database_url.startswith("postgresql"):
        conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        async with AsyncPostgresSaver.from_conn_string(conninfo) as saver:
            await saver.setup()
            yield saver
        return
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    async with aiosqlite.connect(str(data_dir / CHECKPOINT_FILE)) as connection:
        sqlite_saver = AsyncSqliteSaver(connection)
        await sqlite_saver.setup()
        yield sqlite_saver
