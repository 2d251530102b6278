"""Login limits count failures, per client address and per account at that address,
on every login path (REST, ConnectyCube, XMPP over TCP and WebSocket, the agent
console), like ejabberd's mod_fail2ban and Prosody's mod_limit_auth.

A limited login answers 429 + Retry-After in the gateway's shape, or SASL
``<temporary-auth-failure/>`` (RFC 6120 §6.5.9), never ``<not-authorized/>``; the
owner logging in from another address is never refused. "Another address" is
real: the client socket is bound to 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import websockets

from tests.conftest import TestServer
from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.integration.xmpp_helpers import Client, Listener
from tests.services import require_redis

PASSWORD = "correct horse"
WRONG = "wrong horse!"
OTHER_ADDRESS = "127.0.0.2"
FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


def http(base_url: str, *, source: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client whose connections come from ``source``."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=30)


async def rest_login(base_url: str, app_id: int, login: str, password: str, **kw: Any) -> Any:
    async with http(base_url, **kw) as client:
        return await client.post(
            "/api/v1/sessions", json={"app_id": app_id, "login": login, "password": password}
        )


async def new_account(server: TestServer) -> tuple[Any, Any]:
    app = await server.new_app("limits")
    _, user, _ = await server.new_user(app, login=f"owner-{secrets.token_hex(4)}")
    return app, user


# -- native REST ------------------------------------------------------------------------


async def test_rest_failures_limit_the_guesser_not_the_owner(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """10 wrong passwords from one address: the 11th try from there is 429 with
    Retry-After (even with the right password), logged with the address; the owner
    from another address logs in, and a success there is not counted against it."""
    app, user = await new_account(server)
    for _ in range(server.settings.login_rate):
        response = await rest_login(server.base_url, app.id, user.login, WRONG)
        assert (response.status_code, response.json()["error"]["code"]) == (
            401,
            "bad_credentials",
        )
    with caplog.at_level(logging.WARNING, logger="tidings.core.auth"):
        limited = await rest_login(server.base_url, app.id, user.login, PASSWORD)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "127.0.0.1" in caplog.text and "too many failed logins" in caplog.text
    owner = await rest_login(server.base_url, app.id, user.login, PASSWORD, source=OTHER_ADDRESS)
    assert owner.status_code == 201, owner.text
    print(f"guesser: 429 Retry-After {limited.headers['Retry-After']} s; owner elsewhere: 201")


async def test_successes_are_not_counted(server: TestServer) -> None:
    """Three times the limit of correct logins in a row all succeed; a success also
    clears the failures counted for that account at that address."""
    app, user = await new_account(server)
    for _ in range(server.settings.login_rate - 1):
        await rest_login(server.base_url, app.id, user.login, WRONG)
    assert (await rest_login(server.base_url, app.id, user.login, PASSWORD)).status_code == 201
    for _ in range(server.settings.login_rate - 1):
        await rest_login(server.base_url, app.id, user.login, WRONG)
    statuses = [
        (await rest_login(server.base_url, app.id, user.login, PASSWORD)).status_code
        for _ in range(3 * server.settings.login_rate)
    ]
    assert statuses == [201] * len(statuses)


# -- ConnectyCube -----------------------------------------------------------------------


async def cc_session(server: TestServer, app: Any, login: str, password: str, **kw: Any) -> Any:
    async with http(server.base_url, **kw) as client:
        return await client.post(
            "/connectycube/session.json",
            json={
                "application_id": app.id,
                "auth_key": app.auth_key,
                "user": {"login": login, "password": password},
            },
        )


async def test_connectycube_session_with_credentials(server: TestServer) -> None:
    """connectycube-wire §3: the same failure limits, answered 429 in the gateway's
    ``errors.base`` shape with Retry-After; and failures there count for REST too."""
    app, user = await new_account(server)
    for _ in range(server.settings.login_rate // 2):
        assert (await cc_session(server, app, user.login, WRONG)).status_code == 401
    for _ in range(server.settings.login_rate - server.settings.login_rate // 2):
        assert (await rest_login(server.base_url, app.id, user.login, WRONG)).status_code == 401
    limited = await cc_session(server, app, user.login, PASSWORD)
    assert limited.status_code == 429
    assert limited.json()["errors"]["base"][0].startswith("too many failed logins")
    assert int(limited.headers["Retry-After"]) >= 1
    owner = await cc_session(server, app, user.login, PASSWORD, source=OTHER_ADDRESS)
    assert owner.status_code == 201, owner.text


# -- XMPP -------------------------------------------------------------------------------


async def slixmpp_auth(port: int, jid: str, password: str) -> str:
    """``success`` or the SASL failure condition slixmpp received, over TCP + STARTTLS."""
    client = Client(jid, password)
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def settle(value: str) -> None:
        if not outcome.done():
            outcome.set_result(value)

    client.add_event_handler("auth_success", lambda _e: settle("success"))
    client.add_event_handler("failed_auth", lambda stanza: settle(stanza["condition"]))
    client.connect(host="127.0.0.1", port=port)
    try:
        return await asyncio.wait_for(outcome, 20)
    finally:
        client.abort()


async def ws_auth(server: TestServer, user: Any, secret: str, **kw: Any) -> ElementTree.Element:
    """The answer to SASL PLAIN over /xmpp-websocket (RFC 7395), from a raw stream."""
    url = server.base_url.replace("http", "ws", 1) + "/xmpp-websocket"
    async with websockets.connect(url, subprotocols=["xmpp"], **kw) as ws:
        await ws.send(f'<open version="1.0" xmlns="{FRAMING}" to="localhost"/>')
        await asyncio.wait_for(ws.recv(), 10)  # <open/>
        await asyncio.wait_for(ws.recv(), 10)  # <stream:features/>
        payload = base64.b64encode(f"\0{user.id}-{user.app_id}\0{secret}".encode()).decode()
        await ws.send(f'<auth xmlns="{SASL}" mechanism="PLAIN">{payload}</auth>')
        return ElementTree.fromstring(await asyncio.wait_for(ws.recv(), 10))


async def test_xmpp_after_ten_wrong_passwords(server: TestServer) -> None:
    """After 10 wrong passwords over XMPP (slixmpp, TCP), the right one gets
    ``<temporary-auth-failure/>`` (RFC 6120 §6.5.9) or succeeds, never
    ``<not-authorized/>``; from another address it succeeds."""
    app, user = await new_account(server)
    jid = f"{user.id}-{app.id}@localhost"
    async with Listener(server.core) as listener:
        wrong = [await slixmpp_auth(listener.port, jid, WRONG) for _ in range(10)]
        assert wrong == ["not-authorized"] * 10
        after = await slixmpp_auth(listener.port, jid, PASSWORD)
        print(f"10 wrong passwords, then the right one over TCP: {after}")
        assert after in ("temporary-auth-failure", "success")
    over_ws = await ws_auth(server, user, PASSWORD)
    assert over_ws.tag == f"{{{SASL}}}failure"
    assert over_ws.find(f"{{{SASL}}}temporary-auth-failure") is not None
    assert "too many failed logins" in (over_ws.findtext(f"{{{SASL}}}text") or "")
    elsewhere = await ws_auth(server, user, PASSWORD, local_addr=(OTHER_ADDRESS, 0))
    assert elsewhere.tag == f"{{{SASL}}}success"


async def test_xmpp_websocket_failures_limit_rest_too(server: TestServer) -> None:
    """One account, one budget: failures over /xmpp-websocket refuse a REST login from
    the same address; an unknown user id counts against the address as well."""
    app, user = await new_account(server)
    for _ in range(server.settings.login_rate):
        failure = await ws_auth(server, user, WRONG)
        assert failure.find(f"{{{SASL}}}not-authorized") is not None
    assert (await rest_login(server.base_url, app.id, user.login, PASSWORD)).status_code == 429
    stranger = type("U", (), {"id": 999_999_999, "app_id": app.id})()
    refused = await ws_auth(server, stranger, WRONG)
    assert refused.find(f"{{{SASL}}}not-authorized") is not None


# -- the agent console ----------------------------------------------------------------


async def test_console_login(server: TestServer) -> None:
    """The agent console's login form follows the same limits (429 page)."""
    app = await server.new_app("console limits")
    email = f"agent-{secrets.token_hex(4)}@example.com"
    await server.core.users.create_user(
        app.id, login=email, email=email, password=PASSWORD, full_name="Ivy", role="agent"
    )

    async def form(password: str, **kw: Any) -> httpx.Response:
        async with http(server.base_url, **kw) as client:
            return await client.post("/console/login", data={"email": email, "password": password})

    for _ in range(server.settings.login_rate):
        assert (await form(WRONG)).status_code == 401
    limited = await form(PASSWORD)
    assert limited.status_code == 429 and "too many failed logins" in limited.text
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await form(PASSWORD, source=OTHER_ADDRESS)).status_code == 303


