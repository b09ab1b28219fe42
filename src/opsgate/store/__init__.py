"""opsgate.store (see DESIGN.md, Packages)."""
