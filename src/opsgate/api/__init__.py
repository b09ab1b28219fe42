"""opsgate.api (see DESIGN.md, Packages)."""
