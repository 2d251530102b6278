"""XEP-0054 vCard-temp and XEP-0153 vCard-based avatars end to end with slixmpp's
plugins: a card's FN and PHOTO are the user's full name and avatar, seen by the
native REST API, the ConnectyCube API and the file endpoints, and the avatar's hash
rides in the user's presences."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from typing import Any

import httpx
import pytest
from slixmpp.exceptions import IqError

from tests.helpers import wait_until
from tests.integration.test_connectycube_rest import Cube, _login
from tests.integration.test_xmpp_chat import jid
from tests.integration.test_xmpp_websocket import login, ws_url
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.domain.models import Actor

VCARD = "vcard-temp"
UPDATE = "vcard-temp:x:update"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def png(width: int, seed: int = 0) -> bytes:
    """A real PNG of ``width`` x 1 pixels (noisy, so it does not compress away)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes((i * 7919 + seed * 31 + (i * i) % 251) % 256 for i in range(width * 3))
    header = struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row, 0))
        + chunk(b"IEND", b"")
    )


class CardClient(Client):
    def __init__(self, address: str) -> None:
        super().__init__(address, "correct horse")
        for plugin in ("xep_0054", "xep_0153"):
            self.register_plugin(plugin)
        self.photos: list[tuple[str, str | None]] = []
        self.add_event_handler("presence_available", self._photo)

    def _photo(self, presence: Any) -> None:
        found = presence.xml.find(f"{{{UPDATE}}}x/{{{UPDATE}}}photo")
        hash_ = None if found is None else (found.text or "")
        self.photos.append((str(presence["from"].bare), hash_))


async def test_vcard_is_the_profile_everywhere(server) -> None:
    """§3.2 set (FN, PHOTO) then §3.1 get of one's own card, §3.3 another user's of
    the same app; the native user and the ConnectyCube user show the avatar (a file
    uid the file endpoints serve to the app's users); XEP-0153 §3.1: a subscribed
    contact sees the SHA-1 in the user's presence once the card is set."""
    app, alice, _ = await server.new_user()
    _, bob, bob_token = await server.new_user(app, login=f"bob-{app.id}")
    await server.core.contacts.request(Actor(app.id, bob.id), alice.id)
    await server.core.contacts.confirm(Actor(app.id, alice.id), bob.id)
    picture = png(40)
    digest = hashlib.sha1(picture).hexdigest()
    async with Listener(server.core) as xmpp:
        b = await connect(CardClient(jid(bob)), xmpp.port)
        a = await connect(CardClient(jid(alice)), xmpp.port)
        try:
            card = a.plugin["xep_0054"].make_vcard()
            card["FN"] = "Alice Liddell"
            card["PHOTO"]["TYPE"] = "image/png"
            card["PHOTO"]["BINVAL"] = picture
            await a.plugin["xep_0054"].publish_vcard(card, timeout=10)
            await wait_until(lambda: (jid(alice), digest) in b.photos, what="the hash in presence")
            own = (await a.plugin["xep_0054"].get_vcard(jid(alice), timeout=10))["vcard_temp"]
            theirs = await b.plugin["xep_0054"].get_vcard(jid(alice), timeout=10)
        finally:
            await close(a, b)
    native = await server.client(bob_token).get_user(alice.id)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        download = await http.get(
            f"/api/v1/files/{native.avatar_uid}/content",
            headers={"Authorization": f"Bearer {bob_token}"},
        )
    cube, _ = await _login(lambda: Cube(server), app, f"bob-{app.id}")
    try:
        cc_user = (await cube.get(f"/users/{alice.id}.json")).json()["user"]
        cc_blob = await cube.get(f"/blobs/{cc_user['avatar']}")
    finally:
        await cube.aclose()
    print(f"\nvCard FN {own['FN']!r}, photo {len(own['PHOTO']['BINVAL'])} bytes; avatar {native}")
    assert own["FN"] == "Alice Liddell"
    assert own["PHOTO"]["BINVAL"] == picture and own["PHOTO"]["TYPE"] == "image/png"
    assert str(theirs["from"]) == jid(alice)
    assert theirs["vcard_temp"]["PHOTO"]["BINVAL"] == picture
    assert native.full_name == "Alice Liddell" and native.avatar_sha1 == digest
    assert download.status_code == 200 and download.content == picture
    assert cc_user["avatar"] == native.avatar_uid
    assert cc_blob.status_code == 200 and cc_blob.content == picture
    assert cc_user["full_name"] == "Alice Liddell"


