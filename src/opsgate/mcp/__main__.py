"""`python -m opsgate.mcp`: serve every tool over stdio with settings from the environment.

The same as `opsgate mcp`; MCP clients that launch servers by command line use it. A
configuration error (a short approval key, say) ends it with the message and exit code 1.
"""

from __future__ import annotations

import sys

from opsgate.errors import OpsgateError
from opsgate.mcp import entry
from opsgate.settings import Settings

if __name__ == "__main__":
    try:
        entry.run_stdio(Settings())
    except OpsgateError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
