"""The opsgate MCP tool server and the engine's client of it.

- `server.create_server(env, tools, approval_key, clock, spent=store)`: a FastMCP server
  exposing every tool with its JSON schema and four annotations, plus the read-only
  `opsgate_preview` and `opsgate_verify` recipe tools (marked `_meta["opsgate/internal"]`).
- `gate`: approval tokens from `_meta["opsgate/approval_token"]`, single use across every
  tool server process (spent in the shared database).
- `confirm`: asks an MCP client's user to confirm a change through elicitation (the gateway's
  lower-assurance mode, `OPSGATE_MCP_CONFIRM=elicit`).
- `client.ToolClient`: one pooled session (in-memory or streamable HTTP with a bearer token).
- `entry.tool_server(settings)`, `entry.run_stdio(settings)` / `entry.run_http(settings, host,
  port)`: the tool server on its own (`python -m opsgate.mcp`); `opsgate mcp` is the gateway
  (`opsgate.api.gateway`) in front of the engine.
"""
