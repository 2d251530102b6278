"""Privacy lists (XEP-0016 reduced to users): named lists, at most one active.

The active list's deny rules are copied into the ``blocks`` table whenever it
changes, so sending a message checks one indexed row instead of parsing lists.
Each change that blocks or unblocks someone is published as ``BlocksChanged``.

A plain block list (XEP-0191 §5: the same back-end as privacy lists) is a view of
the active list: its blocked users are the list's deny rules; a block puts a mutual
deny rule first in the active list (creating :data:`BLOCKLIST` and making it active
when none is), an unblock removes the user's deny rules from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidings.domain.errors import InvalidInput, LimitReached, NotFound
from tidings.domain.events import BlocksChanged
from tidings.domain.models import Actor, PrivacyItem, PrivacyList
from tidings.store import apps as users_store
from tidings.store import social as store
from tidings.store.catch_up import blocks_by

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from tidings.core.hub import Core

MAX_LISTS = 10
MAX_ITEMS = 1000
#: The list a block creates when the user has no active list.
BLOCKLIST = "blocklist"


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


def _denied(items: list[PrivacyItem]) -> list[int]:
    """Denied users in the list's order (the first rule for a user decides)."""
    decided: dict[int, str] = {}
    for item in items:
        decided.setdefault(item.user_id, item.action)
    return [u for u, action in decided.items() if action == "deny"]


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
            changed = await self._sync_blocks(conn, actor, parsed) if row.active else None
        await self._announce(actor, changed)
        return PrivacyList(name=name, items=parsed, active=bool(row.active))

    async def delete_list(self, actor: Actor, name: str) -> None:
        async with self.core.db.transaction() as conn:
            row = await store.get_privacy_list(conn, actor.user_id, _check_name(name))
            if row is None:
                raise NotFound(f"no privacy list {name!r}", code="privacy_list_not_found")
            await store.delete_privacy_list(conn, actor.user_id, name)
            changed = await self._sync_blocks(conn, actor, []) if row.active else None
        await self._announce(actor, changed)

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
            changed = await self._sync_blocks(conn, actor, items)
        await self._announce(actor, changed)

    # -- a plain block list (XEP-0191) ------------------------------------------------

    async def blocked(self, actor: Actor) -> list[int]:
        """The users the active list denies, in its order."""
        async with self.core.db.read() as conn:
            rows = await store.list_privacy_lists(conn, actor.user_id)
        active = next((r for r in rows if r.active), None)
        items = _items(active.items) if active is not None else []
        return _denied(items)

    async def block(self, actor: Actor, user_ids: list[int]) -> list[int]:
        """Deny ``user_ids`` everything (mutual rules, ahead of the list's others);
        returns those not blocked before. Each must be another user of the app."""
        if not user_ids:
            raise InvalidInput("name at least one user to block", field="items")
        async with self.core.db.transaction() as conn:
            for user_id in user_ids:
                if user_id == actor.user_id:
                    raise InvalidInput("you cannot block yourself", field="items")
                if await users_store.get_user(conn, actor.app_id, user_id) is None:
                    raise NotFound(f"no user {user_id}", code="user_not_found")
            name, items = await self._active_or_new(conn, actor)
            before = _denied(items)
            wanted = set(user_ids)
            rules = [PrivacyItem(user_id=u, action="deny", order=0, mutual=True) for u in user_ids]
            kept = [i for i in items if i.user_id not in wanted]
            changed = await self._rewrite(conn, actor, name, [*dict.fromkeys(rules), *kept])
        await self._announce(actor, changed)
        return [u for u in dict.fromkeys(user_ids) if u not in before]

    async def unblock(self, actor: Actor, user_ids: list[int] | None) -> list[int]:
        """Drop the deny rules for ``user_ids`` (``None``: for everyone) from the active
        list; returns the users that were blocked. Unblocking someone who was not
        blocked changes nothing."""
        async with self.core.db.transaction() as conn:
            rows = await store.list_privacy_lists(conn, actor.user_id)
            active = next((r for r in rows if r.active), None)
            if active is None:
                return []
            items = _items(active.items)
            before = _denied(items)
            gone = set(before if user_ids is None else user_ids) & set(before)
            if not gone:
                return []
            kept = [i for i in items if not (i.user_id in gone and i.action == "deny")]
            changed = await self._rewrite(conn, actor, active.name, kept)
        await self._announce(actor, changed)
        return [u for u in before if u in gone]

    async def _active_or_new(
        self, conn: AsyncConnection, actor: Actor
    ) -> tuple[str, list[PrivacyItem]]:
        rows = await store.list_privacy_lists(conn, actor.user_id)
        active = next((r for r in rows if r.active), None)
        if active is not None:
            return active.name, _items(active.items)
        existing = next((r for r in rows if r.name == BLOCKLIST), None)
        if existing is None and len(rows) >= MAX_LISTS:
            raise LimitReached(f"at most {MAX_LISTS} privacy lists")
        return BLOCKLIST, _items(existing.items) if existing is not None else []

    async def _rewrite(
        self, conn: AsyncConnection, actor: Actor, name: str, items: list[PrivacyItem]
    ) -> BlocksChanged | None:
        """Store ``items`` (renumbered in their order) as the active list ``name``."""
        if len(items) > MAX_ITEMS:
            raise LimitReached(f"a privacy list has at most {MAX_ITEMS} rules")
        stored = [
            {"user_id": i.user_id, "action": i.action, "order": n, "mutual": i.mutual}
            for n, i in enumerate(items, start=1)
        ]
        await store.put_privacy_list(
            conn, actor.app_id, actor.user_id, name, stored, self.core.now_ms()
        )
        await store.set_active_privacy_list(conn, actor.user_id, name)
        return await self._sync_blocks(conn, actor, _items(stored))

    async def _sync_blocks(
        self, conn: AsyncConnection, actor: Actor, items: list[PrivacyItem]
    ) -> BlocksChanged | None:
        """Copy the deny rules into ``blocks``; the change, if any, to publish."""
        before = {them for _me, them in await blocks_by(conn, [actor.user_id])}
        now = blocked_users(items)
        await store.replace_blocks(conn, actor.app_id, actor.user_id, now)
        after = {user_id for user_id, _mutual in now}
        if before == after:
            return None
        return BlocksChanged(
            app_id=actor.app_id,
            recipients=(actor.user_id,),
            user_id=actor.user_id,
            blocked=sorted(after - before),
            unblocked=sorted(before - after),
        )

    async def _announce(self, actor: Actor, changed: BlocksChanged | None) -> None:
        """After commit: tell the user's connections, and RFC 6121 presence follows
        (XEP-0191 §3.3-§3.4): a newly blocked subscriber hears the user's resources
        go unavailable; an unblocked one gets their presence again."""
        if changed is None:
            return
        await self.core.publish(changed)
        subscribers = set(await self.core.contacts.subscribers(actor.user_id))
        for user_id in changed.blocked:
            if user_id in subscribers:
                await self.core.presence.replay(actor.app_id, actor.user_id, user_id, gone=True)
        for user_id in changed.unblocked:
            if user_id in subscribers:
                await self.core.presence.replay(actor.app_id, actor.user_id, user_id)
