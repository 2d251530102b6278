"""The callback queue and a GMS chat ticket in Debian's Chromium, driven by
playwright-core (``tests/js/console/callbacks_flow.mjs``), with a GMS phone on the
other side (gms-callback-chat-wire §3, §6).

Two callbacks appear in the queue live; the agent notifies one and cancels the
other; the phone opens its chat and the row links to the ticket. In the ticket the
agent joins, sees the customer type and write, types (the phone hears "typing",
then "stopped typing" after a pause and after the reply), leaves; the phone
disconnects and the ticket says the customer ended the chat; the queue is empty.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest

from tests.integration.browser import HARNESS, ROOT, run_flow


@pytest.mark.slow
async def test_agent_works_the_callback_queue_and_a_gms_chat_in_the_browser(
    server: Any,
) -> None:
    app = await server.new_app("Acme Bank")
    app = await server.core.apps.update_app(
        app.id, config={"gms": {"callback_services": ["callback-for-mobile"]}}
    )
    email = f"marta-{secrets.token_hex(4)}@example.com"
    password = "agent-password-1"
    await server.core.users.create_user(
        app.id, login=email, email=email, password=password, full_name="Marta", role="agent"
    )
    # Refresh docs/screenshots only when asked (TIDINGS_SCREENSHOTS=1).
    wanted = os.environ.get("TIDINGS_SCREENSHOTS") == "1" and server.backend == "sqlite"
    shots = ROOT / "docs" / "screenshots" if wanted else None
    result = await run_flow(
        HARNESS / "callbacks_flow.mjs",
        {
            "BASE_URL": server.base_url,
            "AGENT_EMAIL": email,
            "AGENT_PASSWORD": password,
            "API_KEY": app.auth_key,
            "SCREENSHOT_DIR": str(shots) if shots else "",
        },
        limit=150,
    )
    steps = result["steps"]

    queued = steps["queued_live"]
    assert queued["empty_at_first"] is True and queued["no_reload"] is True
    assert queued["positions"] == ["#1", "#2"]
    assert "Ana Silva" in queued["chat_text"] and "+15145550123" in queued["chat_text"]
    assert "ACC-0042-" in queued["chat_text"], "the customer's data is shown"
    assert queued["actions"] == ["notify", "reschedule", "cancel", "done"]
    assert queued["background"] == "rgb(255, 255, 255)", "styled like the inbox (panel)"

    notified = steps["notified_and_cancelled"]
    assert notified["chat_state"] == "ROUTING"
    assert notified["push_note"] == "Not pushed: the phone gave no push token"
    assert steps["chat_started"]["chat_state"] == "PROCESSING"

    opened = steps["ticket_opened"]
    assert "GMS customer" in opened["details"] and "anonymous device" not in opened["details"]
    assert "+15145550123" in opened["details"] and "callback-for-mobile" in opened["details"]
    assert opened["panel_overflows"] is False, "long values wrap"
    assert steps["customer_typed"]["typing_shown"] == "Ana is typing…"

    typed = steps["agent_typed"]
    assert typed["started"][-1:] == ["Notice.TypingStarted"]
    assert typed["after_pause"][-1] == "Notice.TypingStopped"
    assert typed["after_send"] == [
        "Message.Text:Let me check for you, Ana.",
        "Notice.TypingStopped:stopped typing",
    ]

    ended = steps["ended"]
    assert ended["banner"] == "The customer ended the chat."
    assert any("Marta has joined the session" in n for n in ended["notices"])
    assert any("Marta has left the session" in n for n in ended["notices"])
    assert any("Ana has joined the session" in n for n in ended["notices"])
    assert "queue_drained" in steps

    chat = await server.core.callbacks.get(app, result["chat_id"])
    call = await server.core.callbacks.get(app, result["call_id"])
    assert (chat.state, chat.reason) == ("COMPLETED", "SUCCESS")
    assert (call.state, call.reason) == ("COMPLETED", "CANCELLED")
    print(f"browser steps: {len(steps)}; callbacks left open: 0")
