"""SASL SCRAM over the XMPP gateway (RFC 5802, RFC 7677, RFC 6120 §6), end to end.

slixmpp logs in with each mechanism forced (its SCRAM-*-PLUS binds ``tls-unique``, so
that one runs on TLS 1.2); a hand-written client, whose SCRAM arithmetic is written
here from RFC 5802 §3 and not taken from tidings, binds ``tls-server-end-point``
(RFC 5929 §4.1) over TLS 1.3 and sends the hostile messages.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import ssl
from typing import Any

import httpx

from tests.integration.processes import cli_env, run_cli_json
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.store import apps as apps_store
from tidings.store import scram_credentials as scram_store

SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
HEADER = (
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    " to='localhost' version='1.0'>"
)
PASSWORD = "correct horse"


def jid(user: Any, app_id: int | None = None) -> str:
    return f"{user.id}-{app_id if app_id is not None else user.app_id}@localhost"


async def slixmpp_login(
    port: int, who: str, password: str, mechanism: str, *, tls12: bool = False
) -> tuple[str, str]:
    """(``success`` or the failure condition, the mechanism slixmpp used)."""
    client = Client(who, password)
    mechanisms = client.plugin["feature_mechanisms"]
    mechanisms.use_mech = mechanism
    if tls12:
        client.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def settle(value: str) -> None:
        if not outcome.done():
            outcome.set_result(value)

    client.add_event_handler("session_start", lambda _e: settle("success"))
    client.add_event_handler("failed_auth", lambda stanza: settle(stanza["condition"]))
    client.add_event_handler("disconnected", lambda _e: settle("disconnected"))
    client.connect(host="127.0.0.1", port=port)
    try:
        result = await asyncio.wait_for(outcome, 20)
        return result, mechanisms.mech.name if mechanisms.mech else ""
    finally:
        client.abort()


class RawClient:
    """Just enough of a c2s client to speak SASL by hand after STARTTLS."""

    def __init__(self) -> None:
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter
        self.buffer = b""
        self.features = b""

    async def open(self, port: int) -> RawClient:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        await self.send(HEADER)
        await self.read_until(b"</stream:features>")
        await self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        await self.read_until(b"<proceed")
        await self.read_until(b"/>")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        await self.writer.start_tls(context)
        await self.send(HEADER)
        self.features = await self.read_until(b"</stream:features>")
        return self

    @property
    def end_point(self) -> bytes:
        """RFC 5929 §4.1 from the client's side: SHA-256 of the server's DER certificate
        (the development certificate is signed with ECDSA-SHA-256)."""
        ssl_object = self.writer.get_extra_info("ssl_object")
        return hashlib.sha256(ssl_object.getpeercert(binary_form=True)).digest()

    async def send(self, text: str) -> None:
        self.writer.write(text.encode())
        await self.writer.drain()

    async def read_until(self, marker: bytes) -> bytes:
        async with asyncio.timeout(10):
            while marker not in self.buffer:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError(f"closed before {marker!r}: {self.buffer!r}")
                self.buffer += data
        head, _, self.buffer = self.buffer.partition(marker)
        return head + marker

    async def sasl_answer(self) -> bytes:
        """The next ``<challenge/>``, ``<success/>`` or ``<failure/>``, whole."""
        async with asyncio.timeout(10):
            while True:
                found = re.search(
                    rb"<(challenge|success|failure)\b[^>]*?(/>|>.*?</\1>)", self.buffer, re.S
                )
                if found:
                    self.buffer = self.buffer[found.end() :]
                    return found.group(0)
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError(f"closed while waiting: {self.buffer!r}")
                self.buffer += data

    async def auth(self, mechanism: str, message: bytes) -> bytes:
        payload = base64.b64encode(message).decode()
        await self.send(f"<auth xmlns='{SASL}' mechanism='{mechanism}'>{payload}</auth>")
        return await self.sasl_answer()

    async def respond(self, message: bytes) -> bytes:
        payload = base64.b64encode(message).decode()
        await self.send(f"<response xmlns='{SASL}'>{payload}</response>")
        return await self.sasl_answer()

    def close(self) -> None:
        self.writer.transport.abort()


def _payload(answer: bytes) -> bytes:
    return base64.b64decode(re.sub(rb"^<[^>]*>|</[^>]*>$", b"", answer))


async def scram_login(
    raw: RawClient,
    mechanism: str,
    username: str,
    password: str,
    *,
    gs2_header: str = "n,,",
    binding: bytes = b"",
) -> bytes:
    """RFC 5802 §3 from the client's side; returns the server's last answer."""
    algorithm = "sha256" if mechanism.startswith("SCRAM-SHA-256") else "sha1"
    nonce = secrets.token_urlsafe(18)
    bare = f"n={username},r={nonce}"
    challenge = await raw.auth(mechanism, (gs2_header + bare).encode())
    if not challenge.startswith(b"<challenge"):
        return challenge
    server_first = _payload(challenge).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    assert fields["r"].startswith(nonce) and len(fields["r"]) > len(nonce)
    salted = hashlib.pbkdf2_hmac(
        algorithm, password.encode(), base64.b64decode(fields["s"]), int(fields["i"])
    )
    client_key = hmac.new(salted, b"Client Key", algorithm).digest()
    stored_key = hashlib.new(algorithm, client_key).digest()
    channel = base64.b64encode(gs2_header.encode() + binding).decode()
    without_proof = f"c={channel},r={fields['r']}"
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, algorithm).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True)))
    answer = await raw.respond(f"{without_proof},p={proof.decode()}".encode())
    if answer.startswith(b"<success"):
        server_key = hmac.new(salted, b"Server Key", algorithm).digest()
        expected = hmac.new(server_key, auth_message, algorithm).digest()
        assert _payload(answer) == b"v=" + base64.b64encode(expected), "server signature"
    return answer


# -- tests -------------------------------------------------------------------------------


async def test_slixmpp_logs_in_with_each_scram_mechanism(server) -> None:
    """SCRAM-SHA-1 (RFC 6120 §13.8's mandatory one), SCRAM-SHA-256 (RFC 7677), and
    SCRAM-SHA-256-PLUS bound with tls-unique on TLS 1.2; slixmpp checks our ``v=``."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        for mechanism, tls12 in (
            ("SCRAM-SHA-1", False),
            ("SCRAM-SHA-256", False),
            ("SCRAM-SHA-256-PLUS", True),
            ("SCRAM-SHA-1-PLUS", True),
        ):
            result = await slixmpp_login(xmpp.port, jid(alice), PASSWORD, mechanism, tls12=tls12)
            assert result == ("success", mechanism), mechanism
        # Logged in with SCRAM, the session is a full one: a message goes through.
        a = Client(jid(alice), PASSWORD)
        a.plugin["feature_mechanisms"].use_mech = "SCRAM-SHA-256"
        a = await connect(a, xmpp.port)
        b = await connect(Client(jid(bob), PASSWORD), xmpp.port)
        try:
            a.send_message(mto=jid(bob), mbody="sent after SCRAM", mtype="chat")
            got = await asyncio.wait_for(b.messages.get(), 10)
            assert got["body"] == "sent after SCRAM" and got["from"].bare == jid(alice)
        finally:
            await close(a, b)