# -- across nodes ---------------------------------------------------------------------


@pytest.mark.redis
async def test_limits_are_shared_between_nodes(tmp_path, postgres_url) -> None:
    """Two `tidings serve` nodes on one PostgreSQL and one Redis: failures on node 1
    refuse the guesser on node 2; the owner from another address still logs in."""
    env = cli_env(
        tmp_path,
        TIDINGS_DATABASE_URL=postgres_url,
        TIDINGS_BUS_URL=require_redis(),
        TIDINGS_LOGIN_RATE="5",
        TIDINGS_LOGIN_RATE_PER_ADDRESS="100000",
    )
    app = await run_cli_json(env, "app", "create", f"shared-{secrets.token_hex(3)}")
    login = f"node-owner-{secrets.token_hex(4)}"
    await run_cli_json(
        env, "user", "create", str(app["app_id"]), "--login", login, "--password", PASSWORD
    )
    node1, node2 = await asyncio.gather(ServerProcess(env).start(), ServerProcess(env).start())
    try:
        for _ in range(5):
            response = await rest_login(node1.url, app["app_id"], login, WRONG)
            assert response.status_code == 401
        limited = await rest_login(node2.url, app["app_id"], login, PASSWORD)
        assert limited.status_code == 429, limited.text
        owner = await rest_login(node2.url, app["app_id"], login, PASSWORD, source=OTHER_ADDRESS)
        assert owner.status_code == 201
        print("5 failures on node 1 -> node 2 answers 429; owner elsewhere -> 201")
    finally:
        await asyncio.gather(node1.stop(), node2.stop())
