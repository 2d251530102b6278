"""Files over HTTP: upload a raw body, download the same bytes, who may download,
attachments, the size limit (nothing left behind) and deleting."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tidings.client.rest import ApiError
from tidings.store.tables import files as files_table


def _stored_paths(server) -> set[Path]:
    """Every file (temporary ones included) under the storage folder."""
    root = Path(server.settings.files_dir)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def _file_rows(server, owner_id: int) -> list:
    async with server.core.db.read() as conn:
        query = select(files_table).where(files_table.c.owner_id == owner_id)
        return list(await conn.execute(query))


def _disk_path(server, uid: str) -> Path:
    return Path(server.settings.files_dir) / uid[:2] / uid


async def test_upload_and_download(server) -> None:
    """Uploading answers the file's facts; downloading gives back identical bytes with
    its type, size and name."""
    _app, user, client = await server.new_client()
    data = "héllo, wörld\n".encode()
    info = await client.upload("hello.txt", data, content_type="text/plain; charset=utf-8")
    assert info.name == "hello.txt"
    assert info.size == len(data)
    assert info.content_type == "text/plain; charset=utf-8"
    assert info.public is False
    assert info.owner_id == user.id
    assert isinstance(info.uid, str) and info.uid.isalnum()
    assert await client.download(info.uid) == data
    assert await client.request("GET", f"/files/{info.uid}") == asdict(info)
    response = await client.http.get(
        f"/files/{info.uid}/content", headers={"Authorization": f"Bearer {client.token}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-length"] == str(len(data))
    assert "hello.txt" in response.headers["content-disposition"]
    assert _disk_path(server, info.uid).read_bytes() == data


async def test_large_binary_round_trip(server) -> None:
    """A 300 KiB binary file (several storage chunks) comes back byte for byte."""
    _app, _user, client = await server.new_client()
    data = os.urandom(300 * 1024)
    info = await client.upload("blob.bin", data)
    assert info.size == len(data)
    assert info.content_type == "application/octet-stream"
    assert await client.download(info.uid) == data


async def test_streamed_upload(server) -> None:
    """An upload sent in chunks without Content-Length is stored whole."""
    _app, _user, client = await server.new_client()
    parts = [os.urandom(50_000) for _ in range(5)]

    async def chunks() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    info = await client.upload("streamed.bin", chunks())
    assert info.size == sum(map(len, parts))
    assert await client.download(info.uid) == b"".join(parts)


async def test_private_file_owner_only_until_attached(server) -> None:
    """A private file is the owner's alone; attached in a dialog, its other member may
    download it too, but nobody else."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, _carol, carol_c = await server.new_client(app)
    data = os.urandom(4096)
    info = await alice_c.upload("photo.jpg", data, content_type="image/jpeg")
    uid = info.uid
    assert await alice_c.download(uid) == data
    for client in (bob_c, carol_c, server.client()):
        with pytest.raises(ApiError) as error:
            await client.download(uid)
        assert (error.value.status, error.value.code) == (404, "file_not_found")
    dialog = await alice_c.create_dialog("private", [bob.id])
    message = await alice_c.send_message(
        dialog.id, "look", attachments=[{"file_id": uid, "caption": "me"}]
    )
    [attachment] = message.attachments
    assert attachment["file_id"] == uid
    assert attachment["name"] == "photo.jpg"
    assert attachment["size"] == len(data)
    assert attachment["content_type"] == "image/jpeg"
    assert attachment["public"] is False
    assert attachment["caption"] == "me"
    assert await bob_c.download(uid) == data
    assert (await bob_c.request("GET", f"/files/{uid}"))["uid"] == uid
    [received] = (await bob_c.history(dialog.id)).items
    assert received.attachments == message.attachments
    for client in (carol_c, server.client()):
        with pytest.raises(ApiError) as error:
            await client.download(uid)
        assert (error.value.status, error.value.code) == (404, "file_not_found")
    # Bob may download it, but it is still Alice's: he cannot delete it.
    with pytest.raises(ApiError) as error:
        await bob_c.request("DELETE", f"/files/{uid}")
    assert error.value.status == 403
    assert await alice_c.download(uid) == data


