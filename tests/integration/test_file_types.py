"""Files uploaded as ``application/octet-stream`` (as the Pyrus iOS SDK uploads every
file, pyrus wire §6) get their type from their first bytes, else from a safe list of
names, and are served with it; a type the client stated is kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.servicedesk_sdk import DeskDevice
from tidings.core.filetypes import resolve

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\0" * 40
GIF = b"GIF89a" + b"\0" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\0" * 40
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 40
PDF = b"%PDF-1.7\n" + b"\0" * 40

CASES = [
    ("IMG_0001", PNG, "image/png"),
    ("photo.bin", JPEG, "image/jpeg"),
    ("anim", GIF, "image/gif"),
    ("sticker", WEBP, "image/webp"),
    ("IMG_0002.HEIC", HEIC, "image/heic"),
    ("invoice", PDF, "application/pdf"),
    ("notes.txt", b"plain words", "text/plain"),
    ("page.html", b"<script>alert(1)</script>", "application/octet-stream"),
    ("drawing.svg", b"<svg onload=alert(1)>", "application/octet-stream"),
]


@pytest.mark.parametrize(("name", "content", "expected"), CASES, ids=[c[0] for c in CASES])
def test_resolve_by_content_then_safe_name(name: str, content: bytes, expected: str) -> None:
    """Magic bytes first; names only among types safe inline (never HTML or SVG)."""
    assert resolve("application/octet-stream", content[:32], name) == expected
    assert resolve("", content[:32], name) == expected
    assert resolve("text/csv", content[:32], name) == "text/csv", "a stated type is kept"


async def test_native_upload_as_octet_stream_is_served_as_an_image(server: Any) -> None:
    """``POST /api/v1/files`` with ``application/octet-stream``: stored and served as PNG."""
    _app, _user, client = await server.new_client()
    info = await client.upload("IMG_0001", PNG, content_type="application/octet-stream")
    assert info.content_type == "image/png"
    response = await client.http.get(
        f"/files/{info.uid}/content", headers={"Authorization": f"Bearer {client.token}"}
    )
    assert response.status_code == 200 and response.content == PNG
    assert response.headers["content-type"] == "image/png"


async def test_ios_sdk_photo_is_an_image_for_the_desk_and_the_console(server: Any) -> None:
    """The iOS SDK's ``UploadFile`` (``userfile``, octet-stream): the attachment downloads
    as ``image/jpeg``, so the console shows it inline."""
    app = await server.new_app("desk photos")
    device = DeskDevice(server.base_url, app.desk_app_id, platform="ios")
    try:
        guid = await device.upload("photo.jpg", JPEG)
        photo = device.create_comment(attachments=[{"guid": guid, "type": 0, "name": "photo.jpg"}])
        reply = await device.sync(photo)
        (attachment,) = reply["tickets"][0]["comments"][0]["attachments"]
        response = await device.http.get(
            f"{device.url}DownloadFile/{attachment['id']}", params=device.download_query()
        )
    finally:
        await device.aclose()
    print(f"served as {response.headers['content-type']}, {len(response.content)} bytes")
    assert response.status_code == 200 and response.content == JPEG
    assert response.headers["content-type"] == "image/jpeg"
