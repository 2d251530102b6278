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
    from tidings.core.models import Actor

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
