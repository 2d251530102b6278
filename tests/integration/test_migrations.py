"""Migrations: one linear history that builds exactly the schema ``tables.py`` declares,
and databases stamped by the old, branched history upgrade without re-running anything."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from tests.services import require_postgres
from tidings.store import (
    tables_delivery,  # noqa: F401  (registers its tables)
    tables_gms,  # noqa: F401  (registers its tables)
    tables_servicedesk,  # noqa: F401  (registers its tables)
)
from tidings.store.database import Database
from tidings.store.migrate import (
    MIGRATIONS,
    SEARCH_OBJECTS,
    alembic_config,
    history,
    is_modelled,
    migrate,
)
from tidings.store.tables import metadata

#: The heads a database migrated by the branched history carries.
OLD_HEADS = ["0002_delivery", "0003_servicedesk", "0007_gms_owner"]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(require_postgres())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.db'}", pool_size=1)
        yield db
        await db.close()
        return
    admin = require_postgres()
    name = f"tidings_migrations_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    db = Database(f"{base}/{name}", pool_size=1)
    try:
        yield db
    finally:
        await db.close()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _sync(db: Database, work: Any) -> Any:
    async with db.transaction() as conn:
        return await conn.run_sync(work)


def _stamped(conn: Connection) -> list[str]:
    return sorted(row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version")))


def _stamp(revisions: list[str]) -> Any:
    def work(conn: Connection) -> None:
        conn.execute(text("DELETE FROM alembic_version"))
        for revision in revisions:
            conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})

    return work


def test_the_history_is_one_line() -> None:
    """One head; every revision's parent is the one before it; every file is in the line."""
    script = ScriptDirectory.from_config(alembic_config())
    line = history()
    assert len(script.get_heads()) == 1, script.get_heads()
    assert script.get_heads() == [line[-1]]
    parents = [script.get_revision(rev).down_revision for rev in line]
    assert parents == [None, *line[:-1]]
    files = sorted((MIGRATIONS / "versions").glob("0*.py"))
    assert len(files) == len(line), "a revision file outside the line"
    print(f"revisions in the line: {len(line)}: {' -> '.join(line)}")


async def test_upgrade_from_empty_gives_exactly_the_declared_tables(empty_db: Database) -> None:
    """``alembic upgrade head`` on an empty database matches ``tables.py``: Alembic's
    ``compare_metadata`` (types, nullability, indexes, keys) finds no difference."""
    await migrate(empty_db)

    def compare(conn: Connection) -> tuple[list[Any], list[str], list[str]]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": is_modelled}
        )
        inspector = inspect(conn)
        names = inspector.get_table_names() + [
            ix["name"] or "" for ix in inspector.get_indexes("messages")
        ]
        search = [n for n in names if n.startswith(SEARCH_OBJECTS)]
        return compare_metadata(context, metadata), inspector.get_table_names(), search

    diff, tables, search = await _sync(empty_db, compare)
    print(f"tables: {len(tables)}, differences: {len(diff)}, search objects: {search}")
    assert diff == []
    assert set(metadata.tables) <= set(tables)
    # The comparison skips the search objects: make sure that hides no missing one.
    assert search, "the full-text search objects were not created"


async def test_a_database_stamped_with_the_old_heads_reaches_head(empty_db: Database) -> None:
    """A database migrated by the branched history (three heads stamped) upgrades to the
    one head without re-running a migration (a re-run would fail on existing tables)."""
    await migrate(empty_db, OLD_HEADS[-1])
    await _sync(empty_db, _stamp(OLD_HEADS))

    await migrate(empty_db)

    stamped = await _sync(empty_db, _stamped)
    print(f"stamped before: {OLD_HEADS}, after: {stamped}")
    assert stamped == [history()[-1]]


async def test_old_heads_before_the_newest_migration_run_only_that_one(
    empty_db: Database,
) -> None:
    """Stamped ``0002_delivery``, ``0003_servicedesk``, ``0006_gms`` (the branched heads
    before ``0007_gms_owner``): the upgrade runs 0007 and what follows it, nothing else."""
    await migrate(empty_db, "0006_gms")
    await _sync(empty_db, _stamp(["0002_delivery", "0003_servicedesk", "0006_gms"]))

    def gms_indexes(conn: Connection) -> set[str]:
        return {ix["name"] or "" for ix in inspect(conn).get_indexes("gms_services")}

    assert "ix_gms_services_app_user" not in await _sync(empty_db, gms_indexes)
    await migrate(empty_db)
    assert "ix_gms_services_app_user" in await _sync(empty_db, gms_indexes)
    assert await _sync(empty_db, _stamped) == [history()[-1]]


async def test_a_stamp_with_a_gap_is_refused_not_guessed(empty_db: Database) -> None:
    """``0006_gms`` without ``0003_servicedesk``: the line cannot run 0003 after 0006, so
    the upgrade stops with the missing revision named and the stamp untouched."""
    await migrate(empty_db)
    await _sync(empty_db, _stamp(["0002_delivery", "0006_gms"]))

    with pytest.raises(RuntimeError, match="0003_servicedesk"):
        await migrate(empty_db)
    assert await _sync(empty_db, _stamped) == ["0002_delivery", "0006_gms"]


async def test_the_line_downgrades_to_nothing_and_back(empty_db: Database) -> None:
    """Walking the whole line down leaves only Alembic's table; walking up again works."""
    await migrate(empty_db)

    def down_and_up(conn: Connection) -> tuple[list[str], list[str], list[str]]:
        built = sorted(inspect(conn).get_table_names())
        config = alembic_config(conn)
        command.downgrade(config, "base")
        left = inspect(conn).get_table_names()
        command.upgrade(config, "head")
        return built, left, sorted(inspect(conn).get_table_names())

    built, left, rebuilt = await _sync(empty_db, down_and_up)
    print(f"tables: {len(built)}, after downgrade: {left}, after upgrade again: {len(rebuilt)}")
    assert left == ["alembic_version"]
    assert rebuilt == built
