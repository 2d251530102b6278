"""File contents on the local disk, under ``<root>/<key[:2]>/<key>``.

The two-character fan-out keeps directories small. Disk calls run in worker
threads (``asyncio.to_thread``) so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from tidings.domain.errors import NotFound
from tidings.files.base import CHUNK_SIZE, FileStorage, limited, validate_key


class LocalFileStorage(FileStorage):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Where ``key`` lives; raises ``ValueError`` for a key that is not safe."""
        validate_key(key)
        return self.root / key[:2] / key

    async def save(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        partial = await asyncio.to_thread(_Partial, self.path(key))
        try:
            size = 0
            async for chunk in limited(chunks, max_bytes):
                await asyncio.to_thread(partial.write, chunk)
                size += len(chunk)
            await asyncio.to_thread(partial.commit)
        except BaseException:
            # Synchronous on purpose: it is quick, and must run even when cancelled.
            partial.discard()
            raise
        return size

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.path(key)
        # Check now, open on first read: a generator the caller drops unread
        # never runs its ``finally``, so it must not be holding a file yet.
        if not await asyncio.to_thread(path.is_file):
            raise NotFound("file not found", key=key)
        return _read_chunks(path, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)


async def _read_chunks(path: Path, key: str) -> AsyncIterator[bytes]:
    try:
        file = await asyncio.to_thread(path.open, "rb")
    except FileNotFoundError:
        # Deleted between open() and the first read.
        raise NotFound("file not found", key=key) from None
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK_SIZE):
            yield chunk
    finally:
        file.close()


class _Partial:
    """A hidden temporary file beside ``final``, renamed over it once complete.

    Same directory, so the rename is atomic: readers see the old file or the
    whole new one. The leading dot keeps it apart from every valid key.
    """

    def __init__(self, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=".", suffix=".part")
        self._file = os.fdopen(fd, "wb")
        self._path = Path(name)
        self._final = final

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._path, self._final)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(OSError):
            self._path.unlink()
