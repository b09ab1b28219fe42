"""opsgate.cli (see DESIGN.md, Packages)."""
