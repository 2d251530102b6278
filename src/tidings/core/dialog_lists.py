"""A user's dialog list, filtered, counted, sorted and paged by the database.

Filtering or sorting a window of rows in Python makes counts and pages wrong as
soon as a user has more dialogs than the window; here every condition is part of
the one SQL query, so ``count`` and every page agree at any size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.core.dialogs import views_of
from tidings.core.list_checks import Kind, check_query
from tidings.domain.errors import InvalidInput
from tidings.domain.list_queries import ListQuery
from tidings.domain.models import DIALOG_TYPES, Actor, Dialog
from tidings.store import dialogs as store

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Filterable fields of a dialog and the kind of value each holds (times in ms).
FIELDS: dict[str, Kind] = {
    "id": "key",
    "type": "key",
    "name": "text",
    "owner_id": "int",
    "last_message_ms": "int",
    "created_ms": "int",
    "updated_ms": "int",
}
SORTABLE = frozenset(FIELDS)
assert set(FIELDS) <= set(store.DIALOG_LIST_FIELDS)


def _check(query: ListQuery) -> None:
    check_query(query, FIELDS, SORTABLE)
    for cond in query.conditions:
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        if cond.field == "type" and not set(values) <= set(DIALOG_TYPES):
            raise InvalidInput(f"dialog types are {', '.join(DIALOG_TYPES)}", field="type")


class DialogLists:
    """``find`` and ``count`` over the actor's visible dialogs (hidden ones excluded)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def count(self, actor: Actor, query: ListQuery) -> int:
        _check(query)
        async with self.core.db.read() as conn:
            return await store.count_user_dialogs(conn, actor.app_id, actor.user_id, query)

    async def find(self, actor: Actor, query: ListQuery) -> tuple[int, list[Dialog]]:
        """One page in the query's order, and how many dialogs match in all."""
        _check(query)
        async with self.core.db.read() as conn:
            total = await store.count_user_dialogs(conn, actor.app_id, actor.user_id, query)
            rows = await store.find_user_dialogs(conn, actor.app_id, actor.user_id, query)
            views = await views_of(conn, actor, rows)
        return total, views
