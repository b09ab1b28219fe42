"""Alembic environment, run only programmatically by `opsgate.store.sql.open_store`.

The caller passes an open synchronous connection in `config.attributes["connection"]`; there
is no alembic.ini and no logging setup here (the application owns logging).
"""

from __future__ import annotations

from alembic import context

from opsgate.store.db import VERSION_TABLE
from opsgate.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
