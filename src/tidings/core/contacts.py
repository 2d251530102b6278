"""The contact list (roster): RFC 6121 subscriptions, roster items, and the
contact-list API's request/confirm/reject/remove on top of them; capped per user.

Each direction is one ``contacts`` row, the mirror of the other (``subscriptions``);
both are written in one transaction. A row whose state falls back to ``none`` is
deleted unless its user made it a roster item (``groups`` set, RFC 6121 §2.3): the
roster keeps what the user put there, and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.subscriptions import (
    Sub,
    approve,
    cancel_from,
    cancel_to,
    mutual,
    subscribe,
)
from tidings.domain.errors import Conflict, InvalidInput, LimitReached, NotFound
from tidings.domain.events import ContactChanged
from tidings.domain.models import Actor, Contact
from tidings.store import apps as users_store
from tidings.store import social as store
from tidings.store.rows import ContactRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: What a row's user is told when the row is gone.
REMOVED = "removed"
#: RFC 6121 §3 presence types of a subscription change.
KINDS = ("subscribe", "subscribed", "unsubscribe", "unsubscribed")
MAX_NAME = 255
MAX_GROUPS = 32


def _contact(row: ContactRow) -> Contact:
    return Contact(
        user_id=row.contact_id,
        status=row.status,
        updated_ms=row.updated_ms,
        name=row.name,
        groups=tuple(row.groups or ()),
    )


class _Side:
    """One direction's row as read, and what it becomes."""

    def __init__(self, row: ContactRow | None) -> None:
        self.row = row
        self.sub = Sub.parse(row.status if row is not None else None)
        self.item = row is not None and row.groups is not None
        self.name = row.name if row is not None else None
        self.groups = list(row.groups or ()) if row is not None else []

    @property
    def kept(self) -> bool:
        return self.item or not self.sub.is_none

    @property
    def status(self) -> str:
        return self.sub.status if self.kept else REMOVED