async def test_wrong_password_and_other_tenants_are_not_authorized(server) -> None:
    """RFC 6120 §6.5.10; a user id under another app's id is nobody (cross-tenant)."""
    app, alice, _ = await server.new_user()
    other_app = await server.new_app("elsewhere")
    async with Listener(server.core) as xmpp:
        for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
            result = await slixmpp_login(xmpp.port, jid(alice), "wrong horse", mechanism)
            assert result[0] == "not-authorized", mechanism
        stranger = await slixmpp_login(
            xmpp.port, jid(alice, other_app.id), PASSWORD, "SCRAM-SHA-256"
        )
        assert stranger[0] == "not-authorized"
        assert (await slixmpp_login(xmpp.port, jid(alice), PASSWORD, "SCRAM-SHA-256"))[0] == (
            "success"
        )


async def test_tls_server_end_point_binding_on_tls13(server) -> None:
    """RFC 5929 §4.1 over TLS 1.3: XEP-0440 lists it (and not tls-unique, RFC 9266 §3);
    a proof bound to another channel's data, a 'y' flag while -PLUS is offered (RFC 5802
    §6, a downgrade) and an unsupported type are refused."""
    _, alice, _ = await server.new_user()
    name = f"{alice.id}-{alice.app_id}"
    async with Listener(server.core) as xmpp:
        raw = await RawClient().open(xmpp.port)
        try:
            assert b"urn:xmpp:sasl-cb:0" in raw.features
            assert b'type="tls-server-end-point"' in raw.features
            assert b"tls-unique" not in raw.features
            mechanisms = re.findall(rb"<mechanism>([^<]+)</mechanism>", raw.features)
            assert mechanisms == [
                b"SCRAM-SHA-256-PLUS",
                b"SCRAM-SHA-1-PLUS",
                b"SCRAM-SHA-256",
                b"SCRAM-SHA-1",
                b"PLAIN",
            ]
            header = "p=tls-server-end-point,,"
            relayed = await scram_login(
                raw, "SCRAM-SHA-256-PLUS", name, PASSWORD, gs2_header=header, binding=b"x" * 32
            )
            assert b"<not-authorized" in relayed
            downgrade = await raw.auth("SCRAM-SHA-256", f"y,,n={name},r=abc".encode())
            assert b"<not-authorized" in downgrade
            exporter = await raw.auth(
                "SCRAM-SHA-256-PLUS", f"p=tls-exporter,,n={name},r=abc".encode()
            )
            assert b"<malformed-request" in exporter
            for mechanism in ("SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"):
                if mechanism == "SCRAM-SHA-256-PLUS":
                    answer = await scram_login(
                        raw, mechanism, name, PASSWORD, gs2_header=header, binding=raw.end_point
                    )
                    assert answer.startswith(b"<success"), answer
                else:  # one more refusal first: the right proof, the binding left out
                    answer = await scram_login(raw, mechanism, name, PASSWORD, gs2_header=header)
                    assert b"<not-authorized" in answer
        finally:
            raw.close()


