"""A worker process for the multi-process audit test: opens the store and appends events.

Kept apart from the test module so the forkserver can preload it (imports are the slow part).
"""

from __future__ import annotations

import asyncio
from typing import Any

from opsgate.store import sql


async def _append(
    url: str, secret_key: bytes, audit_key: bytes, worker: int, count: int, start: Any
) -> None:
    store = await sql.open_store(url, secret_key=secret_key, audit_key=audit_key)
    try:
        # Every worker waits here so that the appends really interleave.
        await asyncio.to_thread(start.wait, 60)
        for i in range(count):
            await store.append_audit(
                "verify", {"worker": worker, "i": i}, actor_id=None, actor_name=f"w{worker}"
            )
            # A pause between appends: SQLite's busy handler makes waiting writers sleep, so a
            # worker appending back to back could finish before the others get the lock once.
            await asyncio.sleep(0.002)
    finally:
        await store.close()


def append_events(
    url: str, secret_key: bytes, audit_key: bytes, worker: int, count: int, start: Any
) -> None:
    """Process entry point: append `count` events tagged with `worker`."""
    asyncio.run(_append(url, secret_key, audit_key, worker, count, start))
