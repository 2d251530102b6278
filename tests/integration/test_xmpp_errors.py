"""Bad input gets the RFC 6120 §4.9 stream error or §6.5 SASL failure; others keep chatting."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.test_xmpp_chat import jid
from tests.integration.xmpp_helpers import Client, Listener, close, connect

HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
    b" xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
)
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" to='localhost' version='1.0'><message><body>&lol9;</body></message>"
)


async def raw_exchange(port: int, *chunks: bytes) -> bytes:
    """Send ``chunks`` and read until the server closes the stream."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        received = b""
        while b"</stream:stream>" not in received:
            data = await asyncio.wait_for(reader.read(65536), 10)
            if not data:
                break
            received += data
        return received
    finally:
        writer.close()


CASES = {
    "malformed": ((HEADER, b"<message><body>oops</message>"), b"<not-well-formed"),
    "billion-laughs": ((BOMB,), b"<restricted-xml"),
    "oversize": (
        (HEADER, b"<message><body>" + b"x" * (300 * 1024) + b"</body></message>"),
        b"<policy-violation",
    ),
    "unauthenticated": (
        (HEADER, b"<message to='1-1@localhost'><body>hi</body></message>"),
        b"<not-authorized",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_bad_stream_input_gets_a_stream_error(server, case: str) -> None:
    """RFC 6120 §4.9.3 conditions; §11.1 restricted XML (no DTD, so no entity bomb)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    chunks, condition = CASES[case]
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            answer = await raw_exchange(xmpp.port, *chunks)
            assert b"<stream:error>" in answer
            assert condition in answer
            assert answer.endswith(b"</stream:stream>")
            a.send_message(mto=jid(bob), mbody=f"still here after {case}", mtype="chat")
            got = await asyncio.wait_for(b.messages.get(), 10)
            assert got["body"] == f"still here after {case}"
        finally:
            await close(a, b)


async def test_wrong_password_gets_sasl_failure(server) -> None:
    """RFC 6120 §6.5.10 not-authorized; connected clients are unaffected."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        intruder = Client(jid(bob), "wrong password")
        try:
            intruder.connect(host="127.0.0.1", port=xmpp.port)
            await asyncio.wait_for(intruder.failed_auth.wait(), 10)
            assert not intruder.started.is_set()
            a.send_message(mto=jid(bob), mbody="after the intruder", mtype="chat")
            got = await asyncio.wait_for(b.messages.get(), 10)
            assert got["body"] == "after the intruder"
        finally:
            await close(intruder, a, b)


async def test_session_token_works_as_password(server) -> None:
    """connectycube-wire §9.3: the REST session token is accepted as the PLAIN password."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), alice_token), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        try:
            a.send_message(mto=jid(bob), mbody="token login", mtype="chat")
            assert (await asyncio.wait_for(b.messages.get(), 10))["body"] == "token login"
        finally:
            await close(a, b)
