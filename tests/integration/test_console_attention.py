"""What draws an agent's attention in the console: the ``attention`` frames of the live
socket (``/console/ws``), then desktop notifications, the sound, the phone-width layout
and an accessibility audit in Chromium (``tests/js/console/attention_flow.mjs``).

- A customer's comment (a new ticket, a new message, one that reopens a closed ticket)
  gets one ``attention`` frame: the ticket, its assignee, what the customer wrote.
  An agent's reply gets none, even one that reopens the ticket.
- The frames of one app never reach another app's agents.
- In the browser: one notification per customer message that concerns the agent (their
  own or an unassigned ticket, not the one on screen), none for their reply or another
  agent's ticket; a tone when sound is on; no permission prompt without a click.
- At 375×740 nothing overflows sideways, the list comes first and a ticket has a way
  back; axe-core finds nothing serious or critical on the login page, the inbox, a
  ticket and the callback queue, at desktop and phone width.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.integration.browser import HARNESS, ROOT, run_flow
from tests.integration.servicedesk_sdk import result_of
from tests.integration.test_console_desk import PASSWORD, Desk, new_desk, open_ticket


def console_socket(server: Any, agent: httpx.AsyncClient | str | None) -> Any:
    """The console's live socket as the agent's browser opens it (its session cookie)."""
    url = server.base_url.replace("http", "ws", 1) + "/console/ws"
    token = agent.cookies["tidings_console"] if isinstance(agent, httpx.AsyncClient) else agent
    return connect(url, additional_headers={"Cookie": f"tidings_console={token}"} if token else {})


async def frames_until(ws: ClientConnection, done: Any, limit: float = 15) -> list[dict[str, Any]]:
    """Frames as they come, up to and including the first one ``done`` accepts."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(limit):
        while True:
            frame = json.loads(await ws.recv())
            seen.append(frame)
            if done(frame):
                return seen


def attention(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["change"] == "attention"]


