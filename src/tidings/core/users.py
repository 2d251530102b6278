"""Users of an app: sign up, profile, lookup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from tidings.core.passwords import hash_password
from tidings.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tidings.domain.models import ROLES, Actor, User
from tidings.store import apps as store
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
        password_hash = await hash_password(password)
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
                await self.core.dialogs.join_broadcasts(conn, app_id, user.id)
                return user
        except IntegrityError as exc:
            raise Conflict(f"login {login!r} is taken", code="login_taken") from exc

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
            values["password_hash"] = await hash_password(password)
        async with self.core.db.transaction() as conn:
            if await store.get_user(conn, actor.app_id, user_id) is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            await store.update_user(conn, user_id, **values)
            user = await store.get_user(conn, actor.app_id, user_id)
        assert user is not None
        return user

    async def delete_user(self, actor: Actor, user_id: int) -> None:
        if user_id != actor.user_id and not actor.is_admin:
            raise Forbidden("you can delete only your own account")
        async with self.core.db.transaction() as conn:
            if await store.get_user(conn, actor.app_id, user_id) is None:
                raise NotFound(f"no user {user_id}", code="user_not_found")
            await store.delete_user(conn, user_id)