async def test_avatar_set_by_xep_0153_and_removed(server) -> None:
    """slixmpp's XEP-0153 ``set_avatar`` (get the card, set PHOTO, publish it): the new
    picture replaces the old (its file is gone); a card without PHOTO removes the
    avatar and the contact is told ``<photo/>`` (§3.1: no avatar)."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    await server.core.contacts.request(Actor(app.id, bob.id), alice.id)
    await server.core.contacts.confirm(Actor(app.id, alice.id), bob.id)
    first, second = png(8, seed=1), png(8, seed=2)
    async with Listener(server.core) as xmpp:
        b = await connect(CardClient(jid(bob)), xmpp.port)
        a = await connect(CardClient(jid(alice)), xmpp.port)
        try:
            await a.plugin["xep_0153"].set_avatar(avatar=first, mtype="image/png", timeout=10)
            old = (await server.client(alice_token).get_user(alice.id)).avatar_uid
            await a.plugin["xep_0153"].set_avatar(avatar=second, mtype="image/png", timeout=10)
            new = await server.client(alice_token).get_user(alice.id)
            second_hash = hashlib.sha1(second).hexdigest()
            await wait_until(lambda: (jid(alice), second_hash) in b.photos, what="new hash")
            await a.plugin["xep_0054"].publish_vcard(a.plugin["xep_0054"].make_vcard(), timeout=10)
            await wait_until(lambda: (jid(alice), "") in b.photos, what="no avatar")
            cleared = await server.client(alice_token).get_user(alice.id)
        finally:
            await close(a, b)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        gone = await http.get(f"/api/v1/files/{old}/content")
    assert new.avatar_sha1 == second_hash and new.avatar_uid != old
    assert gone.status_code == 404
    assert cleared.avatar_uid is None and cleared.avatar_sha1 is None
    assert cleared.full_name is None  # the card was replaced by an empty one


async def test_client_claimed_photo_hash_is_not_trusted(server) -> None:
    """XEP-0153 §4.2 says the client puts the hash in presence; the server knows the
    avatar, so a claimed hash is dropped: none when the user has no avatar, the
    server's own when they have one."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    await server.core.contacts.request(Actor(app.id, bob.id), alice.id)
    await server.core.contacts.confirm(Actor(app.id, alice.id), bob.id)
    async with Listener(server.core) as xmpp:
        b = await connect(CardClient(jid(bob)), xmpp.port)
        a = await login(ws_url(server), alice, "correct horse")
        try:
            forged = f'<x xmlns="{UPDATE}"><photo>{"ab" * 20}</photo></x>'
            await a.send(f'<presence xmlns="jabber:client"><status>one</status>{forged}</presence>')
            await wait_until(lambda: len([p for p in b.photos if p[0] == jid(alice)]) >= 1)
            without = [p for p in b.photos if p[0] == jid(alice)][-1]
            await server.core.users.set_card(Actor(app.id, alice.id), full_name="A", avatar=png(4))
            real = hashlib.sha1(png(4)).hexdigest()
            b.photos.clear()
            await a.send(f'<presence xmlns="jabber:client"><status>two</status>{forged}</presence>')
            await wait_until(lambda: any(p == (jid(alice), real) for p in b.photos))
            await a.send(
                '<iq id="p" type="get" xmlns="jabber:client"><ping xmlns="urn:xmpp:ping"/></iq>'
            )
            await a.recv_until(lambda e: e.get("id") == "p")
            await b.plugin["xep_0199"].send_ping("localhost", timeout=10)
            claimed = [p for p in b.photos if p[1] == "ab" * 20]
        finally:
            await a.ws.close()
            await close(b)
    assert without == (jid(alice), None)
    assert claimed == []


def _answer(reply: Any) -> str:
    if reply.get("type") == "result":
        return "result"
    error = reply.find("{jabber:client}error")
    names = [c.tag.split("}", 1)[1] for c in error if c.tag.startswith(f"{{{STANZAS}}}")]
    return next(n for n in names if n != "text")


