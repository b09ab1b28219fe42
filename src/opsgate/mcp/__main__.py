"""`python -m opsgate.mcp`: the engine's tool server over stdio, settings from the environment.

Mutations run only with an approval token the engine minted, so an outside MCP client can read
but never change anything here; outside clients connect to `opsgate mcp` (the gateway in
`opsgate.api.gateway`), whose changes wait for a person's approval. Warnings
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
