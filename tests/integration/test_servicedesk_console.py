"""The agent console end to end, in Debian's Chromium driven by playwright-core
(``tests/js/console/agent_flow.mjs``), with the SDK and the webhook on the other side.

An agent logs in, sees a new ticket appear live (no reload), opens it, sees a
second client message arrive, replies with text and a file, and closes the
ticket. Then the phone's next ``gettickets`` shows the reply and the file, the
ticket turns unread and inactive, and the app's webhook receives the reply.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from typing import Any

import pytest

from tests.integration.browser import HARNESS, ROOT, run_flow
from tests.integration.local_http import LocalHttpServer, Request
from tests.integration.servicedesk_sdk import DeskDevice


async def ok(_request: Request) -> tuple[int, bytes]:
    return 200, b"{}"


@pytest.mark.slow
async def test_agent_answers_a_new_ticket_in_the_browser(server: Any) -> None:
    async with LocalHttpServer(ok) as receiver:
        app = await server.new_app("Acme Support")
        app = await server.core.apps.update_app(
            app.id, webhook_url=receiver.url + "/hook", config={"welcome_message": "Hi!"}
        )
        email = f"ivy-{secrets.token_hex(4)}@example.com"
        password = "agent-password-1"
        await server.core.users.create_user(
            app.id, login=email, email=email, password=password, full_name="Ivy", role="agent"
        )
        phone = DeskDevice(server.base_url, app.desk_app_id, author_name="Dana Customer")
        # Refresh the README's screenshots only when asked (TIDINGS_SCREENSHOTS=1):
        # a test run must not change tracked files.
        wanted = os.environ.get("TIDINGS_SCREENSHOTS") == "1" and server.backend == "sqlite"
        shots = ROOT / "docs" / "screenshots" if wanted else None
        result = await run_flow(
            HARNESS / "agent_flow.mjs",
            {
                "BASE_URL": server.base_url,
                "AGENT_EMAIL": email,
                "AGENT_PASSWORD": password,
                "DESK_APP_ID": app.desk_app_id,
                "DEVICE_ID": phone.instance_id,
                "SCREENSHOT_DIR": str(shots) if shots else "",
            },
            limit=120,
        )
        steps = result["steps"]
        assert steps["ticket_appeared_live"]["no_reload"] is True
        assert steps["ticket_appeared_live"]["badge"] == "1"
        assert "Pro" in steps["ticket_opened"]["details"]  # extra fields shown
        assert steps["message_appeared_live"]["no_reload"] is True
        assert steps["replied"]["file_status"] == 200
        assert steps["replied"]["file_body"].startswith("1. Open settings")
        assert steps["closed"]["status"] == "closed"
        ticket_id = steps["ticket_appeared_live"]["ticket_id"]

        # The phone's next poll: the reply with its file, unread, the ticket closed.
        (ticket,) = (await phone.sync())["tickets"]
        assert ticket["ticket_id"] == ticket_id
        assert ticket["is_read"] is False and ticket["is_active"] is False
        last = ticket["last_comment"]
        assert last["is_inbound"] is False and last["author"]["name"] == "Ivy"
        assert last["body"] == "Sorry about that! Please follow these steps."
        (attachment,) = last["attachments"]
        assert attachment["name"] == "refund-steps.txt"
        await phone.sync(phone.mark_read(ticket_id))
        assert (await phone.sync())["tickets"][0]["is_read"] is True

        # And the app's webhook heard about the reply.
        hook = await asyncio.wait_for(receiver.arrived.get(), 30)
        body = json.loads(hook.body)
        assert body["ticket_id"] == ticket_id
        assert body["comment"]["comment_id"] == last["comment_id"]
        assert body["attachments"][0]["name"] == "refund-steps.txt"
        await phone.aclose()
