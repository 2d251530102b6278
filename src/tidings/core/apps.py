"""Applications: the tenants. Every user, dialog and file belongs to one."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from tidings.domain.errors import InvalidInput, NotFound
from tidings.domain.models import App
from tidings.observability import note_app
from tidings.store import app_data
from tidings.store import apps as store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class AppService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def create_app(self, name: str) -> App:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("an app name is 1 to 200 characters", field="name")
        async with self.core.db.transaction() as conn:
            return await store.insert_app(
                conn,
                name=name,
                auth_key=secrets.token_urlsafe(18),
                auth_secret=secrets.token_urlsafe(24),
                desk_app_id=secrets.token_hex(16),
                config={},
                created_ms=self.core.now_ms(),
            )

    async def get_app(self, app_id: int) -> App:
        async with self.core.db.read() as conn:
            app = await store.get_app(conn, app_id)
        if app is None:
            raise NotFound(f"no app {app_id}", code="app_not_found")
        return app

    async def find_by_auth_key(self, auth_key: str) -> App | None:
        async with self.core.db.read() as conn:
            return _noted(await store.get_app_by(conn, auth_key=auth_key))

    async def find_by_desk_app_id(self, desk_app_id: str) -> App | None:
        async with self.core.db.read() as conn:
            return _noted(await store.get_app_by(conn, desk_app_id=desk_app_id))

    async def delete_app(self, app_id: int) -> dict[str, int]:
        """The app and every row of it, in one transaction; rows removed per table."""
        await self.get_app(app_id)  # app_not_found before anything moves
        async with self.core.db.transaction() as conn:
            return await app_data.delete_app(conn, app_id)

    async def list_apps(self) -> list[App]:
        async with self.core.db.read() as conn:
            return await store.list_apps(conn)

    async def update_app(self, app_id: int, **changes: Any) -> App:
        """Change ``auth_url``, ``webhook_url``, ``name`` or merge keys into ``config``."""
        allowed = {"auth_url", "webhook_url", "name", "config"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInput(f"cannot change {sorted(unknown)}")
        async with self.core.db.transaction() as conn:
            app = await store.get_app(conn, app_id)
            if app is None:
                raise NotFound(f"no app {app_id}", code="app_not_found")
            values = {k: v for k, v in changes.items() if v is not None and k != "config"}
            if changes.get("config"):
                values["config"] = {**app.config, **changes["config"]}
            for key in ("auth_url", "webhook_url"):
                if changes.get(key) == "":
                    values[key] = None
            if values:
                await store.update_app(conn, app_id, **values)
            updated = await store.get_app(conn, app_id)
        assert updated is not None
        return updated

    async def rotate_keys(self, app_id: int) -> App:
        """A new ``auth_key`` and ``auth_secret`` (a leaked key stops working at once;
        sessions already made keep working until they expire)."""
        async with self.core.db.transaction() as conn:
            if await store.get_app(conn, app_id) is None:
                raise NotFound(f"no app {app_id}", code="app_not_found")
            keys: dict[str, Any] = {
                "auth_key": secrets.token_urlsafe(18),
                "auth_secret": secrets.token_urlsafe(24),
            }
            await store.update_app(conn, app_id, **keys)
            updated = await store.get_app(conn, app_id)
        assert updated is not None
        return updated


def _noted(app: App | None) -> App | None:
    """The app a request named by key, remembered for its access-log line."""
    if app is not None:
        note_app(app.id)
    return app
