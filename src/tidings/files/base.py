"""Where uploaded file contents live, apart from their metadata in the database.

A storage only moves bytes under a key the core chose. Saving is all or
nothing: a stream cut short or over its limit leaves nothing behind, so the
core never has to clean up a half-written file.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from tidings.domain.errors import TooLarge

#: Size of the chunks :meth:`FileStorage.open` yields.
CHUNK_SIZE = 64 * 1024

_KEY = re.compile(r"[0-9A-Za-z_-]{1,64}")


def validate_key(key: str) -> str:
    """Return ``key`` if it is 1-64 of ``[0-9A-Za-z_-]``, else raise ``ValueError``.

    Keys become file names, so no dots or slashes: no path traversal, and no
    clash with the hidden temporary files a save writes first.
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"invalid file key {key!r}: use 1-64 of [0-9A-Za-z_-]")
    return key


class FileStorage(ABC):
    @abstractmethod
    async def save(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        """Store the stream under ``key`` (replacing it) and return its size.

        Raises :class:`~tidings.domain.errors.TooLarge` as soon as the stream
        passes ``max_bytes``; then, or on any other error, nothing is stored.
        """

    @abstractmethod
    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The contents as an async generator of :data:`CHUNK_SIZE` chunks.

        A coroutine, so a missing key raises :class:`~tidings.domain.errors.NotFound`
        when awaited, before a gateway has sent any response headers:
        ``chunks = await storage.open(key)``, then ``async for chunk in chunks``.
        """

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error (deletes may be retried)."""


async def limited(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    """Pass ``chunks`` through, raising ``TooLarge`` once more than ``max_bytes`` went by.

    Raises before yielding the chunk that crosses the limit, so no storage ever
    holds more than ``max_bytes`` of it, and stops reading the client.
    """
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise TooLarge(f"file is larger than {max_bytes} bytes", limit=max_bytes)
        yield chunk
