"""LocalFileStorage: fanned-out layout, atomic saves, safe keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tidings.domain.errors import NotFound, TooLarge
from tidings.files import CHUNK_SIZE, LocalFileStorage


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def read_all(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


def stored_files(root: Path) -> list[str]:
    """Every file under root, temporary ones included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_save_writes_under_a_two_character_folder(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    size = await storage.save("abcdef", stream(b"hello ", b"world"), max_bytes=100)

    assert size == 11
    assert (tmp_path / "ab" / "abcdef").read_bytes() == b"hello world"
    assert stored_files(tmp_path) == ["ab/abcdef"]


async def test_open_streams_64k_chunks(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    data = bytes(range(256)) * 1000
    await storage.save("big", stream(data), max_bytes=len(data))

    chunks = await read_all(await storage.open("big"))

    assert b"".join(chunks) == data
    assert [len(c) for c in chunks] == [CHUNK_SIZE] * 3 + [len(data) - 3 * CHUNK_SIZE]


async def test_empty_file(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    assert await storage.save("e", stream(), max_bytes=0) == 0
    assert await read_all(await storage.open("e")) == []


async def test_save_replaces_existing_contents(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    await storage.save("k1", stream(b"first"), max_bytes=100)
    await storage.save("k1", stream(b"second"), max_bytes=100)
    assert b"".join(await read_all(await storage.open("k1"))) == b"second"
    assert stored_files(tmp_path) == ["k1/k1"]


async def test_too_large_leaves_nothing_behind(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    with pytest.raises(TooLarge) as caught:
        await storage.save("big", stream(b"a" * 6, b"b" * 6), max_bytes=10)

    assert caught.value.details == {"limit": 10}
    assert caught.value.status == 413
    assert stored_files(tmp_path) == []


async def test_too_large_keeps_the_previous_version(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    await storage.save("k1", stream(b"old"), max_bytes=10)
    with pytest.raises(TooLarge):
        await storage.save("k1", stream(b"x" * 11), max_bytes=10)
    assert stored_files(tmp_path) == ["k1/k1"]
    assert (tmp_path / "k1" / "k1").read_bytes() == b"old"


async def test_a_broken_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    storage = LocalFileStorage(tmp_path)
    with pytest.raises(ConnectionResetError):
        await storage.save("k1", broken(), max_bytes=100)
    assert stored_files(tmp_path) == []


async def test_a_cancelled_save_leaves_nothing_behind(tmp_path: Path) -> None:
    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"partial"
        started.set()
        await asyncio.Event().wait()
        yield b"never"

    storage = LocalFileStorage(tmp_path)
    task = asyncio.create_task(storage.save("k1", stalled(), max_bytes=100))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stored_files(tmp_path) == []


async def test_missing_key_raises_not_found_when_read(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    with pytest.raises(NotFound):
        await storage.open("nope")


async def test_a_file_deleted_before_the_first_read_is_not_found(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    await storage.save("k1", stream(b"x"), max_bytes=1)
    chunks = await storage.open("k1")
    await storage.delete("k1")
    with pytest.raises(NotFound):
        await read_all(chunks)


async def test_delete_removes_and_tolerates_missing(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    await storage.save("gone", stream(b"x"), max_bytes=1)
    await storage.delete("gone")
    await storage.delete("gone")
    await storage.delete("never")
    with pytest.raises(NotFound):
        await storage.open("gone")


async def test_valid_key_characters(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    key = "Az09_-" + "x" * 58
    assert await storage.save(key, stream(b"ok"), max_bytes=2) == 2
    assert (tmp_path / "Az" / key).exists()


@pytest.mark.parametrize(
    "key", ["", "..", "../escape", "a/b", "a\\b", ".hidden", "a.b", "é", "x" * 65, "a\x00b"]
)
async def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    storage = LocalFileStorage(tmp_path / "root")
    with pytest.raises(ValueError):
        await storage.save(key, stream(b"x"), max_bytes=1)
    with pytest.raises(ValueError):
        await storage.open(key)
    with pytest.raises(ValueError):
        await storage.delete(key)
    assert stored_files(tmp_path) == []
