"""`python -m opsgate.mcp`: serve every tool over stdio with settings from the environment.

The same as `opsgate mcp`; MCP clients that launch servers by command line use it.
"""

from __future__ import annotations

from opsgate.mcp import entry
from opsgate.settings import Settings

if __name__ == "__main__":
    entry.run_stdio(Settings())
