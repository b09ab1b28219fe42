"""What the engine adds to a tool loop: opsgate's graph vs a bare LangGraph loop, same work.

Both sides run the same scripted conversation (20 model turns with one read call of a no-op
tool each, then an answer) with the same `ScriptedModel`, the same MCP server and in-process
`ToolClient`, and a SQLite checkpoint written at every step in the same durability mode
(`engine.DURABILITY`, LangGraph's default) and the same SQLite settings (WAL, NORMAL sync).
The bare side is a two-node LangGraph loop (model -> tools -> model) on LangGraph's stock
`AsyncSqliteSaver` and records nothing else; opsgate adds validation, classification, a
third node per step, the store's records (calls, messages, stream events, the audit chain)
and the live bus, on its own saver (`engine.saver`). Rounds are interleaved, alternating
which side goes first.

Prints per-side medians, the absolute overhead per step, and last
`engine_overhead_ratio=<median of per-round ratios>` (target <= 1.5).

Run: `.venv/bin/python bench/engine_overhead.py [--rounds N] [--calls N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Literal, TypedDict

import aiosqlite
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from opsgate.domain.calls import ToolAnnotations
from opsgate.engine import factory, graph
from opsgate.engine.bus import EventBus
from opsgate.engine.deps import EngineDeps, Limits
from opsgate.engine.engine import DURABILITY, Engine
from opsgate.engine.models.base import ModelMessage
from opsgate.engine.models.scripted import ScriptedModel
from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.store import sql
from opsgate.tools.base import CommandResult, Tool, ToolEnv, ToolOutput, ToolParams

KEY = b"bench-approval-key-0123456789abcdef"
SECRET = b"bench-secret-key-0123456789abcdef"
AUDIT_KEY = b"bench-audit-key-0123456789abcdefgh"


class NoopParams(ToolParams):
    name: str = "x"
    context: str | None = None


async def _noop(params: NoopParams, env: ToolEnv) -> ToolOutput:
    return ToolOutput(ok=True, text=f"{params.name}: ok", exit_code=0)


class _NoRunner:
    async def run(self, argv: Any, **kwargs: Any) -> CommandResult:
        raise AssertionError("the no-op tool never runs a command")


def noop_tool() -> dict[str, Tool]:
    hints = ToolAnnotations(
        readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
    )
    return {"noop": Tool("noop", "kubectl", "Does nothing.", NoopParams, hints, _noop)}


def script(calls: int) -> str:
    turns = "".join(
        f"      - tool_calls: [{{name: noop, args: {{name: n{i}}}}}]\n" for i in range(calls)
    )
    return f'scripts:\n  - match: "bench"\n    turns:\n{turns}      - text: "all quiet"\n'


class TimedStore:
    """Wraps the store to measure how much of opsgate's time is spent in its records."""

    def __init__(self, store: sql.SqlStore) -> None:
        self._store = store
        self.calls = 0
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if not asyncio.iscoroutinefunction(method):
            return method

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - started

        return timed


class BareState(TypedDict):
    messages: list[dict[str, Any]]


def bare_loop(model: ScriptedModel, client: ToolClient, saver: AsyncSqliteSaver) -> Any:
    """The smallest honest LangGraph tool loop: model node, tools node, checkpointed."""

    async def call_model(state: BareState) -> BareState:
        history = [ModelMessage.model_validate(m) for m in state["messages"]]
        text, calls = "", []
        async for chunk in model.stream(history, []):
            text += chunk.text
            calls += chunk.tool_calls
        reply = ModelMessage(role="assistant", content=text, tool_calls=calls)
        return {"messages": [*state["messages"], reply.model_dump(mode="json")]}

    async def call_tools(state: BareState) -> BareState:
        messages = list(state["messages"])
        for call in ModelMessage.model_validate(messages[-1]).tool_calls:
            result = await client.call(call.name, call.args)
            reply = ModelMessage(role="tool", content=result.text, tool_call_id=call.id)
            messages.append(reply.model_dump(mode="json"))
        return {"messages": messages}

    def route(state: BareState) -> Literal["tools", "__end__"]:
        return "tools" if state["messages"][-1].get("tool_calls") else END

    builder: StateGraph[BareState, None, BareState, BareState] = StateGraph(BareState)
    builder.add_node("model", call_model)
    builder.add_node("tools", call_tools)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tools", END])
    builder.add_edge("tools", "model")
    return builder.compile(checkpointer=saver)


