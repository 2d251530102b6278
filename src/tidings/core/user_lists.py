"""An app's user list, filtered, counted, sorted and paged by the database.

Besides the user's own columns a gateway may filter on text it keeps in the
user's ``custom_data`` (an ``ExtraField``), and on comma-joined tags there,
without the core knowing what those extras mean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.core.list_checks import Kind, check_query
from tidings.domain.list_queries import ListQuery
from tidings.domain.models import Actor, User
from tidings.store import apps as store

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Filterable columns of a user and the kind of value each holds (times in ms).
FIELDS: dict[str, Kind] = {
    "id": "int",
    "login": "text",
    "email": "text",
    "full_name": "text",
    "created_ms": "int",
    "updated_ms": "int",
    "last_activity_ms": "int",
}
SORTABLE = frozenset(FIELDS)
assert set(FIELDS) <= set(store.USER_LIST_FIELDS)


def _check(query: ListQuery) -> None:
    check_query(query, FIELDS, SORTABLE, extras=True)


class UserLists:
    """``find`` and ``count`` over the actor's app's users."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def count(self, actor: Actor, query: ListQuery) -> int:
        _check(query)
        async with self.core.db.read() as conn:
            return await store.count_matching_users(conn, actor.app_id, query)

    async def find(self, actor: Actor, query: ListQuery) -> tuple[int, list[User]]:
        """One page in the query's order, and how many users match in all."""
        _check(query)
        async with self.core.db.read() as conn:
            total = await store.count_matching_users(conn, actor.app_id, query)
            return total, await store.find_users(conn, actor.app_id, query)
