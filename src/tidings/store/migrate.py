"""Bring a database to the newest schema with the Alembic migrations in this package.

The history is one line (``0001`` → ``0002_delivery`` → ``0003_servicedesk`` →
``0006_gms`` → ``0007_gms_owner``). It used to branch: delivery, service desk and
GMS each hung off ``0001``, so a database migrated then is stamped with several
heads. :func:`linearise_version_table` turns such a stamp into the one revision of
the line it amounts to, before Alembic looks at it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from tidings.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"

#: The parent of each revision in the old, branched history. A stamped old head
#: means its ancestors *there* ran, which is what decides where the line resumes.
BRANCHED_PARENTS: dict[str, str | None] = {
    "0001": None,
    "0002_delivery": "0001",
    "0003_servicedesk": "0001",
    "0006_gms": "0001",
    "0007_gms_owner": "0006_gms",
}

#: Schema objects the migrations create with raw SQL because ``tables.py`` cannot
#: declare them portably: full-text search (an FTS5 table and its shadow tables on
#: SQLite, an expression GIN index on PostgreSQL). Schema comparisons skip them.
SEARCH_OBJECTS = ("messages_fts", "ix_messages_body_fts")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def is_modelled(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's ``include_object`` hook: leave out the search objects (see above)."""
    return not (name or "").startswith(SEARCH_OBJECTS)


def history(config: Config | None = None) -> list[str]:
    """Every revision, oldest first (the history is linear: a test checks one head)."""
    script = ScriptDirectory.from_config(config or alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def linearise_version_table(conn: Connection, line: list[str]) -> str | None:
    """Replace several stamped revisions by the one on ``line`` they amount to.

    Every stamped revision was applied, with its ancestors in the history it was
    applied under. What ran must be a prefix of ``line``: the newest revision of that
    prefix becomes the stamp, and the upgrade runs the rest. Anything else (an
    unknown revision, a gap) is left for a person: it raises rather than guess.
    Returns the revision kept, or None when there was nothing to change.
    """
    if not inspect(conn).has_table("alembic_version"):
        return None
    stamped = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    if len(stamped) < 2:
        return None
    unknown = sorted(set(stamped) - set(line))
    if unknown:
        raise RuntimeError(f"alembic_version holds revisions this release lacks: {unknown}")
    applied: set[str] = set()
    for revision in stamped:
        step: str | None = revision
        while step is not None and step not in applied:
            applied.add(step)
            step = BRANCHED_PARENTS.get(step)
    prefix = line[: len(applied)]
    if set(prefix) != applied:
        raise RuntimeError(
            f"alembic_version holds {sorted(stamped)}: revisions {sorted(set(prefix) - applied)} "
            "never ran, and the linear history cannot run them after later ones"
        )
    keep = prefix[-1]
    conn.execute(text("DELETE FROM alembic_version WHERE version_num <> :keep"), {"keep": keep})
    return keep


async def migrate(db: Database, revision: str = "head") -> None:
    """Upgrade to ``revision``; safe on every start and from several nodes, which
    queue on an advisory lock on PostgreSQL."""

    def upgrade(sync_conn: Connection) -> None:
        config = alembic_config(sync_conn)
        linearise_version_table(sync_conn, history(config))
        command.upgrade(config, revision)

    async with db.transaction() as conn:
        if not db.is_sqlite:
            await conn.execute(text("SELECT pg_advisory_xact_lock(7346193)"))
        await conn.run_sync(upgrade)
