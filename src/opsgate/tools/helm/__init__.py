"""The helm tool family: 9 reads and 7 mutations over the real helm binary.

`TOOLS` is collected by `opsgate.tools.registry`; the argv builders (`argv`), parameter models
(`params`) and recipes (`previews`, `verifies`) are importable for tests and the engine.
"""

from __future__ import annotations

from opsgate.tools.base import Tool
from opsgate.tools.helm import mutations, reads

TOOLS: list[Tool] = [*reads.TOOLS, *mutations.TOOLS]

__all__ = ["TOOLS"]