async def test_public_file_needs_no_token(server) -> None:
    """A public file downloads without any Authorization header."""
    _app, _user, client = await server.new_client()
    data = b"for everyone " + os.urandom(100)
    info = await client.upload("notice.txt", data, content_type="text/plain", public=True)
    assert info.public is True
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get(f"/api/v1/files/{info.uid}/content")
        assert response.status_code == 200
        assert response.content == data
        meta = await http.get(f"/api/v1/files/{info.uid}")
        assert meta.status_code == 200 and meta.json()["uid"] == info.uid


async def test_upload_over_the_limit_leaves_nothing(server) -> None:
    """An upload over 1 MiB answers 413 too_large; no row and no bytes stay behind."""
    _app, user, client = await server.new_client()
    before = _stored_paths(server)
    limit = server.settings.max_upload_bytes
    assert limit == 1 << 20
    with pytest.raises(ApiError) as error:
        await client.upload("huge.bin", os.urandom(limit + 1))
    assert (error.value.status, error.value.code) == (413, "too_large")
    assert _stored_paths(server) == before
    assert await _file_rows(server, user.id) == []
    # Exactly at the limit is fine.
    info = await client.upload("exact.bin", b"\0" * limit)
    assert info.size == limit
    assert [row.uid for row in await _file_rows(server, user.id)] == [info.uid]


async def test_streamed_upload_over_the_limit_leaves_nothing(server) -> None:
    """A chunked upload that passes the limit midway is refused the same way."""
    _app, user, client = await server.new_client()
    before = _stored_paths(server)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield os.urandom(64 * 1024)

    with pytest.raises(ApiError) as error:
        await client.upload("huge-stream.bin", chunks())
    assert (error.value.status, error.value.code) == (413, "too_large")
    assert _stored_paths(server) == before
    assert await _file_rows(server, user.id) == []


async def test_attachment_with_unknown_file(server) -> None:
    """Attaching a file id that does not exist answers 404 file_not_found; no message."""
    app, _alice, alice_c = await server.new_client()
    _, bob, _ = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    for file_id in ("0" * 32, "nonexistent"):
        with pytest.raises(ApiError) as error:
            await alice_c.send_message(dialog.id, "see", attachments=[{"file_id": file_id}])
        assert (error.value.status, error.value.code) == (404, "file_not_found")
    assert (await alice_c.history(dialog.id)).items == []
    assert (await alice_c.get_dialog(dialog.id)).last_seq == 0


async def test_delete_by_owner(server) -> None:
    """The owner deletes a file: then it is 404 everywhere and gone from disk."""
    _app, _user, client = await server.new_client()
    info = await client.upload("gone.txt", b"soon gone", public=True)
    uid = info.uid
    assert _disk_path(server, uid).is_file()
    await client.request("DELETE", f"/files/{uid}")
    for call in (
        client.download(uid),
        client.request("GET", f"/files/{uid}"),
        client.request("DELETE", f"/files/{uid}"),
        server.client().download(uid),
    ):
        with pytest.raises(ApiError) as error:
            await call
        assert (error.value.status, error.value.code) == (404, "file_not_found")
    assert not _disk_path(server, uid).exists()


async def test_upload_needs_a_name_and_a_token(server) -> None:
    """No token: 401. No name, or a name with '/': 400. Nothing stored either way."""
    _app, user, client = await server.new_client()
    before = _stored_paths(server)
    with pytest.raises(ApiError) as error:
        await server.client().upload("anon.txt", b"x")
    assert error.value.status == 401
    with pytest.raises(ApiError) as error:
        await client.request("POST", "/files", content=b"x")
    assert (error.value.status, error.value.code) == (400, "invalid_input")
    with pytest.raises(ApiError) as error:
        await client.upload("../escape.txt", b"x")
    assert (error.value.status, error.value.code) == (400, "invalid_input")
    assert _stored_paths(server) == before
    assert await _file_rows(server, user.id) == []
