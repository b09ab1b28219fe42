"""`python -m opsgate.mcp`: serve every tool over stdio with settings from the environment.

The same as `opsgate mcp`; MCP clients that launch servers by command line use it. Warnings
about security settings taken from a `.env` file go to stderr; a configuration error (a short
approval key, say) ends it with the message and exit code 1.
"""

from __future__ import annotations

import sys

from opsgate import settings as settings_module
from opsgate.errors import OpsgateError
from opsgate.mcp import entry

if __name__ == "__main__":
    try:
        settings = settings_module.Settings()
        for warning in settings_module.env_file_warnings(settings):
            print(warning, file=sys.stderr)
        entry.run_stdio(settings)
    except OpsgateError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
