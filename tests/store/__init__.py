"""Conformance suite of the store: every test runs on SQLite and PostgreSQL."""
