"""XEP-0363 HTTP File Upload: slots over XMPP (slixmpp), bytes over HTTP (aiohttp in
slixmpp's plugin, httpx here), files in the same store as ConnectyCube attachments."""

from __future__ import annotations

import io
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from slixmpp.exceptions import IqError

from tests.conftest import start_server
from tests.helpers import manual_clock
from tests.integration.test_connectycube_rest import Cube
from tests.integration.test_xmpp_chat import jid
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.settings import Settings

NS = "urn:xmpp:http:upload:0"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
MAX = 1000
QUOTA = 2500


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture(scope="module", params=["sqlite", "postgres"])
async def upload_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    """A server whose slots point at its own HTTP port, with a small size limit and quota."""
    port = _free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp(f"upload-{request.param}"),
        database_url=request.getfixturevalue("postgres_url") if request.param == "postgres" else "",
        port=port,
        log_format="text",
        xmpp_port=0,
        upload_slot_max_bytes=MAX,
        upload_quota_bytes=QUOTA,
        upload_base_url=f"http://127.0.0.1:{port}",
    )
    running, stop = await start_server(settings, request.param)
    yield running
    await stop()


class Uploader(Client):
    def __init__(self, jid_: str, password: str) -> None:
        super().__init__(jid_, password)
        self.register_plugin("xep_0363")

    async def slot(self, name: str, size: int | str, content_type: str | None) -> Any:
        iq = self.make_iq_get(ito="localhost")
        request = iq["http_upload_request"]
        request["filename"] = name
        request["size"] = str(size)
        if content_type:
            request["content-type"] = content_type
        reply = await iq.send(timeout=10)
        put = reply["http_upload_slot"]["put"]
        headers = {h["name"]: h["value"] for h in put["headers"]}
        return put["url"], headers, reply["http_upload_slot"]["get"]["url"]


async def _error_of(coro: Any) -> Any:
    with pytest.raises(IqError) as caught:
        await coro
    return caught.value.iq.xml.find("{jabber:client}error")


def _uid(url: str) -> str:
    return httpx.URL(url).path.split("/")[3]


