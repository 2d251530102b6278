"""External authorization (seed "How the authorization service works"; wire spec
§3.3, §14.1) against a real local HTTP server playing the customer's service."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.integration.local_http import LocalHttpServer, Request
from tests.integration.servicedesk_sdk import DeskDevice, result_of

USERS = {"ext-42": "good-key", "ext-43": "other-key"}


class AuthService:
    """Answers 200 for a known pair, 403 for a wrong key, 400 for a malformed one,
    and hangs for ``slow`` users (longer than the server's deadline)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, request: Request) -> tuple[int, bytes]:
        data = json.loads(request.body)
        if data["user_id"] == "slow":
            await self.release.wait()
        if data["user_id"] == "broken":
            return 500, b"{}"
        if not data["security_key"].isalnum() and "-" not in data["security_key"]:
            return 400, b"{}"
        if USERS.get(data["user_id"]) == data["security_key"]:
            return 200, b"{}"
        return 403, b"{}"


@pytest.fixture
async def auth_app(server: Any) -> Any:
    service = AuthService()
    async with LocalHttpServer(service) as http:
        app = await server.new_app("external")
        app = await server.core.apps.update_app(
            app.id,
            auth_url=http.url + "/check",
            config={"desk_auth_timeout": 0.5, "desk_auth_cache_seconds": 60},
        )
        yield app, http, service
        service.release.set()


def phone(server: Any, app: Any, user_id: str, key: str, **kw: Any) -> DeskDevice:
    return DeskDevice(server.base_url, app.desk_app_id, user_id=user_id, security_key=key, **kw)


async def test_granted_user_chats_and_the_service_sees_the_seed_fields(
    server: Any, auth_app: Any
) -> None:
    """200 -> the request is served; the service got app_id, user_id, security_key."""
    app, http, _ = auth_app
    device = phone(server, app, "ext-42", "good-key")
    command = device.create_comment("hello from an external user")
    reply = await device.sync(command)
    assert result_of(reply, command)["ticket_id"] > 0
    call = json.loads(http.requests[0].body)
    assert call == {"app_id": app.desk_app_id, "user_id": "ext-42", "security_key": "good-key"}
    assert http.requests[0].method == "POST" and http.requests[0].path == "/check"
    # Positive answers are cached: polling again does not ask again.
    calls = len(http.requests)
    await device.sync()
    assert len(http.requests) == calls
    await device.aclose()


@pytest.mark.parametrize("key", ["wrong-key", "bad key!"], ids=["403", "400"])
async def test_refused_user_gets_403(server: Any, auth_app: Any, key: str) -> None:
    """403 and 400 from the service -> HTTP 403 (the SDK's onAuthorizationFailed)."""
    app, _, _ = auth_app
    device = phone(server, app, "ext-42", key)
    response = await device.sync_raw([device.create_comment("let me in")])
    assert response.status_code == 403
    download = await device.http.get(device.url + "DownloadFile/1", params=device.download_query())
    assert download.status_code == 403
    await device.aclose()


async def test_slow_or_failing_service_is_a_quick_503(server: Any, auth_app: Any) -> None:
    """A hanging service: 503 within the deadline (the SDK retries), never a hang or 500."""
    app, _, _ = auth_app
    for user in ("slow", "broken"):
        device = phone(server, app, user, "any-key")
        response = await asyncio.wait_for(device.sync_raw(), 10)
        assert response.status_code == 503, response.text
        await device.aclose()


async def test_unreachable_service_is_503(server: Any) -> None:
    app = await server.new_app("down")
    async with LocalHttpServer(lambda r: asyncio.sleep(0, (200, b""))) as http:
        url = http.url
    app = await server.core.apps.update_app(app.id, auth_url=url)
    device = phone(server, app, "ext-42", "good-key")
    assert (await device.sync_raw()).status_code == 503
    await device.aclose()


async def test_history_follows_the_user_across_devices(server: Any, auth_app: Any) -> None:
    """External identity = (app, user_id): a second phone sees the chat, and reading on
    one phone clears the unread state on the other (seed, NewReplySubscriber)."""
    app, _, _ = auth_app
    first = phone(server, app, "ext-43", "other-key")
    second = phone(server, app, "ext-43", "other-key", platform="ios")
    command = first.create_comment("from my phone")
    ticket_id = result_of(await first.sync(command), command)["ticket_id"]
    (ticket,) = (await second.sync())["tickets"]
    assert ticket["ticket_id"] == ticket_id
    assert [c["body"] for c in ticket["comments"]] == ["from my phone"]
    _, agent, _ = await server.new_user(app, role="agent", full_name="Ivy")
    from tidings.domain.models import Actor

    await server.core.desk.reply(Actor(app.id, agent.id, "agent"), ticket_id, "we are on it")
    assert (await first.sync())["tickets"][0]["is_read"] is False
    assert (await second.sync())["tickets"][0]["is_read"] is False
    await second.sync(second.mark_read(ticket_id))
    assert (await first.sync())["tickets"][0]["is_read"] is True
    await first.aclose()
    await second.aclose()


async def test_switching_to_external_hides_anonymous_chats(server: Any) -> None:
    """Seed: anonymous and external are exclusive; after the switch the anonymous
    device is refused (its old chat is invisible), external users start fresh."""
    app = await server.new_app("switch")
    anon = DeskDevice(server.base_url, app.desk_app_id)
    await anon.sync(anon.create_comment("anonymous question"))
    async with LocalHttpServer(AuthService()) as http:
        await server.core.apps.update_app(app.id, auth_url=http.url)
        assert (await anon.sync_raw()).status_code == 403
        ext = phone(server, app, "ext-42", "good-key", instance_id=anon.instance_id)
        assert (await ext.sync())["tickets"] == []
        await ext.aclose()
    await anon.aclose()


async def open_tickets(server: Any, app: Any) -> list[Any]:
    """Every open ticket of the app, as the console's inbox shows it to an agent."""
    from tidings.domain.models import Actor

    _, agent, _ = await server.new_user(app, role="agent", full_name="Auditor")
    return (await server.core.desk.inbox(Actor(app.id, agent.id, "agent"), "open")).tickets


async def test_service_down_is_503_and_nothing_is_written(server: Any) -> None:
    """Auth service down while a comment is sent: 503 in the service-desk error shape
    (the SDK retries), no ticket, no comment; once the service is back, the retried
    command creates exactly one ticket."""
    app = await server.new_app("down then up")
    async with LocalHttpServer(AuthService()) as gone:
        dead_url = gone.url
    app = await server.core.apps.update_app(app.id, auth_url=dead_url + "/check")
    device = phone(server, app, "ext-42", "good-key")
    command = device.create_comment("written while the service was down")
    response = await device.sync_raw([command])
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "auth_unavailable"
    assert response.headers["retry-after"].isdigit()
    assert await open_tickets(server, app) == []
    async with LocalHttpServer(AuthService()) as http:
        await server.core.apps.update_app(app.id, auth_url=http.url + "/check")
        reply = await device.sync(command)
        assert result_of(reply, command)["ticket_id"] > 0
    assert [c["body"] for c in reply["tickets"][0]["comments"]] == [
        "written while the service was down"
    ]
    assert len(await open_tickets(server, app)) == 1
    await device.aclose()


@pytest.fixture(scope="module")
async def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server with the operator's defaults: private destinations not allowed."""
    from tests.conftest import start_server
    from tidings.settings import Settings

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("guarded"), port=0, log_format="text", xmpp_port=0
    )
    assert settings.webhook_allow_private is False
    running, stop = await start_server(settings, "sqlite")
    yield running
    await stop()


