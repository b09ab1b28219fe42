"""The kubectl tool family: reads run freely, mutations wait for approval.

`TOOLS` is collected by `opsgate.tools.registry`; the builders, parameter models and the
exec policy are importable for tests and the engine.
"""

from __future__ import annotations

from opsgate.tools.base import Tool
from opsgate.tools.diagnose import tool as diagnose
from opsgate.tools.kubectl import mutations, reads
from opsgate.tools.kubectl.exec_policy import exec_is_read_only

TOOLS: list[Tool] = [*reads.TOOLS, *diagnose.TOOLS, *mutations.TOOLS]

__all__ = ["TOOLS", "exec_is_read_only"]
