"""The contact list (roster): request, confirm, reject, remove; capped per user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.domain.errors import Conflict, InvalidInput, LimitReached, NotFound
from tidings.domain.events import ContactChanged
from tidings.domain.models import Actor, Contact
from tidings.store import apps as users_store
from tidings.store import social as store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class ContactService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def list_contacts(self, actor: Actor) -> list[Contact]:
        async with self.core.db.read() as conn:
            rows = await store.list_contacts(conn, actor.user_id)
        return [
            Contact(user_id=r.contact_id, status=r.status, updated_ms=r.updated_ms) for r in rows
        ]

    async def request(self, actor: Actor, user_id: int) -> Contact:
        """Ask to add ``user_id``; if they already asked us, this confirms instead."""
        self._check_other(actor, user_id)
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            if await users_store.get_user(conn, actor.app_id, user_id) is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            mine = await store.get_contact(conn, actor.user_id, user_id)
            if mine is not None and mine.status in ("confirmed", "requested"):
                return Contact(user_id=user_id, status=mine.status, updated_ms=mine.updated_ms)
            if mine is not None and mine.status == "pending":
                mine_status, theirs_status = "confirmed", "confirmed"
            else:
                limit = self.core.settings.max_contacts
                if await store.count_contacts(conn, actor.user_id) >= limit:
                    raise LimitReached(f"a contact list holds at most {limit} contacts")
                if await store.count_contacts(conn, user_id) >= limit:
                    raise LimitReached("their contact list is full")
                mine_status, theirs_status = "requested", "pending"
            await store.put_contact(conn, actor.app_id, actor.user_id, user_id, mine_status, now)
            await store.put_contact(conn, actor.app_id, user_id, actor.user_id, theirs_status, now)
        await self._announce(actor, user_id, mine_status, theirs_status)
        return Contact(user_id=user_id, status=mine_status, updated_ms=now)

    async def confirm(self, actor: Actor, user_id: int) -> Contact:
        self._check_other(actor, user_id)
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            mine = await store.get_contact(conn, actor.user_id, user_id)
            if mine is None or mine.status == "requested":
                raise NotFound(
                    f"no contact request from user {user_id}", code="contact_request_not_found"
                )
            if mine.status == "confirmed":
                return Contact(user_id=user_id, status="confirmed", updated_ms=mine.updated_ms)
            await store.put_contact(conn, actor.app_id, actor.user_id, user_id, "confirmed", now)
            await store.put_contact(conn, actor.app_id, user_id, actor.user_id, "confirmed", now)
        await self._announce(actor, user_id, "confirmed", "confirmed")
        return Contact(user_id=user_id, status="confirmed", updated_ms=now)

    async def reject(self, actor: Actor, user_id: int) -> None:
        async with self.core.db.transaction() as conn:
            mine = await store.get_contact(conn, actor.user_id, user_id)
            if mine is None or mine.status != "pending":
                raise NotFound(
                    f"no contact request from user {user_id}", code="contact_request_not_found"
                )
            await store.delete_contact_pair(conn, actor.user_id, user_id)
        await self._announce(actor, user_id, "none", "rejected")

    async def remove(self, actor: Actor, user_id: int) -> None:
        async with self.core.db.transaction() as conn:
            if await store.get_contact(conn, actor.user_id, user_id) is None:
                raise NotFound(f"user {user_id} is not in your contacts", code="contact_not_found")
            await store.delete_contact_pair(conn, actor.user_id, user_id)
        await self._announce(actor, user_id, "none", "none")

    @staticmethod
    def _check_other(actor: Actor, user_id: int) -> None:
        if not isinstance(user_id, int) or user_id <= 0:
            raise InvalidInput("user_id is a user id", field="user_id")
        if user_id == actor.user_id:
            raise Conflict("you cannot add yourself", code="self_contact")

    async def _announce(self, actor: Actor, other: int, mine: str, theirs: str) -> None:
        await self.core.publish(
            ContactChanged(
                app_id=actor.app_id,
                recipients=(actor.user_id,),
                user_id=actor.user_id,
                contact_id=other,
                status=mine,
            ),
            ContactChanged(
                app_id=actor.app_id,
                recipients=(other,),
                user_id=other,
                contact_id=actor.user_id,
                status=theirs,
            ),
        )