class ContactService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def list_contacts(self, actor: Actor) -> list[Contact]:
        async with self.core.db.read() as conn:
            rows = await store.list_contacts(conn, actor.user_id)
        return [_contact(r) for r in rows]

    async def roster(self, actor: Actor) -> list[Contact]:
        """RFC 6121 §2.1.3: the items; a request the user has not acted on is no item
        (§3.1.3: the contact's roster is not changed by an inbound ``subscribe``)."""
        return [c for c in await self.list_contacts(actor) if c.status != "pending" or c.groups]

    async def pending_requests(self, actor: Actor) -> list[int]:
        """Who asked for the user's presence and awaits an answer (§3.1.3 replay)."""
        async with self.core.db.read() as conn:
            return await store.contact_ids_with_status(
                conn, actor.user_id, ("pending", "to+in", "in+out")
            )

    async def subscribers(self, user_id: int) -> list[int]:
        """Contacts with a ``from``/``both`` subscription: they get the user's presence."""
        async with self.core.db.read() as conn:
            return await store.contact_ids_with_status(
                conn, user_id, ("confirmed", "from", "from+out")
            )

    async def publishers(self, user_id: int) -> list[int]:
        """Contacts whose presence the user gets (``to``/``both``): probed at login."""
        async with self.core.db.read() as conn:
            return await store.contact_ids_with_status(conn, user_id, ("confirmed", "to", "to+in"))

    # -- RFC 6121 ---------------------------------------------------------------------

    async def set_item(
        self, actor: Actor, user_id: int, name: str | None, groups: Sequence[str]
    ) -> Contact:
        """§2.3 roster set: add or update the item's name and groups; not its subscription."""
        self._check_other(actor, user_id)
        if name is not None and len(name) > MAX_NAME:
            raise InvalidInput(f"a name has at most {MAX_NAME} characters", field="name")
        clean = sorted({g for g in groups if g})
        if len(clean) > MAX_GROUPS or any(len(g) > MAX_NAME for g in clean):
            raise InvalidInput(f"at most {MAX_GROUPS} groups of {MAX_NAME} characters")
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            await self._check_user(conn, actor, user_id)
            mine = _Side(await store.get_contact(conn, actor.user_id, user_id))
            if mine.row is None:
                await self._check_room(conn, actor.user_id)
                await store.put_contact(conn, actor.app_id, actor.user_id, user_id, "none", now)
            await store.set_contact_item(conn, actor.user_id, user_id, name, clean)
        mine.name, mine.groups, mine.item = name, clean, True
        await self._announce(actor, user_id, mine, None, None, None)
        return Contact(user_id, mine.sub.status, now, name, tuple(clean))

    async def subscription(self, actor: Actor, user_id: int, kind: str) -> None:
        """§3: an outbound ``subscribe``/``subscribed``/``unsubscribe``/``unsubscribed``."""
        if kind not in KINDS:
            raise InvalidInput(f"not a subscription presence: {kind}", field="type")
        self._check_other(actor, user_id)
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            await self._check_user(conn, actor, user_id)
            mine, theirs = await self._read_pair(conn, actor, user_id)
            before = mine.sub
            new: Sub | None = None
            if kind == "subscribe" and not mine.sub.to:
                if mine.row is None:
                    await self._check_room(conn, actor.user_id)
                    mine.item = True  # §3.1.2: the user's server adds the item
                if theirs.row is None:
                    await self._check_room(conn, user_id, theirs=True)
                new = subscribe(mine.sub)
            elif kind == "subscribed":
                new = approve(mine.sub)
            elif kind == "unsubscribe":
                new = cancel_to(mine.sub)
            elif kind == "unsubscribed":
                new = cancel_from(mine.sub)
            if new is not None and new != mine.sub:
                mine.sub, theirs.sub = new, new.mirror()
                await self._write_pair(conn, actor, user_id, mine, theirs, now)
        if kind == "subscribe" and mine.sub.to:  # §3.1.3: approved already: answered for them
            await self._announce(actor, user_id, None, None, "subscribed", None)
            return
        if new is None or new == Sub.parse(mine.row.status if mine.row else None):
            return  # §3: nothing pending or subscribed: the stanza is ignored
        await self._announce(actor, user_id, mine, theirs, None, kind)
        if kind == "subscribed":  # §3.1.5: the new subscriber gets the current presence
            await self.core.presence.replay(actor.app_id, actor.user_id, user_id)
        elif kind == "unsubscribed" and before.from_:  # §3.2.2: the old subscriber is told
            await self.core.presence.replay(actor.app_id, actor.user_id, user_id, gone=True)
        elif kind == "unsubscribe" and before.to:  # §3.3.3
            await self.core.presence.replay(actor.app_id, user_id, actor.user_id, gone=True)

    async def remove_item(self, actor: Actor, user_id: int) -> None:
        """§2.5: remove the item, cancelling subscriptions both ways."""
        self._check_other(actor, user_id)
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            mine, theirs = await self._read_pair(conn, actor, user_id)
            if mine.row is None:
                raise NotFound(f"user {user_id} is not in your roster", code="contact_not_found")
            told = " ".join(
                kind
                for kind, applies in (
                    ("unsubscribe", mine.sub.to or mine.sub.out),
                    ("unsubscribed", mine.sub.from_ or mine.sub.in_),
                )
                if applies
            )
            had_to, had_from = mine.sub.to, mine.sub.from_
            mine.sub, mine.item = Sub(), False
            theirs.sub = Sub()
            await self._write_pair(conn, actor, user_id, mine, theirs, now)
        # §2.5.2: the contact is sent each cancellation (space-separated kinds).
        await self._announce(actor, user_id, mine, theirs, None, told or None)
        if had_to:
            await self.core.presence.replay(actor.app_id, user_id, actor.user_id, gone=True)
        if had_from:
            await self.core.presence.replay(actor.app_id, actor.user_id, user_id, gone=True)

    # -- the contact-list API -----------------------------------------------------------

    async def request(self, actor: Actor, user_id: int) -> Contact:
        """Ask to add ``user_id``; if they already asked us, this confirms instead."""
        self._check_other(actor, user_id)
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            await self._check_user(conn, actor, user_id)
            mine, theirs = await self._read_pair(conn, actor, user_id)
            if mine.sub.status in ("confirmed", "requested"):
                return _contact(mine.row) if mine.row else Contact(user_id, "requested", now)
            if mine.sub.in_:
                new = mutual()
            else:
                if mine.row is None:
                    await self._check_room(conn, actor.user_id)
                if theirs.row is None:
                    await self._check_room(conn, user_id, theirs=True)
                new = subscribe(mine.sub)
            mine.sub, theirs.sub = new, new.mirror()
            await self._write_pair(conn, actor, user_id, mine, theirs, now)
        kind = "subscribed" if new == mutual() else "subscribe"
        await self._announce(actor, user_id, mine, theirs, None, kind)
        if new == mutual():
            await self._replay_both(actor, user_id)
        return Contact(user_id, mine.status, now, mine.name, tuple(mine.groups))

    async def confirm(self, actor: Actor, user_id: int) -> Contact:
        """Accept a request; the contact list makes it mutual, as the seed describes."""
        self._check_other(actor, user_id)
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            mine, theirs = await self._read_pair(conn, actor, user_id)
            if mine.row is not None and mine.sub == mutual():
                return _contact(mine.row)
            if not mine.sub.in_:
                raise NotFound(
                    f"no contact request from user {user_id}", code="contact_request_not_found"
                )
            mine.sub, theirs.sub = mutual(), mutual()
            await self._write_pair(conn, actor, user_id, mine, theirs, now)
        await self._announce(actor, user_id, mine, theirs, None, "subscribed")
        await self._replay_both(actor, user_id)
        return Contact(user_id, "confirmed", now, mine.name, tuple(mine.groups))

    async def reject(self, actor: Actor, user_id: int) -> None:
        async with self.core.db.transaction() as conn:
            mine = await store.get_contact(conn, actor.user_id, user_id)
            if mine is None or mine.status != "pending":
                raise NotFound(
                    f"no contact request from user {user_id}", code="contact_request_not_found"
                )
            await store.delete_contact_pair(conn, actor.user_id, user_id)
        await self._announce_status(actor, user_id, REMOVED, "rejected", "unsubscribed")

    async def remove(self, actor: Actor, user_id: int) -> None:
        async with self.core.db.transaction() as conn:
            row = await store.get_contact(conn, actor.user_id, user_id)
            if row is None:
                raise NotFound(f"user {user_id} is not in your contacts", code="contact_not_found")
            await store.delete_contact_pair(conn, actor.user_id, user_id)
        await self._announce_status(actor, user_id, REMOVED, REMOVED, "unsubscribed")
        sub = Sub.parse(row.status)
        if sub.to:
            await self.core.presence.replay(actor.app_id, user_id, actor.user_id, gone=True)
        if sub.from_:
            await self.core.presence.replay(actor.app_id, actor.user_id, user_id, gone=True)

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _check_other(actor: Actor, user_id: int) -> None:
        if not isinstance(user_id, int) or user_id <= 0:
            raise InvalidInput("user_id is a user id", field="user_id")
        if user_id == actor.user_id:
            raise Conflict("you cannot add yourself", code="self_contact")

    @staticmethod
    async def _check_user(conn: AsyncConnection, actor: Actor, user_id: int) -> None:
        if await users_store.get_user(conn, actor.app_id, user_id) is None:
            raise NotFound(f"no user {user_id}", code="user_not_found")

    async def _check_room(self, conn: AsyncConnection, user_id: int, theirs: bool = False) -> None:
        limit = self.core.settings.max_contacts
        if await store.count_contacts(conn, user_id) >= limit:
            if theirs:
                raise LimitReached("their contact list is full")
            raise LimitReached(f"a contact list holds at most {limit} contacts")

    @staticmethod
    async def _read_pair(conn: AsyncConnection, actor: Actor, user_id: int) -> tuple[_Side, _Side]:
        return (
            _Side(await store.get_contact(conn, actor.user_id, user_id)),
            _Side(await store.get_contact(conn, user_id, actor.user_id)),
        )

    @staticmethod
    async def _write_pair(
        conn: AsyncConnection, actor: Actor, user_id: int, mine: _Side, theirs: _Side, now: int
    ) -> None:
        pair = ((actor.user_id, user_id, mine), (user_id, actor.user_id, theirs))
        for owner, other, side in pair:
            if not side.kept:
                await store.delete_contact(conn, owner, other)
                continue
            await store.put_contact(conn, actor.app_id, owner, other, side.sub.status, now)
            if side.item and (side.row is None or side.row.groups is None):
                await store.set_contact_item(conn, owner, other, side.name, side.groups)

    async def _replay_both(self, actor: Actor, user_id: int) -> None:
        await self.core.presence.replay(actor.app_id, actor.user_id, user_id)
        await self.core.presence.replay(actor.app_id, user_id, actor.user_id)

    async def _announce(
        self,
        actor: Actor,
        other: int,
        mine: _Side | None,
        theirs: _Side | None,
        to_me: str | None,
        to_them: str | None,
    ) -> None:
        """Tell each side its new roster item (if it changed) and the presence it gets."""
        events = []
        if mine is not None or to_me is not None:
            events.append(
                ContactChanged(
                    app_id=actor.app_id,
                    recipients=(actor.user_id,),
                    user_id=actor.user_id,
                    contact_id=other,
                    status=mine.status if mine is not None else "",
                    presence=to_me,
                    item_name=mine.name if mine is not None else None,
                    groups=mine.groups if mine is not None else [],
                )
            )
        if theirs is not None or to_them is not None:
            events.append(
                ContactChanged(
                    app_id=actor.app_id,
                    recipients=(other,),
                    user_id=other,
                    contact_id=actor.user_id,
                    status=theirs.status if theirs is not None else "",
                    presence=to_them,
                    item_name=theirs.name if theirs is not None else None,
                    groups=theirs.groups if theirs is not None else [],
                )
            )
        await self.core.publish(*events)

    async def _announce_status(
        self, actor: Actor, other: int, mine: str, theirs: str, to_them: str
    ) -> None:
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
                presence=to_them,
            ),
        )
