"""opsgate.sandbox (see DESIGN.md, Packages)."""
