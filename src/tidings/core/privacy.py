"""Privacy lists (XEP-0016 reduced to users): named lists, at most one active.

The active list's deny rules are copied into the ``blocks`` table whenever it
changes, so sending a message checks one indexed row instead of parsing lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidings.domain.errors import InvalidInput, LimitReached, NotFound
from tidings.domain.models import Actor, PrivacyItem, PrivacyList
from tidings.store import social as store

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from tidings.core.hub import Core

MAX_LISTS = 10
MAX_ITEMS = 1000


def _items(raw: object) -> list[PrivacyItem]:
    if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
        raise InvalidInput(f"items is a list of at most {MAX_ITEMS} rules", field="items")
    items = []
    for i, entry in enumerate(raw):
        if isinstance(entry, PrivacyItem):
            items.append(entry)
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("user_id"), int):
            raise InvalidInput("each rule names a user_id", field="items")
        action = entry.get("action", "deny")
        if action not in ("allow", "deny"):
            raise InvalidInput("action is allow or deny", field="items")
        items.append(
            PrivacyItem(
                user_id=entry["user_id"],
                action=action,
                order=int(entry.get("order", i)),
                mutual=bool(entry.get("mutual", True)),
            )
        )
    return sorted(items, key=lambda item: item.order)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise InvalidInput("a list name is 1 to 100 characters", field="name")
    return name


def blocked_users(items: list[PrivacyItem]) -> list[tuple[int, bool]]:
    """(user id, mutual) for every denied user; the first rule for a user wins (XEP-0016)."""
    decided: dict[int, PrivacyItem] = {}
    for item in items:
        decided.setdefault(item.user_id, item)
    return sorted((u, i.mutual) for u, i in decided.items() if i.action == "deny")


class PrivacyService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def list_names(self, actor: Actor) -> tuple[list[str], str | None]:
        """All list names and the active one."""
        async with self.core.db.read() as conn:
            rows = await store.list_privacy_lists(conn, actor.user_id)
        active = next((r.name for r in rows if r.active), None)
        return [r.name for r in rows], active

    async def get_list(self, actor: Actor, name: str) -> PrivacyList:
        async with self.core.db.read() as conn:
            row = await store.get_privacy_list(conn, actor.user_id, _check_name(name))
        if row is None:
            raise NotFound(f"no privacy list {name!r}", code="privacy_list_not_found")
        return PrivacyList(name=row.name, items=_items(row.items), active=row.active)

    async def put_list(self, actor: Actor, name: str, items: Any) -> PrivacyList:
        name = _check_name(name)
        parsed = _items(items)
        stored = [
            {"user_id": i.user_id, "action": i.action, "order": i.order, "mutual": i.mutual}
            for i in parsed
        ]
        async with self.core.db.transaction() as conn:
            rows = await store.list_privacy_lists(conn, actor.user_id)
            if name not in {r.name for r in rows} and len(rows) >= MAX_LISTS:
                raise LimitReached(f"at most {MAX_LISTS} privacy lists")
            await store.put_privacy_list(
                conn, actor.app_id, actor.user_id, name, stored, self.core.now_ms()
            )
            row = await store.get_privacy_list(conn, actor.user_id, name)
            assert row is not None  # written just above
            if row.active:
                await self._sync_blocks(conn, actor, parsed)
        return PrivacyList(name=name, items=parsed, active=bool(row.active))

    async def delete_list(self, actor: Actor, name: str) -> None:
        async with self.core.db.transaction() as conn:
            row = await store.get_privacy_list(conn, actor.user_id, _check_name(name))
            if row is None:
                raise NotFound(f"no privacy list {name!r}", code="privacy_list_not_found")
            await store.delete_privacy_list(conn, actor.user_id, name)
            if row.active:
                await self._sync_blocks(conn, actor, [])

    async def set_active(self, actor: Actor, name: str | None) -> None:
        """Make ``name`` the active list, or none with ``None``."""
        async with self.core.db.transaction() as conn:
            items: list[PrivacyItem] = []
            if name is not None:
                row = await store.get_privacy_list(conn, actor.user_id, _check_name(name))
                if row is None:
                    raise NotFound(f"no privacy list {name!r}", code="privacy_list_not_found")
                items = _items(row.items)
            await store.set_active_privacy_list(conn, actor.user_id, name)
            await self._sync_blocks(conn, actor, items)

    async def _sync_blocks(
        self, conn: AsyncConnection, actor: Actor, items: list[PrivacyItem]
    ) -> None:
        await store.replace_blocks(conn, actor.app_id, actor.user_id, blocked_users(items))
