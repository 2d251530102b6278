"""Bring a database to the newest schema with the Alembic migrations in this package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from tidings.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(db: Database, revision: str = "heads") -> None:
    """Upgrade to ``revision`` (every head: features add their tables on branches of
    their own); safe on every start and from several nodes, which queue on an
    advisory lock on PostgreSQL."""

    def upgrade(sync_conn: Connection) -> None:
        command.upgrade(alembic_config(sync_conn), revision)

    async with db.transaction() as conn:
        if not db.is_sqlite:
            from sqlalchemy import text

            await conn.execute(text("SELECT pg_advisory_xact_lock(7346193)"))
        await conn.run_sync(upgrade)
