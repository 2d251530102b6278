"""File contents in a dict, for tests and throwaway single-process runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tidings.domain.errors import NotFound
from tidings.files.base import CHUNK_SIZE, FileStorage, limited, validate_key


class MemoryFileStorage(FileStorage):
    def __init__(self) -> None:
        #: key -> contents; tests may read it directly.
        self.files: dict[str, bytes] = {}

    async def save(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        validate_key(key)
        buffer = bytearray()
        async for chunk in limited(chunks, max_bytes):
            buffer += chunk
        self.files[key] = bytes(buffer)
        return len(buffer)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        validate_key(key)
        try:
            data = self.files[key]
        except KeyError:
            raise NotFound("file not found", key=key) from None
        return _chunks(data)

    async def delete(self, key: str) -> None:
        validate_key(key)
        self.files.pop(key, None)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK_SIZE):
        yield data[start : start + CHUNK_SIZE]
