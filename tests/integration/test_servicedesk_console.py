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
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local_http import LocalHttpServer, Request
from tests.integration.servicedesk_sdk import DeskDevice

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "js" / "console"
CHROMIUM = os.environ.get("TIDINGS_CHROMIUM", "/usr/bin/chromium")


def require_browser() -> str:
    """Node, the pinned npm packages and Chromium; skip on a laptop, fail under CI."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node")
    if not (HARNESS / "node_modules" / "playwright-core").is_dir():
        missing.append("tests/js/console/node_modules (run scripts/install-test-deps.sh)")
    if not Path(CHROMIUM).exists():
        missing.append(f"chromium at {CHROMIUM} (apt-get install chromium)")
    if missing:
        message = "browser test needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert node is not None
    return node


async def ok(_request: Request) -> tuple[int, bytes]:
    return 200, b"{}"


async def test_agent_answers_a_new_ticket_in_the_browser(server: Any) -> None:
    node = require_browser()
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
        env = {
            **os.environ,
            "BASE_URL": server.base_url,
            "AGENT_EMAIL": email,
            "AGENT_PASSWORD": password,
            "DESK_APP_ID": app.desk_app_id,
            "DEVICE_ID": phone.instance_id,
            "CHROMIUM": CHROMIUM,
            "SCREENSHOT_DIR": str(shots) if shots else "",
        }
        proc = await asyncio.create_subprocess_exec(
            node,
            str(HARNESS / "agent_flow.mjs"),
            env=env,
            cwd=HARNESS,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 120)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert out, err.decode()
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["ok"], result.get("error")
        steps = {s["name"]: s for s in result["steps"]}
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
