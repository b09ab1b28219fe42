"""The one-hop SQLite saver: LangGraph's own format, readable by LangGraph's own saver."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from opsgate.engine.saver import ThreadedSqliteSaver


class Count(TypedDict):
    n: int


def _graph(saver: ThreadedSqliteSaver) -> CompiledStateGraph[Count, None, Count, Count]:
    builder: StateGraph[Count, None, Count, Count] = StateGraph(Count)
    builder.add_node("one", lambda state: {"n": state["n"] + 1})
    builder.add_node("two", lambda state: {"n": state["n"] * 10})
    builder.add_edge(START, "one")
    builder.add_edge("one", "two")
    builder.add_edge("two", END)
    return builder.compile(checkpointer=saver)


async def test_checkpoints_round_trip_and_read_back_with_langgraphs_own_saver(
    tmp_path: Path,
) -> None:
    path = tmp_path / "checkpoints.sqlite"
    saver = ThreadedSqliteSaver(path)
    await saver.asetup()
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    try:
        assert await _graph(saver).ainvoke({"n": 1}, config, durability="async") == {"n": 20}
        latest = await saver.aget_tuple(config)
        assert latest is not None
        assert latest.checkpoint["channel_values"]["n"] == 20
        history = [c async for c in saver.alist(config)]
        assert len(history) >= 3  # input, after one, after two
        assert history[0].checkpoint["id"] == latest.checkpoint["id"]
    finally:
        await saver.aclose()

    with sqlite3.connect(path, check_same_thread=False) as conn:
        stock = SqliteSaver(conn).get_tuple(config)
    assert stock is not None
    assert stock.checkpoint["id"] == latest.checkpoint["id"]
    assert stock.checkpoint["channel_values"]["n"] == 20


async def test_a_thread_is_deleted_whole(tmp_path: Path) -> None:
    saver = ThreadedSqliteSaver(tmp_path / "checkpoints.sqlite")
    await saver.asetup()
    config: RunnableConfig = {"configurable": {"thread_id": "gone"}}
    try:
        await _graph(saver).ainvoke({"n": 2}, config)
        await saver.adelete_thread("gone")
        assert await saver.aget_tuple(config) is None
    finally:
        await saver.aclose()
