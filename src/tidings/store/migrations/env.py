"""Alembic environment: runs migrations on the connection handed in by ``store.migrate``."""

from __future__ import annotations

from alembic import context

from tidings.store import (
    tables_delivery,  # noqa: F401  (registers its tables)
    tables_gms,  # noqa: F401  (registers its tables)
    tables_servicedesk,  # noqa: F401  (registers its tables)
)
from tidings.store.migrate import is_modelled
from tidings.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic is run by hand
    raise RuntimeError("run migrations with `tidings migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    include_object=is_modelled,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
