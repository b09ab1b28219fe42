"""The Argo Rollouts tool family: reads and mutations on `rollouts.argoproj.io` through kubectl.

`TOOLS` is collected by `opsgate.tools.registry`. No Argo binary is needed: the mutations send
the same patches the `kubectl argo rollouts` plugin sends.
"""

from __future__ import annotations

from opsgate.tools.argo import mutations, reads
from opsgate.tools.base import Tool

TOOLS: list[Tool] = [*reads.TOOLS, *mutations.TOOLS]
