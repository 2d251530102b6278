"""Users of an app: sign up, profile, lookup."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from tidings.core import filetypes
from tidings.core.passwords import derive_scram_keys, hash_password
from tidings.core.scram_credentials import key_rows
from tidings.core.scram_keys import ScramKeys
from tidings.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from tidings.domain.models import ROLES, Actor, User
from tidings.store import apps as store
from tidings.store import scram_credentials as scram_store
from tidings.store.rows import UserChanges

if TYPE_CHECKING:
    from tidings.core.hub import Core

MIN_PASSWORD = 8


def _check_text(value: str | None, field: str, max_len: int, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise InvalidInput(f"{field} is required", field=field)
        return
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_len:
        raise InvalidInput(f"{field} must be 1 to {max_len} characters", field=field)


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


class UserService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def create_user(
        self,
        app_id: int,
        *,
        login: str,
        password: str,
        full_name: str | None = None,
        email: str | None = None,
        role: str = "user",
        custom_data: dict[str, Any] | None = None,
    ) -> User:
        _check_text(login, "login", 200, required=True)
        _check_text(full_name, "full_name", 200)
        _check_text(email, "email", 320)
        if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= 1024:
            raise InvalidInput(
                f"password must be at least {MIN_PASSWORD} characters", field="password"
            )
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
        password_hash, scram_keys = await self._credentials(password)
        now = self.core.now_ms()
        try:
            async with self.core.db.transaction() as conn:
                if await store.get_app(conn, app_id) is None:
                    raise NotFound(f"no app {app_id}", code="app_not_found")
                user = await store.insert_user(
                    conn,
                    app_id=app_id,
                    login=login.strip(),
                    password_hash=password_hash,
                    full_name=full_name,
                    email=email,
                    role=role,
                    custom_data=custom_data,
                    created_ms=now,
                    updated_ms=now,
                )
                await scram_store.replace(conn, user.id, key_rows(scram_keys))
                await self.core.dialogs.join_broadcasts(conn, app_id, user.id)
                return user
        except IntegrityError as exc:
            raise Conflict(f"login {login!r} is taken", code="login_taken") from exc

    async def _credentials(self, password: str) -> tuple[str, tuple[ScramKeys, ...]]:
        """The argon2id hash of a password and its SCRAM keys (RFC 5802 §3), made together
        off the loop: the password itself is never stored."""
        settings = self.core.settings
        password_hash, keys = await asyncio.gather(
            hash_password(
                password,
                memory_kib=settings.password_hash_memory_kib,
                iterations=settings.password_hash_iterations,
            ),
            derive_scram_keys(password, settings.scram_iterations),
        )
        return password_hash, keys

    async def get_user(self, actor: Actor, user_id: int) -> User:
        async with self.core.db.read() as conn:
            user = await store.get_user(conn, actor.app_id, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", code="user_not_found")
        return user

    async def list_users(
        self,
        actor: Actor,
        *,
        ids: list[int] | None = None,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[User]:
        async with self.core.db.read() as conn:
            return await store.list_users(
                conn, actor.app_id, ids=ids, text=text, limit=limit, offset=offset
            )

    async def update_user(
        self,
        actor: Actor,
        user_id: int,
        *,
        full_name: str | None = None,
        email: str | None = None,
        password: str | None = None,
        custom_data: dict[str, Any] | None = None,
    ) -> User:
        if user_id != actor.user_id and not actor.is_admin:
            raise Forbidden("you can change only your own profile")
        _check_text(full_name, "full_name", 200)
        _check_text(email, "email", 320)
        values: UserChanges = {"updated_ms": self.core.now_ms()}
        if full_name is not None:
            values["full_name"] = full_name
        if email is not None:
            values["email"] = email
        if custom_data is not None:
            values["custom_data"] = custom_data
        if password is not None:
            if not MIN_PASSWORD <= len(password) <= 1024:
                raise InvalidInput(
                    f"password must be at least {MIN_PASSWORD} characters", field="password"
                )
            values["password_hash"], scram_keys = await self._credentials(password)
        async with self.core.db.transaction() as conn:
            if await store.get_user(conn, actor.app_id, user_id) is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            await store.update_user(conn, user_id, **values)
            if password is not None:  # the old password's SCRAM keys go with its hash
                await scram_store.replace(conn, user_id, key_rows(scram_keys))
            user = await store.get_user(conn, actor.app_id, user_id)
        assert user is not None
        return user

    async def set_card(self, actor: Actor, *, full_name: str | None, avatar: bytes | None) -> User:
        """Replace the user's own name and avatar at once, as a profile card does
        (XEP-0054 §3.2: a card set is the whole card): ``None`` clears either.

        The avatar is stored as a public file of the user's (its uid is unguessable;
        the file endpoints serve it to the app's users) with the SHA-1 of its bytes
        (XEP-0153 §4.1), so presences carry the hash without reading the file. Only
        images with a known signature are kept: never SVG or HTML, which a browser
        would run. The previous avatar's file is deleted once the new one is set.
        """
        _check_text(full_name, "full_name", 200)
        uid = digest = None
        fresh = False
        if avatar is not None:
            limit = self.core.settings.avatar_max_bytes
            if len(avatar) > limit:
                raise TooLarge(f"an avatar is at most {limit} bytes", field="avatar")
            content_type = filetypes.sniff(avatar[: filetypes.HEAD_BYTES]) or ""
            if not content_type.startswith("image/"):
                raise InvalidInput(
                    "an avatar is a PNG, JPEG, GIF, WebP, HEIC or AVIF image", field="avatar"
                )
            digest = hashlib.sha1(avatar).hexdigest()  # noqa: S324 - XEP-0153 names SHA-1
            current = await self.get_user(actor, actor.user_id)
            if current.avatar_sha1 == digest and current.avatar_uid:
                uid = current.avatar_uid  # the same picture again: nothing to store
            else:
                stored = await self.core.files.upload(
                    actor, _one_chunk(avatar), name="avatar", content_type=content_type, public=True
                )
                uid = stored.uid
                fresh = True
        try:
            async with self.core.db.transaction() as conn:
                before = await store.get_user(conn, actor.app_id, actor.user_id)
                if before is None:
                    raise NotFound(f"no user {actor.user_id}", code="user_not_found")
                await store.update_user(
                    conn,
                    actor.user_id,
                    full_name=full_name,
                    avatar_uid=uid,
                    avatar_sha1=digest,
                    updated_ms=self.core.now_ms(),
                )
                user = await store.get_user(conn, actor.app_id, actor.user_id)
        except BaseException:
            if fresh and uid is not None:  # the card was not written: its new file goes too
                await self.core.files.delete(actor, uid)
            raise
        assert user is not None
        if before.avatar_uid and before.avatar_uid != uid:
            with contextlib.suppress(NotFound):
                await self.core.files.delete(actor, before.avatar_uid)
        if before.avatar_sha1 != digest:
            await self.core.presence.restamp_avatar(actor, digest)
        return user

    async def delete_user(self, actor: Actor, user_id: int) -> None:
        if user_id != actor.user_id and not actor.is_admin:
            raise Forbidden("you can delete only your own account")
        async with self.core.db.transaction() as conn:
            if await store.get_user(conn, actor.app_id, user_id) is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            await store.delete_user(conn, user_id)

    async def deactivate_user(self, actor: Actor, user_id: int) -> User:
        """An app admin locks an account: no password matches an empty hash, its SCRAM
        keys go, and its signed-in sessions end now. Setting a password (``update_user``)
        makes the account usable again; its data stays."""
        if not actor.is_admin:
            raise Forbidden("only an app admin can deactivate accounts")
        if user_id == actor.user_id:
            raise Forbidden("you cannot deactivate your own account (you would be locked out)")
        async with self.core.db.transaction() as conn:
            user = await store.get_user(conn, actor.app_id, user_id)
            if user is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            await store.update_user(
                conn, user_id, password_hash=None, updated_ms=self.core.now_ms()
            )
            await store.delete_sessions_of(conn, user_id)
            await scram_store.replace(conn, user_id, ())
        return user
