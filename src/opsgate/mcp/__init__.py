"""opsgate.mcp (see DESIGN.md, Packages)."""