async def agent_of(server: Any, desk: Desk, name: str) -> tuple[int, httpx.AsyncClient]:
    """Another agent of the desk's app, signed in to the console."""
    email = f"{name.lower()}-{secrets.token_hex(4)}@example.com"
    user = await server.core.users.create_user(
        desk.app.id, login=email, email=email, password=PASSWORD, full_name=name, role="agent"
    )
    client = httpx.AsyncClient(base_url=server.base_url, timeout=30)
    r = await client.post("/console/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return user.id, client


async def test_attention_frames_say_who_wrote_and_whose_ticket_it_is(server: Any) -> None:
    desk = await new_desk(server, "attention")
    other = await new_desk(server, "attention B")
    bo_id, bo = await agent_of(server, desk, "Bo")
    phone = desk.phone("Dana")
    their_phone = other.phone("Quentin")
    async with console_socket(server, desk.agent) as ws, console_socket(server, other.agent) as ws2:
        # A new ticket: created, its message, the comment, then what it needs: attention.
        ticket_id = await open_ticket(phone, "My parcel never came")
        frames = await frames_until(ws, lambda f: f["change"] == "attention")
        changes = [f["change"] for f in frames]
        assert changes.index("created") < changes.index("comment") < changes.index("attention")
        assert frames[-1] == {
            "change": "attention",
            "ticket_id": ticket_id,
            "assignee_id": None,
            "author": "customer",
            "author_name": "Dana",
            "subject": "My parcel never came",
            "text": "My parcel never came",
            "files": 0,
        }

        # The agent's reply (which assigns the ticket to them): no attention frame; the
        # customer's next message: one, with the new assignee.
        r = await desk.agent.post(
            f"/console/upload/reply/{ticket_id}", files={"body": (None, "Looking into it")}
        )
        assert r.status_code == 303
        await phone.sync(phone.create_comment("Thanks!", ticket_id=ticket_id))
        frames = await frames_until(ws, lambda f: f["change"] == "attention")
        assert "reply" in [f["change"] for f in frames]
        (frame,) = attention(frames)
        assert (frame["text"], frame["assignee_id"]) == ("Thanks!", desk.agent_id)

        # Another agent's ticket: the frame names them (the page stays quiet).
        r = await desk.agent.post(f"/console/tickets/{ticket_id}/assign", data={"assignee": bo_id})
        assert r.status_code == 303
        await phone.sync(phone.create_comment("Hello?", ticket_id=ticket_id))
        (frame,) = attention(await frames_until(ws, lambda f: f["change"] == "attention"))
        assert (frame["text"], frame["assignee_id"]) == ("Hello?", bo_id)

        # Closed: the agent's reply reopens it (no frame), and when it is closed again
        # the customer's message reopens it (a frame). A long message is cut.
        await bo.post(f"/console/tickets/{ticket_id}/status", data={"status": "closed"})
        r = await bo.post(f"/console/upload/reply/{ticket_id}", files={"body": (None, "Fixed.")})
        assert r.status_code == 303
        await bo.post(f"/console/tickets/{ticket_id}/status", data={"status": "closed"})
        long = "It broke again. " * 40
        await phone.sync(phone.create_comment(long, ticket_id=ticket_id))
        frames = await frames_until(ws, lambda f: f["change"] == "attention")
        assert [f["change"] for f in frames].count("reopened") == 2
        (frame,) = attention(frames)
        assert frame["text"] == long[:199] + "…" and frame["assignee_id"] == bo_id

        # Bad input: an empty comment is refused and tells no one; files only say so.
        empty = phone.create_comment("   ", ticket_id=ticket_id)
        assert "error" in result_of(await phone.sync(empty), empty)
        guid = await phone.upload("photo.png", b"\x89PNG fake")
        files = phone.create_comment(
            ticket_id=ticket_id, attachments=[{"guid": guid, "type": 0, "name": "photo.png"}]
        )
        assert "error" not in result_of(await phone.sync(files), files)
        (frame,) = attention(await frames_until(ws, lambda f: f["change"] == "attention"))
        assert (frame["text"], frame["files"]) == ("", 1)

        # The other app's agent heard none of it: their first frame is their own ticket.
        theirs = await open_ticket(their_phone, "Quentin's question")
        frames = await frames_until(ws2, lambda f: f["change"] == "attention")
        assert {f.get("ticket_id") for f in frames} <= {theirs, None}
        assert all(f.get("ticket_id") != ticket_id for f in frames)
        assert "Dana" not in json.dumps(frames)
        assert attention(frames)[0]["text"] == "Quentin's question"

    # Without a console session (none, or one signed out) the socket is refused.
    signed_out = bo.cookies["tidings_console"]
    await bo.post("/console/logout")
    for agent in (None, signed_out, "not-a-session"):
        with pytest.raises(InvalidStatus) as refused:
            async with console_socket(server, agent):
                pass
        assert refused.value.response.status_code == 403
    for p in (phone, their_phone):
        await p.aclose()
    for client in (desk.agent, other.agent, bo):
        await client.aclose()


@pytest.mark.slow
async def test_notifications_phone_layout_and_accessibility_in_the_browser(server: Any) -> None:
    desk = await new_desk(server, "Acme Support")
    await desk.agent.aclose()
    email = f"ivy-{secrets.token_hex(4)}@example.com"
    ivy = await server.core.users.create_user(
        desk.app.id, login=email, email=email, password=PASSWORD, full_name="Ivy", role="agent"
    )
    # Bo's ticket: its customer's messages are none of Ivy's business.
    bo_id, bo = await agent_of(server, desk, "Bo")
    bo_phone = desk.phone("Carla")
    bo_ticket = await open_ticket(bo_phone, "A question for Bo")
    r = await bo.post(f"/console/tickets/{bo_ticket}/assign", data={"assignee": bo_id})
    assert r.status_code == 303
    wanted = os.environ.get("TIDINGS_SCREENSHOTS") == "1" and server.backend == "sqlite"
    shots = ROOT / "docs" / "screenshots" if wanted else None
    result = await run_flow(
        HARNESS / "attention_flow.mjs",
        {
            "BASE_URL": server.base_url,
            "AGENT_EMAIL": email,
            "AGENT_PASSWORD": PASSWORD,
            "AGENT_ID": str(ivy.id),
            "DESK_APP_ID": desk.app.desk_app_id,
            "BO_DEVICE": bo_phone.instance_id,
            "BO_TICKET": str(bo_ticket),
            "SCREENSHOT_DIR": str(shots) if shots else "",
        },
        limit=300,
    )
    steps = result["steps"]

    # Nothing is asked on page load; the button asks once, when clicked.
    loaded = steps["loaded"]
    assert loaded["requests"] == 0 and loaded["button"] == "Enable notifications"
    enabled = steps["enabled"]
    assert enabled["requests"] == 1 and enabled["button"] == "Disable notifications"
    assert enabled["sound_pressed"] == "true" and enabled["audio_contexts"] == 1

    # A customer opens a ticket: exactly one notification, with what they wrote; a tone.
    first = steps["new_ticket"]
    assert first["notes"] == [
        {
            "title": f"New ticket #{first['ticket_id']} · Dana Customer",
            "body": "My order #1234 never arrived",
            "tag": f"tidings-ticket-{first['ticket_id']}",
        }
    ]
    assert first["oscillators"] == 1
    # Its click focuses the page and opens that ticket.
    assert steps["clicked"]["shown"] == str(first["ticket_id"])
    assert steps["clicked"]["url"].endswith(f"/console/tickets/{first['ticket_id']}?view=open")

    # The agent's reply, the customer writing on the ticket on screen, and Bo's
    # customer: no notification. Then a second new ticket and a message on Ivy's own
    # ticket (while another is on screen): one each.
    quiet = steps["quiet"]
    assert quiet["notes"] == 1 and quiet["reply_shown"] and quiet["on_screen_shown"]
    assert quiet["bo_row"] == bo_ticket
    later = steps["later"]
    assert [n["title"] for n in later["notes"]] == [
        f"New ticket #{first['ticket_id']} · Dana Customer",
        f"New ticket #{later['second_id']} · Eve Customer",
        f"Dana Customer · #{first['ticket_id']}",
    ]
    assert [n["body"] for n in later["notes"][1:]] == ["Is anyone there?", "Any news?"]
    assert later["oscillators"] == 3
    # Sound off: no tone; the choices survive a reload, which asks nothing.
    assert steps["sound_off"]["oscillators"] == 3 and steps["sound_off"]["notes"] == 4
    assert steps["reloaded"] == {
        "name": "reloaded",
        "requests": 0,
        "button": "Disable notifications",
        "sound_pressed": "false",
    }

    # Narrower windows and phone width: no sideways scrolling; on a phone the list
    # comes first, and a ticket has a way back.
    for scroll_width, inner_width in steps["narrower"]["widths"].values():
        assert scroll_width <= inner_width, steps["narrower"]
    phone = steps["phone"]
    for page, (scroll_width, inner_width) in phone["widths"].items():
        assert scroll_width <= inner_width, (page, scroll_width, inner_width)
    assert set(phone["widths"]) == {"login", "inbox", "ticket", "callbacks"}
    assert phone["list_first"] == {"list": True, "ticket": False}
    assert phone["opened"] == {"list": False, "ticket": True, "back_focused": True}
    assert phone["back"] == {"list": True, "ticket": False, "url": "/console/inbox?view=open"}
    attach = phone["attach"]
    assert abs(attach["input_mid"] - attach["label_mid"]) < 6
    assert attach["label_left"] >= attach["input_right"] - 1
    assert attach["label_right"] <= 375
    row = phone["long_row"]
    assert row["time_right"] <= row["row_right"] <= 375 and row["time_width"] > 20
    assert abs(row["time_top"] - row["who_top"]) < 6

    # axe-core: nothing serious or critical, at either width, on every page.
    audits = {name: s for name, s in steps.items() if name.startswith("axe_")}
    assert len(audits) == 8, sorted(audits)
    for name, audit in audits.items():
        assert audit["rules"] > 20, name  # axe really ran
        assert audit["violations"] == [], (name, audit["violations"])
    await bo_phone.aclose()
    await bo.aclose()
