"""No statement on the message path walks a dialog: SQLite's own plans, checked.

Every statement a 1-1 send runs (found by listening to the engine while a client
sends with its own id, as a standard XMPP client does) is explained with
``EXPLAIN QUERY PLAN`` on a dialog that already holds messages. A plan that scans
``messages``, or searches it by ``dialog_id`` alone while the statement also filters
on another column, costs time in proportion to the dialog's history: the retry
lookup by client id did exactly that (it walked the ``(dialog_id, seq)`` index to
avoid a sort) until its index carried ``seq``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event

from tests.conftest import CHEAP_PASSWORD_HASHES
from tidings.domain.models import Actor
from tidings.settings import Settings


async def test_a_send_with_a_client_id_never_walks_the_dialog(tmp_path) -> None:
    from tidings.bus import MemoryBus
    from tidings.core.hub import Core
    from tidings.files import MemoryFileStorage
    from tidings.store.database import Database
    from tidings.store.migrate import migrate

    settings = Settings(data_dir=tmp_path, **CHEAP_PASSWORD_HASHES)
    db = Database(settings.effective_database_url)
    await migrate(db)
    bus = MemoryBus()
    await bus.start()
    core = Core(settings, db, bus, MemoryFileStorage())
    try:
        app = await core.apps.create_app("plans")
        alice = await core.users.create_user(app.id, login="alice", password="alice password")
        bob = await core.users.create_user(app.id, login="bob", password="bob password")
        actor = Actor(app.id, alice.id)
        dialog = await core.dialogs.create_dialog(actor, "private", occupant_ids=[bob.id])
        for n in range(200):
            await core.messages.send_message(actor, dialog.id, f"m{n}", client_id=f"c{n}")

        seen: list[tuple[str, Any]] = []

        def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, parameters))

        assert db.sync_engine is not None
        event.listen(db.sync_engine, "before_cursor_execute", note)
        try:
            await core.messages.send_message(actor, dialog.id, "again", client_id="c-new")
            await core.messages.send_message(actor, dialog.id, "retry", client_id="c7")
        finally:
            event.remove(db.sync_engine, "before_cursor_execute", note)

        assert any("client_id" in statement for statement, _ in seen)
        walks = []
        with db.sync_engine.connect() as conn:
            for statement, parameters in seen:
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                for row in plan:
                    detail = row[-1]
                    if re.match(r"SCAN messages\b", detail) or (
                        "messages" in detail
                        and "(dialog_id=?)" in detail
                        and "client_id" in statement
                    ):
                        walks.append((detail, statement))
        assert walks == []
    finally:
        await bus.close()
        await db.close()
