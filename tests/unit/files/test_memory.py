"""MemoryFileStorage keeps the FileStorage contract without a disk."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tidings.domain.errors import NotFound, TooLarge
from tidings.files import CHUNK_SIZE, MemoryFileStorage


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def read_all(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


async def test_save_then_open_returns_the_bytes_in_64k_chunks() -> None:
    storage = MemoryFileStorage()
    data = bytes(range(256)) * 1000  # 256000 bytes: three full chunks and a tail

    size = await storage.save("abc", stream(data[:1000], data[1000:]), max_bytes=len(data))

    assert size == len(data)
    chunks = await read_all(await storage.open("abc"))
    assert b"".join(chunks) == data
    assert [len(c) for c in chunks] == [CHUNK_SIZE] * 3 + [len(data) - 3 * CHUNK_SIZE]


async def test_empty_file() -> None:
    storage = MemoryFileStorage()
    assert await storage.save("empty", stream(), max_bytes=0) == 0
    assert await read_all(await storage.open("empty")) == []


async def test_too_large_stores_nothing_and_keeps_the_old_contents() -> None:
    storage = MemoryFileStorage()
    await storage.save("k", stream(b"old"), max_bytes=10)

    with pytest.raises(TooLarge) as caught:
        await storage.save("k", stream(b"12345", b"678901"), max_bytes=10)

    assert caught.value.details == {"limit": 10}
    assert storage.files == {"k": b"old"}


async def test_exactly_max_bytes_is_allowed() -> None:
    storage = MemoryFileStorage()
    assert await storage.save("k", stream(b"12345", b"67890"), max_bytes=10) == 10


async def test_missing_key_raises_not_found_when_read() -> None:
    storage = MemoryFileStorage()
    with pytest.raises(NotFound):
        await storage.open("nope")


async def test_delete_removes_and_tolerates_missing() -> None:
    storage = MemoryFileStorage()
    await storage.save("k", stream(b"x"), max_bytes=1)
    await storage.delete("k")
    await storage.delete("k")
    with pytest.raises(NotFound):
        await storage.open("k")


@pytest.mark.parametrize("key", ["", "../etc", "a/b", "a.b", "x" * 65])
async def test_bad_keys_are_refused(key: str) -> None:
    storage = MemoryFileStorage()
    with pytest.raises(ValueError):
        await storage.save(key, stream(b"x"), max_bytes=1)
    with pytest.raises(ValueError):
        await storage.delete(key)
