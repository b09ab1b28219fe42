"""The engine's ticker: renew its lease, take over runs of gone engines, expire approvals.

Run by the app's lifespan (`opsgate.api.app`) and by the MCP gateway
(`opsgate.api.gateway.serve`); a module of its own so that the gateway, which serves no HTTP
API, does not import the FastAPI app and every route to get it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

log = logging.getLogger("opsgate.api")


class Sweeping(Protocol):
    """What the ticker needs of the engine (`Engine.sweep`)."""

    async def sweep(self) -> Any: ...


async def sweep_forever(engine: Sweeping, every_s: float) -> None:
    """Call `engine.sweep()` every `every_s` seconds until cancelled; a failed sweep is logged
    and the next one runs on time."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await engine.sweep()
        except Exception:
            log.exception("the engine's sweep failed")
