"""The Jenkins tool family: 11 reads and 3 mutations over Jenkins's REST API (httpx).

`opsgate.tools.registry` imports `TOOLS`. Every tool takes `server`, the name of a Jenkins
server an admin configured (`ToolEnv.jenkins`), never a URL or credentials. Request URLs are
built by the pure functions of `urls.py` and always stay under the server's base URL.
"""

from __future__ import annotations

from opsgate.tools.base import Tool
from opsgate.tools.jenkins import diagnose, mutations, reads

TOOLS: list[Tool] = [*reads.TOOLS, *diagnose.TOOLS, *mutations.TOOLS]

__all__ = ["TOOLS"]