async def test_private_auth_url_is_refused_without_the_allowance(guarded_server: Any) -> None:
    """The SSRF guard webhooks use: an auth URL on loopback or a private network is
    never called (503: the operator must fix the URL), until the app's config allows
    private destinations."""
    server = guarded_server
    app = await server.new_app("internal auth")
    async with LocalHttpServer(AuthService()) as http:
        for url in (http.url + "/check", "http://10.255.255.1/check", "http://[::1]:9/x"):
            app = await server.core.apps.update_app(app.id, auth_url=url)
            device = phone(server, app, "ext-42", "good-key")
            response = await asyncio.wait_for(device.sync_raw(), 10)
            assert response.status_code == 503, (url, response.text)
            assert response.json()["error"]["code"] == "auth_unavailable"
            await device.aclose()
        assert http.requests == []
        app = await server.core.apps.update_app(
            app.id, auth_url=http.url + "/check", config={"allow_private_destinations": True}
        )
        device = phone(server, app, "ext-42", "good-key")
        assert (await device.sync_raw()).status_code == 200
        assert len(http.requests) == 1
        await device.aclose()


async def test_non_http_auth_url_is_refused(server: Any) -> None:
    """Even with private destinations allowed, only plain http(s) URLs are called."""
    app = await server.new_app("odd url")
    for url in ("ftp://127.0.0.1/check", "http://user:pw@127.0.0.1:9/check", "not a url"):
        app = await server.core.apps.update_app(app.id, auth_url=url)
        device = phone(server, app, "ext-42", "good-key")
        response = await device.sync_raw()
        assert response.status_code == 503, (url, response.text)
        await device.aclose()


async def test_service_that_trickles_its_answer_is_503_after_the_deadline(server: Any) -> None:
    """A service that sends its status line, then one header byte at a time, never
    finishes its answer: every single read is quick, so only a deadline on the whole
    call ends it. 503, and the service is still sending when the SDK has its answer."""
    still_sending = asyncio.Event()
    finished = asyncio.Event()

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\n")
        try:
            while not finished.is_set():
                writer.write(b"X")
                await writer.drain()
                still_sending.set()
                await asyncio.sleep(0.05)  # the point: a body that trickles, never ends
        except ConnectionError:
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    app = await server.new_app("trickle")
    app = await server.core.apps.update_app(
        app.id, auth_url=f"http://127.0.0.1:{port}/check", config={"desk_auth_timeout": 0.5}
    )
    device = phone(server, app, "ext-42", "good-key")
    try:
        response = await asyncio.wait_for(device.sync_raw(), 10)
        assert still_sending.is_set() and not finished.is_set()
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "auth_unavailable"
    finally:
        finished.set()
        listener.close()
        await listener.wait_closed()
        await device.aclose()