async def test_hostile_vcards_get_stanza_errors_and_the_stream_stays_open(server) -> None:
    """A PHOTO over ``avatar_max_bytes`` is ``not-acceptable``; bad base64 is
    ``bad-request``; bytes that are no image (SVG included) are ``not-acceptable``;
    an EXTVAL photo is ``feature-not-implemented``; setting another user's card is
    ``forbidden``; a user of another app has no card here: ``service-unavailable``
    (RFC 6120 §10.5.3.2), whether that user exists or not. Nothing changes the
    profile; the stream stays open."""
    app, alice, alice_token = await server.new_user(full_name="Alice")
    _, bob, _ = await server.new_user(app)
    _, stranger, _ = await server.new_user()
    limit = server.core.settings.avatar_max_bytes
    huge = base64.b64encode(png(limit // 3 + 100)).decode()
    svg = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()

    def card(photo: str) -> str:
        return f'<vCard xmlns="{VCARD}"><FN>Mallory</FN><PHOTO>{photo}</PHOTO></vCard>'

    cases = {
        "huge": (
            "set",
            "",
            card(f"<TYPE>image/png</TYPE><BINVAL>{huge}</BINVAL>"),
            "not-acceptable",
        ),
        "bad-base64": ("set", "", card("<BINVAL>@@not base64@@</BINVAL>"), "bad-request"),
        "svg": ("set", "", card(f"<BINVAL>{svg}</BINVAL>"), "not-acceptable"),
        "extval": ("set", "", card("<EXTVAL>http://x/y.png</EXTVAL>"), "feature-not-implemented"),
        "someone-else": ("set", jid(bob), card(""), "forbidden"),
        "other-app": ("get", jid(stranger), f'<vCard xmlns="{VCARD}"/>', "service-unavailable"),
        "nobody-there": (
            "get",
            f"999999-{stranger.app_id}@localhost",
            f'<vCard xmlns="{VCARD}"/>',
            "service-unavailable",  # the same answer as for a real user of that app
        ),
        "nobody-here": (
            "get",
            f"999999-{app.id}@localhost",
            f'<vCard xmlns="{VCARD}"/>',
            "item-not-found",
        ),
        "long-fn": (
            "set",
            "",
            f'<vCard xmlns="{VCARD}"><FN>{"x" * 201}</FN></vCard>',
            "not-acceptable",
        ),
    }
    a = await login(ws_url(server), alice, "correct horse")
    answers = {}
    try:
        for name, (kind, to, payload, _want) in cases.items():
            attrs = f'type="{kind}"' + (f' to="{to}"' if to else "")
            await a.send(f'<iq id="{name}" {attrs} xmlns="jabber:client">{payload}</iq>')
            answers[name] = _answer(await a.recv_until(lambda e, i=name: e.get("id") == i))
        await a.send(f'<iq id="own" type="get" xmlns="jabber:client"><vCard xmlns="{VCARD}"/></iq>')
        own = await a.recv_until(lambda e: e.get("id") == "own")
    finally:
        await a.ws.close()
    profile = await server.client(alice_token).get_user(alice.id)
    print(f"\nanswers: {answers}")
    assert answers == {name: case[-1] for name, case in cases.items()}
    assert own.get("type") == "result"
    assert own.findtext(f"{{{VCARD}}}vCard/{{{VCARD}}}FN") == "Alice"
    assert profile.full_name == "Alice" and profile.avatar_uid is None


@pytest.mark.parametrize("who", ["own", "other"])
async def test_a_user_without_a_card_gets_their_name(server, who: str) -> None:
    """§3.1/§3.3: every user has a card: at least the FN the profile holds."""
    app, alice, _ = await server.new_user(full_name="Plain Alice")
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        asker = await connect(CardClient(jid(alice if who == "own" else bob)), xmpp.port)
        try:
            got = await asker.plugin["xep_0054"].get_vcard(jid(alice), timeout=10)
        finally:
            await close(asker)
    assert got["vcard_temp"]["FN"] == "Plain Alice"
    assert not got["vcard_temp"]["PHOTO"]["BINVAL"]


async def test_nothing_but_the_card_is_answered_for_an_account(server) -> None:
    """A vCard iq with another payload than ``<vCard/>`` is a ``bad-request``."""
    _, alice, _ = await server.new_user()
    async with Listener(server.core) as xmpp:
        a = await connect(CardClient(jid(alice)), xmpp.port)
        try:
            iq = a.make_iq_get(queryxmlns=VCARD)
            with pytest.raises(IqError) as raised:
                await iq.send(timeout=10)
            pong = await a.plugin["xep_0199"].send_ping("localhost", timeout=10)
        finally:
            await close(a)
    assert raised.value.iq["error"]["condition"] == "bad-request"
    assert pong["type"] == "result"
