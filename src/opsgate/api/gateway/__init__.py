"""The MCP gateway: opsgate's tools for any MCP client, every call through the engine's gate.

`opsgate mcp` serves it (stdio or streamable HTTP). An outside client's call takes the same
path as the Command Center's tool palette (`Engine.submit_call`): classify, preview, approval
request, gate, execute, verify, audit. Reads come back at once; a mutation waits for a
person's decision in the Command Center (or the CLI) and returns what really happened.

- `calls.Gateway`: one call of one client as a direct run, followed to its outcome.
- `front.create_front`: the FastMCP server listing the engine's tools, one per client call.
- `http_guard`: bearer API tokens, protected resource metadata, Host/Origin allowlist.
- `serve`: opens the store, the engine and the front from `Settings` (stdio or HTTP).
"""
