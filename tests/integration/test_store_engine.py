"""The database handle: both SQLite drivers, commit notifications, WAL checkpoints."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers import wait_until
from tidings.bus.memory import MemoryBus
from tidings.core.hub import Core
from tidings.domain.models import Actor
from tidings.files import MemoryFileStorage
from tidings.settings import Settings
from tidings.store import database
from tidings.store.database import Database, notify_after_commit
from tidings.store.migrate import migrate


@pytest.mark.parametrize("driver", ["inline", "thread"])
async def test_each_sqlite_driver_stores_and_pages_messages(tmp_path: Path, driver: str) -> None:
    db = Database(f"sqlite:///{tmp_path / 'chat.db'}", sqlite_driver=driver)
    await migrate(db)
    bus = MemoryBus()
    await bus.start()
    core = Core(Settings(data_dir=tmp_path), db, bus, MemoryFileStorage())
    try:
        app = await core.apps.create_app("drivers")
        alice = await core.users.create_user(app.id, login="alice", password="password1")
        bob = await core.users.create_user(app.id, login="bob", password="password1")
        actor = Actor(app.id, alice.id)
        dialog = await core.dialogs.create_dialog(actor, "private", occupant_ids=[bob.id])
        sent = [await core.messages.send_message(actor, dialog.id, f"m{i}") for i in range(5)]
        page = await core.messages.history(Actor(app.id, bob.id), dialog.id)
        assert [m.id for m in page.messages] == [m.id for m in sent]
        assert [m.seq for m in page.messages] == [1, 2, 3, 4, 5]
    finally:
        await bus.close()
        await db.close()


def test_an_unknown_sqlite_driver_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sqlite_driver"):
        Database(f"sqlite:///{tmp_path / 'x.db'}", sqlite_driver="fast")


async def test_commit_listeners_hear_committed_topics_only(database_url: str) -> None:
    db = Database(database_url)
    heard: list[str] = []
    undo = db.on_commit("outbox", lambda: heard.append("outbox"))
    try:
        async with db.transaction() as conn:
            notify_after_commit(conn, "outbox")
            await conn.execute(text("SELECT 1"))
            assert heard == []  # not before the commit
        assert heard == ["outbox"]

        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                notify_after_commit(conn, "outbox")
                raise RuntimeError("rolled back")
        assert heard == ["outbox"]

        # A pooled connection does not carry a topic into the next transaction.
        async with db.transaction() as conn:
            await conn.execute(text("SELECT 1"))
        assert heard == ["outbox"]

        undo()
        async with db.transaction() as conn:
            notify_after_commit(conn, "outbox")
        assert heard == ["outbox"]
    finally:
        await db.close()


async def test_the_wal_is_checkpointed_off_the_loop_while_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits never checkpoint (that would stall the loop); the checkpoint task does."""
    monkeypatch.setattr(database, "CHECKPOINT_SECONDS", 0.05)
    path = tmp_path / "wal.db"
    db = Database(f"sqlite:///{path}")
    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
            limit = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
        assert limit == database.BACKSTOP_CHECKPOINT_PAGES
        before = path.stat().st_size
        for n in range(50):
            async with db.transaction() as conn:
                await conn.execute(
                    text("INSERT INTO notes (body) VALUES (:body)"), {"body": "x" * 4000 + str(n)}
                )
        # The database file grows once the checkpoint thread copies the WAL into it.
        await wait_until(lambda: path.stat().st_size > before + 100_000, what="a checkpoint")
        with sqlite3.connect(path) as check:
            assert check.execute("SELECT count(*) FROM notes").fetchone()[0] == 50
    finally:
        await db.close()