async def main(rounds: int, calls: int) -> None:
    model = ScriptedModel.from_yaml(script(calls))
    tools = noop_tool()
    env = ToolEnv(runner=_NoRunner(), kubectl=Path("/nonexistent"), helm=Path("/nonexistent"))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        async with AsyncExitStack() as stack:
            store = await sql.open_store(
                f"sqlite+aiosqlite:///{data / 'opsgate.db'}", secret_key=SECRET, audit_key=AUDIT_KEY
            )
            stack.push_async_callback(store.close)
            client = ToolClient.in_memory(create_server(env, tools, KEY, spent=store))
            await stack.enter_async_context(client)
            saver = await stack.enter_async_context(graph.open_checkpointer(None, data))
            limits = Limits(max_model_turns=calls + 5, max_tool_calls=calls + 5)
            timed = TimedStore(store)
            specs = await factory.tool_specs(client)
            deps = EngineDeps(
                model, client, specs, timed, EventBus(), KEY, SECRET, time.time, limits
            )  # type: ignore[arg-type]
            engine = Engine(deps, saver)
            stack.push_async_callback(engine.aclose)
            user = await store.create_user("bench", "operator", None)
            conversation = await store.create_conversation("bench", user.id, ["bench"])
            bare_conn = await stack.enter_async_context(aiosqlite.connect(str(data / "bare.db")))
            await bare_conn.execute("PRAGMA synchronous=NORMAL")  # opsgate's durability
            bare_saver = AsyncSqliteSaver(bare_conn)
            await bare_saver.setup()
            bare = bare_loop(model, client, bare_saver)

            async def run_opsgate() -> float:
                started = time.perf_counter()
                run = await engine.submit_message(conversation.id, user, "bench the engine")
                await engine.wait_run(run.id)
                elapsed = time.perf_counter() - started
                status = (await store.get_run(run.id)).status
                assert status == "completed", status
                return elapsed

            async def run_bare(index: int) -> float:
                config: RunnableConfig = {"configurable": {"thread_id": f"bare-{index}"}}
                request = ModelMessage(role="user", content="bench the engine").model_dump()
                started = time.perf_counter()
                final = await bare.ainvoke({"messages": [request]}, config, durability=DURABILITY)
                elapsed = time.perf_counter() - started
                assert final["messages"][-1]["content"] == "all quiet"
                return elapsed

            await run_opsgate()  # warm-up of both sides (imports, first connections)
            await run_bare(-1)
            opsgate_times: list[float] = []
            bare_times: list[float] = []
            ratios: list[float] = []
            timed.calls, timed.seconds = 0, 0.0
            for index in range(rounds):
                if index % 2 == 0:
                    ours, theirs = await run_opsgate(), await run_bare(index)
                else:
                    theirs = await run_bare(index)
                    ours = await run_opsgate()
                opsgate_times.append(ours)
                bare_times.append(theirs)
                ratios.append(ours / theirs)

    steps = rounds * (calls + 1)
    ours_ms = statistics.median(opsgate_times) * 1000
    bare_ms = statistics.median(bare_times) * 1000
    print(f"rounds={rounds} read_calls_per_run={calls}")
    print(f"bare_langgraph_loop_median_ms={bare_ms:.1f}")
    print(f"opsgate_graph_median_ms={ours_ms:.1f}")
    print(f"overhead_per_step_ms={(ours_ms - bare_ms) / (calls + 1):.2f}")
    print(f"store_calls_per_step={timed.calls / steps:.1f}")
    print(f"store_ms_per_step={timed.seconds * 1000 / steps:.2f}")
    print(f"engine_overhead_ratio={statistics.median(ratios):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.calls))