async def test_slixmpp_uploads_and_the_file_is_a_connectycube_attachment(upload_server) -> None:
    """§3 discovery with max-file-size, §4 slot, §6 PUT by slixmpp's own HTTP client;
    the GET URL serves the bytes; the uid attaches to a ConnectyCube message and the
    other member downloads it there."""
    server = upload_server
    app, alice, alice_token = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = Uploader(jid(alice), "correct horse")
        await connect(a, xmpp.port)
        try:
            data = b"hello over http upload\n" * 10
            url = await a.plugin["xep_0363"].upload_file(
                "notes.txt", size=len(data), content_type="text/plain", input_file=io.BytesIO(data)
            )
            assert a.plugin["xep_0363"].max_file_size == MAX
        finally:
            await close(a)
    async with httpx.AsyncClient(timeout=10) as http:
        got = await http.get(url)
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"].startswith("text/plain")
        assert got.headers["content-disposition"].startswith("attachment")
        assert got.headers["x-content-type-options"] == "nosniff"
    uid = _uid(url)
    alice_cube, bob_cube = Cube(server, alice_token), Cube(server, bob_token)
    try:
        dialog = await alice_cube.post("/chat/Dialog.json", {"type": 3, "occupants_ids": [bob.id]})
        assert dialog.status_code == 201, dialog.text
        sent = await alice_cube.post(
            "/chat/Message.json",
            {
                "chat_dialog_id": dialog.json()["_id"],
                "message": "the notes",
                "attachments": [{"type": "file", "uid": uid}],
            },
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["attachments"][0]["uid"] == uid
        download = await bob_cube.http.get(f"/blobs/{uid}?token={bob_token}")
        assert download.status_code == 200 and download.content == data
    finally:
        await alice_cube.aclose()
        await bob_cube.aclose()


async def test_a_put_must_match_its_slot_once_and_stay_in_its_app(upload_server) -> None:
    """§6: Content-Length and Content-Type as declared, else refused and nothing kept;
    a slot works once; a ticket of another app's user opens no other slot."""
    server = upload_server
    app, alice, _ = await server.new_user()
    _, mallory, _ = await server.new_user()  # another app
    async with Listener(server.core) as xmpp:
        a, m = Uploader(jid(alice), "correct horse"), Uploader(jid(mallory), "correct horse")
        await connect(a, xmpp.port)
        await connect(m, xmpp.port)
        try:
            put_url, headers, get_url = await a.slot("photo.png", 8, "image/png")
            _, mallory_headers, _ = await m.slot("x.png", 8, "image/png")
        finally:
            await close(a, m)
    assert put_url == get_url and headers["Authorization"].startswith("Bearer ")
    png = {"Content-Type": "image/png"}
    async with httpx.AsyncClient(timeout=10) as http:
        no_ticket = await http.put(put_url, content=b"12345678", headers=png)
        assert no_ticket.status_code == 403
        other_app = await http.put(put_url, content=b"12345678", headers={**png, **mallory_headers})
        assert other_app.status_code == 403
        moved = put_url.replace(f"/http-upload/{app.id}/", f"/http-upload/{mallory.app_id}/")
        assert (
            await http.put(moved, content=b"12345678", headers={**png, **headers})
        ).status_code == 403
        forged = {"Authorization": headers["Authorization"][:-4] + "AAAA"}
        assert (
            await http.put(put_url, content=b"12345678", headers={**png, **forged})
        ).status_code == 403
        short = await http.put(put_url, content=b"1234567", headers={**png, **headers})
        assert short.status_code == 400 and "Content-Length" in short.text
        wrong_type = await http.put(
            put_url, content=b"12345678", headers={"Content-Type": "image/jpeg", **headers}
        )
        assert wrong_type.status_code == 400 and "Content-Type" in wrong_type.text
        assert (await http.get(get_url)).status_code == 404  # nothing was kept
        ok = await http.put(put_url, content=b"12345678", headers={**png, **headers})
        assert ok.status_code == 201, ok.text
        again = await http.put(put_url, content=b"87654321", headers={**png, **headers})
        assert again.status_code == 409
        got = await http.get(get_url)
        assert got.content == b"12345678" and got.headers["content-type"] == "image/png"
        assert got.headers["content-disposition"].startswith("inline")
        assert (await http.get(moved)).status_code == 404  # not in the other app's space


async def test_oversize_quota_and_malformed_requests_get_precise_errors(upload_server) -> None:
    """§5: too large -> not-acceptable with <file-too-large><max-file-size>; over the
    quota -> resource-constraint; a malformed request -> bad-request; the stream lives."""
    server = upload_server
    _, alice, _ = await server.new_user()
    async with Listener(server.core) as xmpp:
        a = Uploader(jid(alice), "correct horse")
        await connect(a, xmpp.port)
        try:
            error = await _error_of(a.slot("big.bin", MAX + 1, None))
            assert (
                error.get("type") == "modify"
                and error.find(f"{{{STANZAS}}}not-acceptable") is not None
            )
            assert error.findtext(f"{{{NS}}}file-too-large/{{{NS}}}max-file-size") == str(MAX)
            for bad_size in ("abc", "-5", "0"):
                error = await _error_of(a.slot("x.bin", bad_size, None))
                assert error.find(f"{{{STANZAS}}}bad-request") is not None, bad_size
            error = await _error_of(a.slot("a/b.bin", 10, None))
            assert error.find(f"{{{STANZAS}}}bad-request") is not None
            async with httpx.AsyncClient(timeout=10) as http:
                for i in range(QUOTA // MAX):
                    url, headers, _ = await a.slot(f"f{i}.bin", MAX, None)
                    put = await http.put(url, content=b"x" * MAX, headers=headers)
                    assert put.status_code == 201, put.text
            error = await _error_of(a.slot("one-more.bin", MAX, None))
            assert error.get("type") == "wait"
            assert error.find(f"{{{STANZAS}}}resource-constraint") is not None
            # Still under quota for a small one, and the stream is still open.
            url, _headers, _ = await a.slot("small.bin", QUOTA - (QUOTA // MAX) * MAX, None)
            assert url.startswith(server.base_url)
        finally:
            await close(a)


async def test_an_expired_slot_is_refused_and_leaves_nothing(upload_server) -> None:
    """Implementation notes (§7): a PUT URL is valid for a short while only
    (``TIDINGS_UPLOAD_SLOT_SECONDS``); after it, 403 and no file."""
    server = upload_server
    _, alice, _ = await server.new_user()
    async with Listener(server.core) as xmpp:
        a = Uploader(jid(alice), "correct horse")
        await connect(a, xmpp.port)
        try:
            with manual_clock(server) as clock:
                url, headers, _ = await a.slot("late.txt", 4, "text/plain")
                clock.advance(server.settings.upload_slot_seconds + 1)
                async with httpx.AsyncClient(timeout=10) as http:
                    late = await http.put(
                        url, content=b"late", headers={"Content-Type": "text/plain", **headers}
                    )
                    assert late.status_code == 403 and "expired" in late.text
                    assert (await http.get(url)).status_code == 404
        finally:
            await close(a)
