"""Files of service-desk tickets: staged uploads, attachments, the agents' avatar.

A desk client uploads a file before it knows which comment it belongs to (and
before the request says who it is), so an upload is staged by ``guid`` and
claimed, as a core file owned by the identity, when a comment attaches it.
Downloads are by the file's integer id, so each one is checked against the
tickets of whoever asks.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from tidings.core.desk_models import DeskConfig, DeskIdentity, UploadRef
from tidings.core.filetypes import HeadKeeper
from tidings.core.filetypes import resolve as resolve_type
from tidings.domain.errors import NotFound
from tidings.store import apps as users_store
from tidings.store import files as files_store
from tidings.store import tickets as store

if TYPE_CHECKING:
    from tidings.core.hub import Core


class DeskFiles:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def stage_upload(
        self, chunks: AsyncIterator[bytes], *, name: str, content_type: str
    ) -> tuple[str, str]:
        """Store an uploaded blob (no identity yet): returns (guid, md5)."""
        digest = hashlib.md5(usedforsecurity=False)

        async def hashed() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                digest.update(chunk)
                yield chunk

        guid = secrets.token_hex(16)
        kept = HeadKeeper(hashed())
        size = await self.core.storage.save(
            guid, kept.stream(), max_bytes=self.core.settings.max_upload_bytes
        )
        name = (name or "file").replace("/", "_")[:255] or "file"
        # The iOS SDK sends every file as application/octet-stream: photos by content.
        content_type = resolve_type(content_type, kept.head, name)
        try:
            async with self.core.db.transaction() as conn:
                await store.insert_upload(
                    conn,
                    guid=guid,
                    name=name,
                    content_type=(content_type or "application/octet-stream")[:255],
                    size=size,
                    md5=digest.hexdigest(),
                    created_ms=self.core.now_ms(),
                )
        except BaseException:
            await self.core.storage.delete(guid)
            raise
        return guid, digest.hexdigest()

    async def claim(self, ident: DeskIdentity, items: Sequence[UploadRef]) -> list[tuple[str, int]]:
        """Turn staged uploads into core files owned by the identity: (uid, file id)."""
        out: list[tuple[str, int]] = []
        if not items:
            return out
        async with self.core.db.transaction() as conn:
            for item in items:
                upload = await store.get_upload(conn, item.guid)
                if upload is None:
                    raise NotFound(f"no upload {item.guid}", code="upload_not_found")
                if upload.file_id is not None:
                    info = await files_store.get_file(conn, ident.app.id, upload.guid)
                    if info is None or info.owner_id != ident.user_id:
                        raise NotFound(f"no upload {item.guid}", code="upload_not_found")
                    out.append((info.uid, info.id))
                    continue
                name = str(item.name or upload.name)[:255].replace("/", "_") or "file"
                info = await files_store.insert_file(
                    conn,
                    uid=upload.guid,
                    app_id=ident.app.id,
                    owner_id=ident.user_id,
                    name=name,
                    content_type=upload.content_type,
                    size=upload.size,
                    public=False,
                    created_ms=self.core.now_ms(),
                )
                await store.update_upload(conn, upload.guid, file_id=info.id)
                out.append((info.uid, info.id))
        return out

    async def open_attachment(self, ident: DeskIdentity, file_id: int) -> tuple[Any, Any]:
        """(file info, byte stream) of an attachment of one of the identity's tickets."""
        async with self.core.db.read() as conn:
            ticket = await store.ticket_of_file(conn, file_id)
            row = await store.get_file_by_id(conn, file_id)
        if ticket is None or row is None or ticket.requester_id != ident.user_id:
            raise NotFound(f"no file {file_id}", code="file_not_found")
        return row, await self.core.storage.open(row.uid)

    async def open_avatar(self, file_id: int) -> tuple[Any, Any]:
        """The public file its app names as the agents' avatar (``agent_avatar_id``).

        Avatars are fetched without credentials and by number, so serving any public
        file here would let anyone walk every app's public files by counting.
        """
        async with self.core.db.read() as conn:
            row = await store.get_file_by_id(conn, file_id)
            app = await users_store.get_app(conn, row.app_id) if row is not None else None
        if (
            row is None
            or not row.public
            or app is None
            or DeskConfig.of(app).agent_avatar_id != file_id
        ):
            raise NotFound(f"no avatar {file_id}", code="file_not_found")
        return row, await self.core.storage.open(row.uid)
