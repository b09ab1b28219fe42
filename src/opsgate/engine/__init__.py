"""opsgate.engine (see DESIGN.md, Packages)."""
