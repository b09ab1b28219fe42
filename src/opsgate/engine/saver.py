"""The SQLite checkpoint saver: LangGraph's `SqliteSaver`, driven from async code on one thread.

LangGraph's `AsyncSqliteSaver` goes through aiosqlite, which crosses to its thread and back for
every statement, cursor close and commit: five or six round trips per checkpoint write, paid
at every step of every run. This saver runs each whole operation (serialise, insert, commit)
as one job on a thread of its own, so a checkpoint write costs one round trip. The database,
its tables and the stored format are LangGraph's own (`SqliteSaver`), so either saver can read
what the other wrote.

WAL with `synchronous=NORMAL`, as for the store: a killed process loses nothing committed, and
a commit costs no fsync; only a power loss may drop the last checkpoints.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.sqlite import SqliteSaver

T = TypeVar("T")


class ThreadedSqliteSaver(SqliteSaver):
    """`SqliteSaver` whose async methods each run as one job on the saver's own thread."""

    def __init__(self, path: Path) -> None:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        super().__init__(conn)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsgate-ckpt")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def asetup(self) -> None:
        await self._run(self.setup)

    async def aclose(self) -> None:
        """Finish queued writes, then close the database."""
        self._thread.shutdown(wait=True)
        self.conn.close()

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        def collect() -> list[CheckpointTuple]:
            return list(self.list(config, filter=filter, before=before, limit=limit))

        for item in await self._run(collect):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._run(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._run(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(self.delete_thread, thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        def history() -> Mapping[str, DeltaChannelHistory]:
            return self.get_delta_channel_history(config=config, channels=channels)

        return await self._run(history)
