"""Dialogs: private (one per pair), group, public (subscribe) and broadcast (admin only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core import access
from tidings.domain.errors import Conflict, Forbidden, InvalidInput, LimitReached, NotFound
from tidings.domain.events import DialogDeleted, DialogUpdated
from tidings.domain.ids import is_valid_id, new_id
from tidings.domain.models import DIALOG_TYPES, Actor, Dialog, User
from tidings.store import apps as users_store
from tidings.store import dialogs as store
from tidings.store import messages as messages_store
from tidings.store.dialogs import Member
from tidings.store.rows import DialogListRow, DialogRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

MAX_ADMINS = 5
MAX_GROUP_MEMBERS = 5000
#: Member lists of bigger dialogs are not sent with every event or view.
LISTED_MEMBERS = 1000


def private_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


def _text(value: object, field: str, max_len: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidInput(f"{field} must be text of at most {max_len} characters", field=field)
    return value


def build_view(
    row: DialogRow,
    members: list[tuple[int, str]],
    pinned: list[str],
    *,
    viewer_id: int,
    unread: int = 0,
    read_seq: int = 0,
    muted: bool = False,
    is_member: bool = True,
) -> Dialog:
    listed = members if row.type != "broadcast" and len(members) <= LISTED_MEMBERS else []
    return Dialog(
        id=row.id,
        app_id=row.app_id,
        type=row.type,
        name=row.name,
        description=row.description,
        photo=row.photo,
        owner_id=row.owner_id,
        occupant_ids=[uid for uid, _ in listed],
        admin_ids=[uid for uid, role in members if role == "admin"],
        pinned_message_ids=pinned,
        custom_data=row.custom_data,
        last_seq=row.last_seq,
        last_message_id=row.last_message_id,
        last_message_text=row.last_message_text,
        last_message_user_id=row.last_message_user_id,
        last_message_ms=row.last_message_ms,
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
        unread_count=unread,
        muted=muted,
        read_seq=read_seq,
        is_member=is_member,
    )


async def views_of(
    conn: AsyncConnection, actor: Actor, rows: Sequence[DialogListRow]
) -> list[Dialog]:
    """The actor's views of listed dialog rows: members, pins and unread counts
    read in three queries for the whole page, not three per dialog."""
    ids = [r.id for r in rows]
    members = await store.member_map(conn, ids)
    pinned = await store.pinned_map(conn, ids)
    unread = await store.unread_counts(conn, actor.user_id, ids)
    return [
        build_view(
            r,
            members[r.id],
            pinned[r.id],
            viewer_id=actor.user_id,
            unread=unread.get(r.id, 0),
            read_seq=r.read_seq,
            muted=bool(r.muted),
        )
        for r in rows
    ]


class DialogService:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- reading -----------------------------------------------------------------

    async def view(
        self, conn: AsyncConnection, actor: Actor, row: DialogRow, member: Member | None
    ) -> Dialog:
        members = (await store.member_map(conn, [row.id]))[row.id]
        pinned = (await store.pinned_map(conn, [row.id]))[row.id]
        unread = 0
        if member is not None:
            unread = (await store.unread_counts(conn, actor.user_id, [row.id])).get(row.id, 0)
        return build_view(
            row,
            members,
            pinned,
            viewer_id=actor.user_id,
            unread=unread,
            read_seq=member.read_seq if member is not None else 0,
            muted=bool(member.muted) if member is not None else False,
            is_member=member is not None,
        )

    async def get_dialog(self, actor: Actor, dialog_id: str) -> Dialog:
        async with self.core.db.read() as conn:
            row, member = await access.load_dialog(conn, actor, dialog_id)
            return await self.view(conn, actor, row, member)

    async def list_dialogs(
        self,
        actor: Actor,
        *,
        types: list[str] | None = None,
        updated_after_ms: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[Dialog]]:
        """The actor's dialogs, newest activity first, with unread counts; and the total."""
        if types:
            unknown = set(types) - set(DIALOG_TYPES)
            if unknown:
                raise InvalidInput(f"unknown dialog types {sorted(unknown)}", field="type")
        async with self.core.db.read() as conn:
            total, rows = await store.list_user_dialogs(
                conn,
                actor.app_id,
                actor.user_id,
                types=types,
                updated_after_ms=updated_after_ms,
                limit=limit,
                offset=offset,
            )
            views = await views_of(conn, actor, rows)
        return total, views

    async def list_members(
        self, actor: Actor, dialog_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[User]:
        async with self.core.db.read() as conn:
            await access.load_dialog(conn, actor, dialog_id)
            ids = await store.list_member_ids(conn, dialog_id)
            page = ids[offset : offset + limit]
            users = {
                u.id: u
                for u in await users_store.list_users(
                    conn, actor.app_id, ids=page, limit=len(page) or 1
                )
            }
        return [users[i] for i in page if i in users]

    # -- creating ----------------------------------------------------------------

    async def create_dialog(
        self,
        actor: Actor,
        type: str,
        *,
        occupant_ids: list[int] | None = None,
        name: str | None = None,
        description: str | None = None,
        photo: str | None = None,
        custom_data: dict[str, Any] | None = None,
    ) -> Dialog:
        """Create a dialog; a private one that exists already is found again, not doubled."""
        if type not in DIALOG_TYPES:
            raise InvalidInput(f"type must be one of {', '.join(DIALOG_TYPES)}", field="type")
        if type == "support":
            raise InvalidInput("support dialogs are opened through the service desk", field="type")
        others = [u for u in access.check_ids(occupant_ids, "occupant_ids") if u != actor.user_id]
        name = _text(name, "name", 200)
        description = _text(description, "description", 2000)
        photo = _text(photo, "photo", 2000)
        if custom_data is not None and not isinstance(custom_data, dict):
            raise InvalidInput("custom_data must be an object", field="custom_data")
        if type == "private":
            if len(others) != 1:
                raise InvalidInput(
                    "a private dialog has exactly one other occupant", field="occupant_ids"
                )
            return await self._create_private(actor, others[0], custom_data)
        if type in ("group", "public", "broadcast") and not (name and name.strip()):
            raise InvalidInput(f"a {type} dialog needs a name", field="name")
        if type == "broadcast" and not actor.is_admin:
            raise Forbidden("only an app admin can create broadcast dialogs")
        if len(others) + 1 > MAX_GROUP_MEMBERS:
            raise LimitReached(f"a dialog holds at most {MAX_GROUP_MEMBERS} members")
        now = self.core.now_ms()
        dialog_id = new_id(now / 1000)
        async with self.core.db.transaction() as conn:
            if type == "broadcast":
                others = [
                    u for u in await store.app_user_ids(conn, actor.app_id) if u != actor.user_id
                ]
            elif type == "group":
                await self._check_users_exist(conn, actor, others)
            else:
                others = []  # public dialogs are joined by subscribing
            await store.insert_dialog(
                conn,
                id=dialog_id,
                app_id=actor.app_id,
                type=type,
                name=name,
                description=description,
                photo=photo,
                owner_id=actor.user_id,
                custom_data=custom_data,
                last_seq=0,
                created_ms=now,
                updated_ms=now,
            )
            await store.insert_members(
                conn,
                actor.app_id,
                dialog_id,
                [(actor.user_id, "owner"), *((u, "member") for u in others)],
                now,
            )
            row, member = await access.load_dialog(conn, actor, dialog_id)
            dialog = await self.view(conn, actor, row, member)
        await self._announce(dialog, "created", [actor.user_id, *others])
        return dialog

    async def _create_private(
        self, actor: Actor, other: int, custom_data: dict[str, Any] | None
    ) -> Dialog:
        key = private_key(actor.user_id, other)
        now = self.core.now_ms()
        created = False
        try:
            async with self.core.db.transaction() as conn:
                existing = await store.find_private_dialog(conn, actor.app_id, key)
                if existing is None:
                    await self._check_users_exist(conn, actor, [other])
                    dialog_id = new_id(now / 1000)
                    await store.insert_dialog(
                        conn,
                        id=dialog_id,
                        app_id=actor.app_id,
                        type="private",
                        owner_id=actor.user_id,
                        private_key=key,
                        custom_data=custom_data,
                        last_seq=0,
                        created_ms=now,
                        updated_ms=now,
                    )
                    await store.insert_members(
                        conn,
                        actor.app_id,
                        dialog_id,
                        [(actor.user_id, "member"), (other, "member")],
                        now,
                    )
                    created = True
                else:
                    dialog_id = existing.id
                    await store.update_member(conn, dialog_id, actor.user_id, hidden=False)
                row, member = await access.load_dialog(conn, actor, dialog_id)
                dialog = await self.view(conn, actor, row, member)
        except IntegrityError:
            # Both users created it at once: the other transaction won; use its dialog.
            async with self.core.db.read() as conn:
                existing = await store.find_private_dialog(conn, actor.app_id, key)
                if existing is None:
                    raise
                row, member = await access.load_dialog(conn, actor, existing.id)
                return await self.view(conn, actor, row, member)
        if created:
            await self._announce(dialog, "created", [actor.user_id, other])
        return dialog

    async def open_room(self, actor: Actor, dialog_id: str, name: str) -> tuple[Dialog, bool]:
        """The group dialog under a fixed id, created with the actor as owner if missing.

        A chat room named by whoever joins it first (XEP-0045 §10.1) has no id of its
        own, so the gateway derives one from its name; the room is then an ordinary
        group dialog. True when this call created it. A non-member of an existing
        dialog that is not public gets ``Forbidden`` (code ``not_a_member``), so the
        caller can tell "members only" from "no such room".
        """
        access.check_dialog_id(dialog_id)
        name = _text(name, "name", 200) or dialog_id
        for _ in range(2):
            async with self.core.db.read() as conn:
                row, member = await store.get_dialog_with_member(
                    conn, actor.app_id, dialog_id, actor.user_id
                )
                if row is not None:
                    if member is None and row.type != "public":
                        raise Forbidden("members only", code="not_a_member")
                    return await self.view(conn, actor, row, member), False
            now = self.core.now_ms()
            try:
                async with self.core.db.transaction() as conn:
                    await store.insert_dialog(
                        conn,
                        id=dialog_id,
                        app_id=actor.app_id,
                        type="group",
                        name=name,
                        owner_id=actor.user_id,
                        last_seq=0,
                        created_ms=now,
                        updated_ms=now,
                    )
                    await store.insert_members(
                        conn, actor.app_id, dialog_id, [(actor.user_id, "owner")], now
                    )
                    row, member = await access.load_dialog(conn, actor, dialog_id)
                    dialog = await self.view(conn, actor, row, member)
            except IntegrityError:
                continue  # someone created it at the same moment: read theirs
            await self._announce(dialog, "created", [actor.user_id])
            return dialog, True
        raise Conflict("the room is being created; try again")

    async def hand_over(self, actor: Actor, dialog_id: str, user_id: int) -> Dialog:
        """The owner makes another member the owner and stays on as an admin (a member
        when the dialog has its fill of admins). A dialog has one owner, so granting
        ownership over XMPP (XEP-0045 §10.3) is this hand-over."""
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            row, member = await access.load_membership(conn, actor, dialog_id, lock=True)
            if row.type in ("private", "support"):
                raise Forbidden(f"a {row.type} dialog has no owner to change")
            access.require_owner(row, member, "hand it over")
            current = {uid: role for uid, role in (await store.member_map(conn, [row.id]))[row.id]}
            if user_id not in current:
                raise InvalidInput("the new owner must be an occupant first", field="owner_id")
            if user_id != actor.user_id:
                admins = [u for u, r in current.items() if r == "admin" and u != user_id]
                stays = "admin" if len(admins) < MAX_ADMINS else "member"
                await store.update_member(conn, row.id, user_id, role="owner")
                await store.update_member(conn, row.id, actor.user_id, role=stays)
                await store.update_dialog(conn, row.id, owner_id=user_id, updated_ms=now)
            fresh = await store.get_dialog(conn, actor.app_id, dialog_id)
            assert fresh is not None  # locked above, so still there
            fresh_member = await store.get_member(conn, dialog_id, actor.user_id)
            dialog = await self.view(conn, actor, fresh, fresh_member)
        if user_id != actor.user_id:
            await self._announce(dialog, "admins", sorted(current))
        return dialog

    async def _check_users_exist(self, conn: AsyncConnection, actor: Actor, ids: list[int]) -> None:
        if ids and await users_store.count_users(conn, actor.app_id, ids) != len(ids):
            raise NotFound("some occupants are not users of this app", code="user_not_found")

    # -- changing ----------------------------------------------------------------

    async def update_dialog(
        self,
        actor: Actor,
        dialog_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        photo: str | None = None,
        custom_data: dict[str, Any] | None = None,
        add_occupants: list[int] | None = None,
        remove_occupants: list[int] | None = None,
        add_admins: list[int] | None = None,
        remove_admins: list[int] | None = None,
        pin: list[str] | None = None,
        unpin: list[str] | None = None,
    ) -> Dialog:
        """Change details, occupants, admins or pins; who may do what follows the seed:
        any member renames a group, owner/admin manage people and pins, only the owner
        names admins."""
        add_occ = access.check_ids(add_occupants, "add_occupants")
        rem_occ = access.check_ids(remove_occupants, "remove_occupants")
        add_adm = access.check_ids(add_admins, "add_admins")
        rem_adm = access.check_ids(remove_admins, "remove_admins")
        pins = self._check_message_ids(pin, "pin")
        unpins = self._check_message_ids(unpin, "unpin")
        details = {
            "name": _text(name, "name", 200),
            "description": _text(description, "description", 2000),
            "photo": _text(photo, "photo", 2000),
        }
        if custom_data is not None and not isinstance(custom_data, dict):
            raise InvalidInput("custom_data must be an object", field="custom_data")
        if details["name"] is not None and not details["name"].strip():
            raise InvalidInput("name cannot be empty", field="name")
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            row, member = await access.load_membership(conn, actor, dialog_id, lock=True)
            before = set(await store.list_member_ids(conn, dialog_id))
            changes: list[str] = []
            values: dict[str, Any] = {k: v for k, v in details.items() if v is not None}
            if custom_data is not None:
                values["custom_data"] = custom_data
            if values:
                if row.type == "private":
                    raise Forbidden("a private dialog has no name, description or photo")
                if row.type != "group":
                    access.require_manager(row, member, "change its details")
                changes.append("details")
            if add_occ or rem_occ:
                await self._change_occupants(conn, actor, row, member, add_occ, rem_occ, now)
                changes.append("occupants")
            if add_adm or rem_adm:
                await self._change_admins(conn, row, member, add_adm, rem_adm)
                changes.append("admins")
            if pins or unpins:
                access.require_manager(row, member, "pin messages")
                if pins:
                    found = await messages_store.get_messages(conn, dialog_id, pins)
                    if len(found) != len(pins):
                        raise NotFound(
                            "some messages to pin are not in this dialog", code="message_not_found"
                        )
                    await store.pin_messages(conn, dialog_id, pins, actor.user_id, now)
                if unpins:
                    await store.unpin_messages(conn, dialog_id, unpins)
                changes.append("pinned")
            if changes:
                values["updated_ms"] = now
                await store.update_dialog(conn, dialog_id, **values)
            fresh = await store.get_dialog(conn, actor.app_id, dialog_id)
            assert fresh is not None  # locked above, so still there
            fresh_member = await store.get_member(conn, dialog_id, actor.user_id)
            dialog = await self.view(conn, actor, fresh, fresh_member)
            after = set(await store.list_member_ids(conn, dialog_id))
        if changes:
            await self._announce(dialog, ",".join(changes), sorted(before | after))
        return dialog

    @staticmethod
    def _check_message_ids(values: object, field: str) -> list[str]:
        if values is None:
            return []
        if not isinstance(values, list) or not all(is_valid_id(v) for v in values):
            raise InvalidInput(f"{field} must be a list of message ids", field=field)
        return list(dict.fromkeys(values))

    async def _change_occupants(
        self,
        conn: AsyncConnection,
        actor: Actor,
        row: DialogRow,
        member: Member,
        add: list[int],
        remove: list[int],
        now: int,
    ) -> None:
        if row.type in ("private", "broadcast", "support"):
            raise Forbidden(f"the occupants of a {row.type} dialog cannot be changed")
        current = {uid: role for uid, role in (await store.member_map(conn, [row.id]))[row.id]}
        if add:
            if row.type == "public":
                access.require_manager(row, member, "add occupants")
            new = [u for u in add if u not in current]
            await self._check_users_exist(conn, actor, new)
            if len(current) + len(new) > MAX_GROUP_MEMBERS:
                raise LimitReached(f"a dialog holds at most {MAX_GROUP_MEMBERS} members")
            # Newcomers start with everything before them read.
            await store.insert_members(
                conn,
                actor.app_id,
                row.id,
                [(u, "member") for u in new],
                now,
                start_seq=row.last_seq,
            )
        if remove:
            others = [u for u in remove if u != actor.user_id]
            if others:
                access.require_manager(row, member, "remove other occupants")
            if any(current.get(u) == "owner" for u in remove):
                raise Forbidden("the owner cannot be removed; delete the dialog instead")
            if any(current.get(u) == "admin" for u in others) and member.role != "owner":
                raise Forbidden("only the owner can remove an admin")
            await store.delete_members(conn, row.id, [u for u in remove if u in current])

    async def _change_admins(
        self,
        conn: AsyncConnection,
        row: DialogRow,
        member: Member,
        add: list[int],
        remove: list[int],
    ) -> None:
        if row.type == "private":
            raise Forbidden("a private dialog has no admins")
        access.require_owner(row, member, "change admins")
        current = {uid: role for uid, role in (await store.member_map(conn, [row.id]))[row.id]}
        missing = [u for u in add if u not in current]
        if missing:
            raise InvalidInput(f"admins must be occupants first: {missing}", field="add_admins")
        admins = {u for u, r in current.items() if r == "admin"}
        admins = (admins | {u for u in add if current[u] != "owner"}) - set(remove)
        if len(admins) > MAX_ADMINS:
            raise LimitReached(f"a dialog has at most {MAX_ADMINS} admins")
        for uid in add:
            if current[uid] == "member":
                await store.update_member(conn, row.id, uid, role="admin")
        for uid in remove:
            if current.get(uid) == "admin":
                await store.update_member(conn, row.id, uid, role="member")

    async def subscribe(self, actor: Actor, dialog_id: str) -> Dialog:
        """Join a public dialog; subscribing twice is harmless."""
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            row, member = await access.load_dialog(conn, actor, dialog_id)
            if row.type != "public":
                raise InvalidInput("only public dialogs are joined by subscribing")
            if member is None:
                await store.insert_members(
                    conn,
                    actor.app_id,
                    dialog_id,
                    [(actor.user_id, "member")],
                    now,
                    start_seq=row.last_seq,
                )
            member = await store.get_member(conn, dialog_id, actor.user_id)
            dialog = await self.view(conn, actor, row, member)
        await self._announce(dialog, "subscribed", [actor.user_id])
        return dialog

    async def unsubscribe(self, actor: Actor, dialog_id: str) -> None:
        async with self.core.db.transaction() as conn:
            row, member = await access.load_dialog(conn, actor, dialog_id)
            if row.type != "public":
                raise InvalidInput("only public dialogs are left by unsubscribing")
            if member is not None and member.role == "owner":
                raise Forbidden("the owner cannot unsubscribe; delete the dialog instead")
            if member is not None:
                await store.delete_members(conn, dialog_id, [actor.user_id])

    async def delete_dialog(self, actor: Actor, dialog_id: str, *, for_everyone: bool) -> None:
        """For me: hide a private dialog (it comes back with the next message), leave a
        group or public one. For everyone: the owner (either side of a private dialog)
        removes it with its history."""
        async with self.core.db.transaction() as conn:
            row, member = await access.load_membership(conn, actor, dialog_id, lock=True)
            member_ids = await store.list_member_ids(conn, dialog_id)
            if for_everyone:
                if row.type != "private":
                    access.require_owner(row, member, "delete it for everyone")
                await store.delete_dialog(conn, dialog_id)
            elif row.type in ("private", "broadcast", "support") or (
                row.type == "group" and member.role == "owner" and len(member_ids) == 1
            ):
                await store.update_member(
                    conn, dialog_id, actor.user_id, hidden=True, cleared_seq=row.last_seq
                )
                # What was cleared is read: keeps read_seq >= cleared_seq for unread counts.
                await store.advance_marker(conn, dialog_id, actor.user_id, "read_seq", row.last_seq)
                member_ids = [actor.user_id]
            else:
                if member.role == "owner":
                    await self._hand_over(conn, row, actor.user_id)
                await store.delete_members(conn, dialog_id, [actor.user_id])
        if for_everyone:
            await self.core.publish(
                DialogDeleted(
                    app_id=actor.app_id,
                    recipients=tuple(member_ids),
                    dialog_id=dialog_id,
                    for_everyone=True,
                )
            )
        else:
            await self.core.publish(
                DialogDeleted(
                    app_id=actor.app_id,
                    recipients=(actor.user_id,),
                    dialog_id=dialog_id,
                    for_everyone=False,
                )
            )

    async def _hand_over(self, conn: AsyncConnection, row: DialogRow, owner_id: int) -> None:
        """The owner leaves: the longest-serving admin, else member, takes over."""
        members = (await store.member_map(conn, [row.id]))[row.id]
        candidates = [u for u, r in members if r == "admin"] + [
            u for u, r in members if r == "member"
        ]
        candidates = [u for u in candidates if u != owner_id]
        if not candidates:
            raise Conflict("the last member cannot leave; delete the dialog instead")
        await store.update_member(conn, row.id, candidates[0], role="owner")
        await store.update_dialog(conn, row.id, owner_id=candidates[0])

    async def set_muted(self, actor: Actor, dialog_id: str, muted: bool) -> bool:
        async with self.core.db.transaction() as conn:
            await access.load_membership(conn, actor, dialog_id)
            await store.update_member(conn, dialog_id, actor.user_id, muted=bool(muted))
        return bool(muted)

    async def is_muted(self, actor: Actor, dialog_id: str) -> bool:
        async with self.core.db.read() as conn:
            _row, member = await access.load_membership(conn, actor, dialog_id)
        return bool(member.muted)

    async def unread_counts(
        self, actor: Actor, dialog_ids: list[str] | None = None
    ) -> tuple[int, dict[str, int]]:
        """Server-authoritative unread counts: (total, per dialog)."""
        if dialog_ids is not None:
            for d in dialog_ids:
                access.check_dialog_id(d)
        async with self.core.db.read() as conn:
            counts = await store.unread_counts(conn, actor.user_id, dialog_ids)
        if dialog_ids is not None:
            counts = {d: counts.get(d, 0) for d in dialog_ids}
        return sum(counts.values()), counts

    async def join_broadcasts(self, conn: AsyncConnection, app_id: int, user_id: int) -> None:
        """A new user of the app is a member of its broadcast dialogs."""
        now = self.core.now_ms()
        for dialog_id in await store.broadcast_dialog_ids(conn, app_id):
            row = await store.get_dialog(conn, app_id, dialog_id)
            assert row is not None  # listed just above, in this transaction
            await store.insert_members(
                conn, app_id, dialog_id, [(user_id, "member")], now, start_seq=row.last_seq
            )

    async def _announce(self, dialog: Dialog, change: str, recipients: list[int]) -> None:
        await self.core.publish(
            DialogUpdated(
                app_id=dialog.app_id,
                recipients=tuple(recipients),
                everyone=dialog.type == "broadcast",
                dialog_id=dialog.id,
                change=change,
                dialog=_shared_view(dialog),
            )
        )


def _shared_view(dialog: Dialog) -> dict[str, Any]:
    """The dialog as every member sees it: without the caller's own counters."""
    data = dialog.to_dict()
    for key in ("unread_count", "muted", "read_seq", "is_member"):
        data.pop(key, None)
    return data
