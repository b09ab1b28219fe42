"""Alembic migrations of the store, applied by `opsgate.store.sql.open_store` at open."""
