"""Two-phase files ("blobs"): declare a file, upload its bytes later, then complete it.

The native API uploads a file in one request. ConnectyCube-style clients first
create the blob (name, type, public) to learn its uid and an upload address,
then post the bytes there and report the size. The row is the ordinary
``files`` row from the start (size 0 until the bytes arrive), so a blob is a
file to every other part of tidings: attachments, download rights, deletion.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from tidings.domain.errors import Forbidden, InvalidInput, NotFound
from tidings.domain.models import Actor, FileInfo
from tidings.store import files as files_store
from tidings.store import session_bindings as store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class BlobService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def declare(
        self, actor: Actor, *, name: object, content_type: str | None, public: bool
    ) -> FileInfo:
        if not isinstance(name, str) or not 1 <= len(name) <= 255 or "/" in name:
            raise InvalidInput("a file name is 1 to 255 characters without '/'", field="name")
        if not isinstance(content_type, str) or not 0 < len(content_type) <= 255:
            content_type = "application/octet-stream"
        async with self.core.db.transaction() as conn:
            return await files_store.insert_file(
                conn,
                uid=secrets.token_hex(16),
                app_id=actor.app_id,
                owner_id=actor.user_id,
                name=name,
                content_type=content_type,
                size=0,
                public=bool(public),
                created_ms=self.core.now_ms(),
            )

    async def _owned(
        self, actor: Actor, *, uid: str | None = None, id: int | None = None
    ) -> FileInfo:
        async with self.core.db.read() as conn:
            if uid is not None:
                info = await files_store.get_file(conn, actor.app_id, uid)
            else:
                info = await store.get_file_by_id(conn, actor.app_id, id or 0)
        if info is None:
            raise NotFound("no such blob", code="file_not_found")
        if info.owner_id != actor.user_id:
            raise Forbidden("only the owner can change a blob")
        return info

    async def put_content(self, actor: Actor, uid: str, chunks: AsyncIterator[bytes]) -> FileInfo:
        """Store the bytes of a declared blob (again: a second upload replaces them)."""
        info = await self._owned(actor, uid=uid)
        size = await self.core.storage.save(
            uid, chunks, max_bytes=self.core.settings.max_upload_bytes
        )
        async with self.core.db.transaction() as conn:
            await store.update_file(conn, info.id, size=size)
        return dataclasses.replace(info, size=size)

    async def complete(self, actor: Actor, blob_id: int) -> FileInfo:
        """The client says the upload is done; the stored size is what counts."""
        return await self._owned(actor, id=blob_id)

    async def by_id(self, actor: Actor, blob_id: int) -> FileInfo:
        async with self.core.db.read() as conn:
            info = await store.get_file_by_id(conn, actor.app_id, blob_id)
        if info is None:
            raise NotFound(f"no blob {blob_id}", code="file_not_found")
        return await self.core.files.get_info(actor, info.uid)

    async def rename(self, actor: Actor, blob_id: int, name: str) -> FileInfo:
        info = await self._owned(actor, id=blob_id)
        if not isinstance(name, str) or not 1 <= len(name) <= 255 or "/" in name:
            raise InvalidInput("a file name is 1 to 255 characters without '/'", field="name")
        async with self.core.db.transaction() as conn:
            await store.update_file(conn, info.id, name=name)
        return dataclasses.replace(info, name=name)

    async def list_own(
        self, actor: Actor, *, limit: int, offset: int
    ) -> tuple[int, list[FileInfo]]:
        async with self.core.db.read() as conn:
            return await store.list_owned_files(
                conn, actor.app_id, actor.user_id, limit=limit, offset=offset
            )