async def test_malformed_client_first_is_refused_and_the_server_carries_on(server) -> None:
    """Hostile first messages get a SASL failure (RFC 6120 §6.5.8), not a dead stream:
    the same stream then logs in; others are unaffected; an authzid naming someone
    else is ``invalid-authzid`` (§6.5.6)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    name = f"{alice.id}-{alice.app_id}"
    async with Listener(server.core) as xmpp:
        raw = await RawClient().open(xmpp.port)
        try:
            hostile = [
                (b"n,,m=mandatory,n=" + name.encode() + b",r=abc", b"malformed-request"),
                (b"n,,n=" + name.encode(), b"malformed-request"),
                (b"q,,n=" + name.encode() + b",r=abc", b"malformed-request"),
                (b"\xff\xfe\x00", b"malformed-request"),
                (b"n,,n=a=zzb,r=abc", b"malformed-request"),
                (f"n,a={bob.id}-{bob.app_id},n={name},r=abc".encode(), b"invalid-authzid"),
            ]
            for message, condition in hostile:
                answer = await raw.auth("SCRAM-SHA-1", message)
                assert answer.startswith(b"<failure") and condition in answer, (message, answer)
            await raw.send(f"<auth xmlns='{SASL}' mechanism='SCRAM-SHA-1'>@@@</auth>")
            assert b"incorrect-encoding" in await raw.sasl_answer()
            await raw.send(f"<response xmlns='{SASL}'>AAAA</response>")  # out of turn
            assert (await raw.sasl_answer()).startswith(b"<failure")
            answer = await scram_login(raw, "SCRAM-SHA-1", name, PASSWORD)
            assert answer.startswith(b"<success"), answer
        finally:
            raw.close()
        a = await connect(Client(jid(alice), PASSWORD), xmpp.port)
        b = await connect(Client(jid(bob), PASSWORD), xmpp.port)
        try:
            a.send_message(mto=jid(bob), mbody="after the hostile client", mtype="chat")
            assert (await asyncio.wait_for(b.messages.get(), 10))["body"] == (
                "after the hostile client"
            )
        finally:
            await close(a, b)


async def test_an_account_from_before_scram_gets_keys_at_its_next_plain_login(server) -> None:
    """Only the argon2id hash: SCRAM is ``not-authorized``; one PLAIN login with the
    password stores the keys (never for a session token), and SCRAM works from then on."""
    _, alice, token = await server.new_user()
    async with server.core.db.transaction() as conn:
        await scram_store.replace(conn, alice.id, ())  # as the migration leaves old users
    async with Listener(server.core) as xmpp:
        assert (await slixmpp_login(xmpp.port, jid(alice), PASSWORD, "SCRAM-SHA-256"))[0] == (
            "not-authorized"
        )
        assert (await slixmpp_login(xmpp.port, jid(alice), token, "PLAIN"))[0] == "success"
        async with server.core.db.read() as conn:
            assert await scram_store.iterations(conn, alice.id) == set()
        assert (await slixmpp_login(xmpp.port, jid(alice), PASSWORD, "PLAIN"))[0] == "success"
        async with server.core.db.read() as conn:
            assert await scram_store.iterations(conn, alice.id) == {4096}
        for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
            assert (await slixmpp_login(xmpp.port, jid(alice), PASSWORD, mechanism))[0] == (
                "success"
            )


async def test_password_change_over_rest_and_cli_replaces_the_scram_keys(server) -> None:
    """PATCH /api/v1/users/me and ``tidings user set-password``: the old password no
    longer passes SCRAM, the new one does; ``user deactivate`` (or any cleared password
    hash) leaves no SCRAM way in."""
    app, alice, token = await server.new_user()
    async with Listener(server.core) as xmpp:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            changed = await http.patch(
                "/api/v1/users/me",
                json={"password": "battery staple"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert changed.status_code == 200, changed.text
        old = await slixmpp_login(xmpp.port, jid(alice), PASSWORD, "SCRAM-SHA-256")
        assert old[0] == "not-authorized"
        new = await slixmpp_login(xmpp.port, jid(alice), "battery staple", "SCRAM-SHA-1")
        assert new[0] == "success"

        env = cli_env(server.settings.data_dir)
        if server.settings.database_url:
            env["TIDINGS_DATABASE_URL"] = server.settings.database_url
        user_args = (str(app.id), str(alice.id))
        await run_cli_json(env, "user", "set-password", *user_args, "--password", "third one")
        stale = await slixmpp_login(xmpp.port, jid(alice), "battery staple", "SCRAM-SHA-256")
        assert stale[0] == "not-authorized"
        current = await slixmpp_login(xmpp.port, jid(alice), "third one", "SCRAM-SHA-256")
        assert current[0] == "success"

        await run_cli_json(env, "user", "deactivate", *user_args)
        async with server.core.db.read() as conn:
            assert await scram_store.iterations(conn, alice.id) == set()
        gone = await slixmpp_login(xmpp.port, jid(alice), "third one", "SCRAM-SHA-256")
        assert gone[0] == "not-authorized"

        # An account whose hash is cleared by any other path keeps no SCRAM way in either.
        _, bob, _ = await server.new_user(app)
        async with server.core.db.transaction() as conn:
            await apps_store.update_user(conn, bob.id, password_hash=None, updated_ms=1)
        cleared = await slixmpp_login(xmpp.port, jid(bob), PASSWORD, "SCRAM-SHA-1")
        assert cleared[0] == "not-authorized"


async def test_plain_is_checked_against_the_scram_keys_and_writes_no_session(server) -> None:
    """A password in clear over PLAIN is checked against the stored SCRAM-SHA-256 key
    (``core/password_check.py``), the verifier Prosody and ejabberd use for PLAIN too:
    with the argon2id hash swapped for another password's, the SCRAM password still
    logs in and the other one does not. An XMPP login needs no bearer token, so it
    adds no session row."""
    from sqlalchemy import func, select

    from tidings.core.passwords import hash_password
    from tidings.store.tables import sessions

    _, alice, _ = await server.new_user()
    other_hash = await hash_password("another password", memory_kib=1024, iterations=1)
    async with server.core.db.transaction() as conn:
        await apps_store.update_user(conn, alice.id, password_hash=other_hash, updated_ms=1)
        before = (await conn.execute(select(func.count()).select_from(sessions))).scalar_one()
    async with Listener(server.core) as xmpp:
        assert (await slixmpp_login(xmpp.port, jid(alice), PASSWORD, "PLAIN"))[0] == "success"
        wrong = await slixmpp_login(xmpp.port, jid(alice), "another password", "PLAIN")
        assert wrong[0] == "not-authorized"
    async with server.core.db.read() as conn:
        after = (await conn.execute(select(func.count()).select_from(sessions))).scalar_one()
    assert after == before
