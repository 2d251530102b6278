"""Files: streamed upload with a size limit, metadata, download rights.

A public file may be downloaded by anyone who knows its uid; a private one by
its owner and by members of dialogs where it was attached.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from tidings.core import filetypes
from tidings.core.filetypes import HeadKeeper
from tidings.domain.errors import Forbidden, InvalidInput, NotFound
from tidings.domain.models import Actor, FileInfo
from tidings.store import files as store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class FileService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def upload(
        self,
        actor: Actor,
        chunks: AsyncIterator[bytes],
        *,
        name: str,
        content_type: str = "application/octet-stream",
        public: bool = False,
    ) -> FileInfo:
        """Store the bytes first, then the row: a failed or oversize upload leaves nothing."""
        if not isinstance(name, str) or not 1 <= len(name) <= 255 or "/" in name:
            raise InvalidInput("a file name is 1 to 255 characters without '/'", field="name")
        if not content_type or len(content_type) > 255:
            content_type = "application/octet-stream"
        uid = secrets.token_hex(16)
        kept = HeadKeeper(chunks)
        size = await self.core.storage.save(
            uid, kept.stream(), max_bytes=self.core.settings.max_upload_bytes
        )
        content_type = filetypes.resolve(content_type, kept.head, name)
        try:
            async with self.core.db.transaction() as conn:
                return await store.insert_file(
                    conn,
                    uid=uid,
                    app_id=actor.app_id,
                    owner_id=actor.user_id,
                    name=name,
                    content_type=content_type,
                    size=size,
                    public=bool(public),
                    created_ms=self.core.now_ms(),
                )
        except BaseException:
            await self.core.storage.delete(uid)
            raise

    async def get_info(self, actor: Actor | None, uid: str) -> FileInfo:
        """Metadata if ``actor`` may download it (``None``: anonymous, public files only)."""
        if not isinstance(uid, str) or not uid.isalnum() or len(uid) > 64:
            raise NotFound(f"no file {uid!r}", code="file_not_found")
        async with self.core.db.read() as conn:
            info = await (
                store.get_file(conn, actor.app_id, uid)
                if actor
                else store.get_file_any_app(conn, uid)
            )
            if info is None:
                raise NotFound(f"no file {uid}", code="file_not_found")
            if info.public or (actor and info.owner_id == actor.user_id):
                return info
            if actor and await store.shared_with(conn, info.id, actor.user_id):
                return info
        raise NotFound(f"no file {uid}", code="file_not_found")

    async def open(self, actor: Actor | None, uid: str) -> tuple[FileInfo, AsyncIterator[bytes]]:
        info = await self.get_info(actor, uid)
        return info, await self.core.storage.open(uid)

    async def delete(self, actor: Actor, uid: str) -> None:
        info = await self.get_info(actor, uid)
        if info.owner_id != actor.user_id:
            raise Forbidden("only the owner can delete a file")
        async with self.core.db.transaction() as conn:
            await store.delete_file(conn, info.id)
        await self.core.storage.delete(uid)
