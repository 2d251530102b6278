"""The new-reply webhook (seed "webhook ... new messages"; wire spec §14.2): on every
agent reply the app's webhook URL gets the seed's payload, signed, via the outbox."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from typing import Any

from tests.integration.local_http import LocalHttpServer, Request
from tests.integration.servicedesk_sdk import DeskDevice, result_of
from tidings.domain.models import Actor


async def ok(_request: Request) -> tuple[int, bytes]:
    return 200, b"{}"


def verify_signature(request: Request, secret: str) -> None:
    """The shared contract: sha256 HMAC with the app's auth_secret over "<ts>." + body."""
    timestamp = request.headers["x-tidings-timestamp"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["x-tidings-signature"] == f"sha256={expected}"


async def test_agent_reply_posts_the_seed_payload(server: Any) -> None:
    async with LocalHttpServer(ok) as receiver:
        app = await server.new_app("hooks")
        app = await server.core.apps.update_app(
            app.id, webhook_url=receiver.url + "/pyrus-hook", config={"agent_avatar_id": 3301}
        )
        device = DeskDevice(server.base_url, app.desk_app_id, platform="ios")
        create = device.create_comment("my order is late")
        token = device.set_push_token("apns-token-abc", "ios")
        reply = await device.sync(create, token)
        ticket_id = result_of(reply, create)["ticket_id"]
        _, agent_user, _ = await server.new_user(app, role="agent", full_name="Ivy (support)")
        agent = Actor(app.id, agent_user.id, "agent")
        upload = await server.core.files.upload(
            agent, _chunks(b"x" * 3120), name="log.txt", content_type="text/plain"
        )
        comment_id = await server.core.desk.reply(
            agent, ticket_id, "Could you send the app version?", [upload.uid]
        )
        request = await asyncio.wait_for(receiver.arrived.get(), 30)

        assert request.method == "POST" and request.path == "/pyrus-hook"
        assert request.headers["content-type"].startswith("application/json")
        assert request.headers["x-tidings-event"] == "servicedesk.reply"
        assert request.headers["idempotency-key"].startswith("desk-reply-")
        verify_signature(request, app.auth_secret)
        body = json.loads(request.body)
        assert set(body) == {"ticket_id", "token", "comment", "author", "created_at", "attachments"}
        assert body["ticket_id"] == ticket_id
        assert body["token"] == {
            "user_id": device.instance_id,  # anonymous: the device id
            "app_id": app.desk_app_id,
            "device_id": "apns-token-abc",
            "type": "ios",
        }
        assert body["comment"] == {
            "comment_id": comment_id,
            "body": "Could you send the app version?",
            "is_inbound": False,
        }
        assert body["author"]["name"] == "Ivy (support)"
        assert body["author"]["avatar_id"] == 3301
        assert re.fullmatch(r"#[0-9A-F]{6}", body["author"]["avatar_color"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])
        (attachment,) = body["attachments"]
        assert attachment["name"] == "log.txt" and attachment["size"] == 3120
        assert isinstance(attachment["id"], int)
        # The SDK sees the same comment and attachment ids.
        (ticket,) = (await device.sync())["tickets"]
        assert ticket["last_comment"]["comment_id"] == comment_id
        assert ticket["last_comment"]["attachments"][0]["id"] == attachment["id"]
        await device.aclose()


async def test_no_webhook_url_no_delivery(server: Any) -> None:
    """Without a webhook URL a reply queues nothing (and does not fail)."""
    app = await server.new_app("quiet")
    device = DeskDevice(server.base_url, app.desk_app_id)
    create = device.create_comment("hi")
    ticket_id = result_of(await device.sync(create), create)["ticket_id"]
    _, agent_user, _ = await server.new_user(app, role="agent")
    assert await server.core.desk.reply(Actor(app.id, agent_user.id, "agent"), ticket_id, "yo")
    await device.aclose()


async def _chunks(data: bytes) -> Any:
    yield data
