"""Replicas that start at the same moment on one fresh PostgreSQL database all come up: the
checkpointer's tables are created by one of them at a time."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from opsgate.engine.graph import open_checkpointer

pytestmark = pytest.mark.postgres


async def test_checkpointers_set_up_at_once_on_one_database_all_open(
    postgres_url: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        savers = await asyncio.gather(
            *(
                stack.enter_async_context(open_checkpointer(postgres_url, tmp_path / str(i)))
                for i in range(6)
            )
        )
        assert len(savers) == 6
        config = {"configurable": {"thread_id": "nothing-here"}}
        assert all([await saver.aget_tuple(config) is None for saver in savers])  # type: ignore[arg-type]
