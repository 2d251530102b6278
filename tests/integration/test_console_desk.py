"""The console's desk features over plain HTTP (an agent's cookie, as a browser sends
it), with the phone (the SDK's own request bodies) and the webhook receiver on the
other side; then the same features in Chromium (``tests/js/console/desk_flow.mjs``).

- A reply to a closed ticket reopens it and says so.
- Search: comment text, customer name or id, ticket number; per app; wildcards are
  literal; pages by cursor; the term is rendered as text.
- Internal notes: shown to agents, never to the phone (``gettickets``,
  ``getticketfeed``), the webhook or a push.
- Counts on every view, the unread count, ticket pages past 100.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.integration.browser import HARNESS, ROOT, run_flow
from tests.integration.local_http import LocalHttpServer, Request
from tests.integration.servicedesk_sdk import DeskDevice, result_of
from tidings.store.tables import messages, outbox
from tidings.store.tables_servicedesk import desk_tickets

PASSWORD = "agent-password-1"


async def ok(_request: Request) -> tuple[int, bytes]:
    return 200, b"{}"


@dataclass
class Desk:
    """An app with a logged-in console agent and a way to make phones."""

    app: Any
    agent: httpx.AsyncClient
    agent_id: int
    base_url: str

    def phone(self, name: str = "Dana") -> DeskDevice:
        return DeskDevice(self.base_url, self.app.desk_app_id, author_name=name)


async def new_desk(server: Any, name: str, webhook_url: str | None = None) -> Desk:
    app = await server.new_app(name)
    if webhook_url:
        app = await server.core.apps.update_app(app.id, webhook_url=webhook_url)
    email = f"agent-{secrets.token_hex(4)}@example.com"
    user = await server.core.users.create_user(
        app.id, login=email, email=email, password=PASSWORD, full_name="Ivy", role="agent"
    )
    agent = httpx.AsyncClient(base_url=server.base_url, timeout=30)
    login = await agent.post("/console/login", data={"email": email, "password": PASSWORD})
    assert login.status_code == 303 and "tidings_console" in agent.cookies, login.text
    return Desk(app, agent, user.id, server.base_url)


async def open_ticket(phone: DeskDevice, text: str) -> int:
    create = phone.create_comment(text, new_ticket=True)
    return int(result_of(await phone.sync(create), create)["ticket_id"])


async def test_a_reply_to_a_closed_ticket_reopens_it(server: Any) -> None:
    desk = await new_desk(server, "reopen")
    phone = desk.phone()
    ticket_id = await open_ticket(phone, "my parcel never came")
    r = await desk.agent.post(f"/console/tickets/{ticket_id}/status", data={"status": "closed"})
    assert r.status_code == 303
    assert (await phone.sync())["tickets"][0]["is_active"] is False

    # No JavaScript: the redirect asks the ticket page to say so.
    r = await desk.agent.post(
        f"/console/upload/reply/{ticket_id}", files={"body": (None, "It is on its way again.")}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("&notice=reopened")
    page = await desk.agent.get(r.headers["location"])
    assert "Your reply reopened this ticket." in page.text
    assert 'class="status status-open"' in page.text
    (ticket,) = (await phone.sync())["tickets"]
    assert ticket["is_active"] is True
    assert ticket["last_comment"]["body"] == "It is on its way again."

    # The script's request gets the outcome as JSON; an open ticket is not "reopened".
    fetch = {"X-Requested-With": "fetch"}
    r = await desk.agent.post(
        f"/console/upload/reply/{ticket_id}",
        files={"body": (None, "Anything else?")},
        headers=fetch,
    )
    assert r.json() == {"reopened": False}
    await desk.agent.post(f"/console/tickets/{ticket_id}/status", data={"status": "closed"})
    r = await desk.agent.post(
        f"/console/upload/reply/{ticket_id}",
        files={"body": (None, "One more thing")},
        headers=fetch,
    )
    assert r.json() == {"reopened": True}

    # Hostile: an unknown ticket, and a cross-site POST, change nothing.
    r = await desk.agent.post("/console/upload/reply/999999999", files={"body": (None, "x")})
    assert r.status_code == 404
    r = await desk.agent.post(
        f"/console/tickets/{ticket_id}/status",
        data={"status": "closed"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    assert (await phone.sync())["tickets"][0]["is_active"] is True
    await phone.aclose()
    await desk.agent.aclose()


async def test_search_finds_tickets_of_the_agents_app_only(server: Any) -> None:
    desk = await new_desk(server, "search A")
    other = await new_desk(server, "search B")
    zoe, max_, pct = desk.phone("Zoë Quartz"), desk.phone("Max"), desk.phone("Pat")
    refund = await open_ticket(zoe, "Where is my refund?")
    login = await open_ticket(max_, "I cannot log in")
    await max_.sync(max_.create_comment("the error says 0xBADC0DE", ticket_id=login))
    promo = await open_ticket(pct, "The code 100%_OFF fails")
    theirs = desk.phone("Quentin")  # same words, another app: never found from app A
    theirs.app_id = other.app.desk_app_id
    their_ticket = await open_ticket(theirs, "Where is my refund? badc0de 100%_off")

    async def found(q: str, client: httpx.AsyncClient = desk.agent) -> list[int]:
        r = await client.get("/console/search.json", params={"q": q})
        assert r.status_code == 200, r.text
        return [t["ticket_id"] for t in r.json()["tickets"]]

    assert await found("REFUND") == [refund]  # comment text, any case
    assert await found("badc0de") == [login]  # a later comment
    assert await found("zoë quartz") == [refund]  # customer name
    assert await found(zoe.instance_id[:13]) == [refund]  # customer id
    assert await found(f"#{login}") == [login]  # ticket number
    assert promo in await found(str(promo))  # a bare number: the ticket, and text with it
    # LIKE's wildcards are literal: "%_" is in one ticket, not "anything".
    assert await found("%_") == [promo]
    assert await found("_") == [promo]
    assert await found("\\") == []
    # The other app's agent finds only their own ticket, whatever the term.
    for q in ("refund", "badc0de", "Zoë", f"#{refund}", str(login), "%"):
        assert refund not in await found(q, other.agent) and login not in await found(
            q, other.agent
        )
    assert await found("refund", other.agent) == [their_ticket]
    assert their_ticket not in await found("refund")

    # Pages by cursor: newest activity first, no repeats.
    first = (await desk.agent.get("/console/search.json", params={"q": "o", "limit": 2})).json()
    assert len(first["tickets"]) == 2 and first["next"]
    rest = (
        await desk.agent.get(
            "/console/search.json", params={"q": "o", "limit": 2, "after": first["next"]}
        )
    ).json()
    ids = [t["ticket_id"] for t in first["tickets"] + rest["tickets"]]
    assert sorted(ids) == sorted([refund, login, promo]) and rest["next"] is None

    # The list partial renders results like the inbox, the term as text.
    html = (await desk.agent.get("/console/partials/list", params={"q": "refund"})).text
    assert f'data-ticket-id="{refund}"' in html and f'data-ticket-id="{login}"' not in html
    hostile = "<script>alert(1)</script>"
    html = (await desk.agent.get("/console/partials/list", params={"q": hostile})).text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = (await desk.agent.get("/console/inbox", params={"q": hostile})).text
    assert "<script>alert" not in page

    # Bad terms: a clear 400, nothing else.
    r = await desk.agent.get("/console/search.json", params={"q": "x" * 201})
    assert r.status_code == 400 and "200" in r.json()["error"]
    assert (await desk.agent.get("/console/search.json", params={"q": "  "})).status_code == 400
    assert (
        await httpx.AsyncClient(base_url=server.base_url).get(
            "/console/search.json", params={"q": "refund"}
        )
    ).status_code == 401
    for client in (desk.agent, other.agent):
        await client.aclose()
    for phone in (zoe, max_, pct, theirs):
        await phone.aclose()


async def test_internal_notes_never_reach_the_customer(server: Any) -> None:
    async with LocalHttpServer(ok) as receiver:
        desk = await new_desk(server, "notes", webhook_url=receiver.url + "/hook")
        other = await new_desk(server, "notes B")
        phone = desk.phone()
        await phone.sync(phone.set_push_token("fcm-token-notes", "android"))
        ticket_id = await open_ticket(phone, "The app crashes on start")
        secret = f"note-{secrets.token_hex(6)}"
        note = f"<img src=x onerror=alert(1)> VIP customer {secret}"
        r = await desk.agent.post(f"/console/tickets/{ticket_id}/notes", data={"body": note})
        assert r.status_code == 303
        r = await desk.agent.post(
            f"/console/tickets/{ticket_id}/notes",
            data={"body": f"second {secret}"},
            headers={"X-Requested-With": "fetch"},
        )
        assert r.status_code == 200 and isinstance(r.json()["note_id"], int)

        # Agents see it in the thread, as text, styled as a note.
        html = (await desk.agent.get(f"/console/partials/thread/{ticket_id}")).text
        assert 'class="note"' in html and "Internal note" in html
        assert "&lt;img src=x onerror=alert(1)&gt; VIP customer" in html
        assert "<img src=x" not in html
        # Found by search (agents only).
        r = await desk.agent.get("/console/search.json", params={"q": secret})
        assert [t["ticket_id"] for t in r.json()["tickets"]] == [ticket_id]

        # A reply after the note: the webhook gets the reply, not the note.
        await desk.agent.post(
            f"/console/upload/reply/{ticket_id}", files={"body": (None, "Which phone is it?")}
        )
        hook = await asyncio.wait_for(receiver.arrived.get(), 30)
        assert json.loads(hook.body)["comment"]["body"] == "Which phone is it?"
        assert secret not in hook.body.decode()

        # The phone's next polls, as the SDKs make them, never carry it.
        data = await phone.sync()
        assert secret not in json.dumps(data)
        assert data["tickets"][0]["last_comment"]["body"] == "Which phone is it?"
        feed = await phone.http.post(phone.url + "getticketfeed", json=phone.identity())
        assert feed.status_code == 200 and "Which phone is it?" in feed.text
        assert secret not in feed.text
        # Nor any queued push or webhook.
        async with server.core.db.read() as conn:
            rows = list(
                await conn.execute(select(outbox.c.payload).where(outbox.c.app_id == desk.app.id))
            )
            assert rows and all(secret not in json.dumps(row.payload) for row in rows)
            # Nor the ticket dialog's messages, which every other API reads.
            bodies = [
                row.body
                for row in await conn.execute(
                    select(messages.c.body)
                    .join(desk_tickets, desk_tickets.c.dialog_id == messages.c.dialog_id)
                    .where(desk_tickets.c.id == ticket_id)
                )
            ]
        assert "Which phone is it?" in bodies and all(secret not in b for b in bodies)

        # Hostile: empty, too long, another app's agent, an unknown id.
        r = await desk.agent.post(f"/console/tickets/{ticket_id}/notes", data={"body": "  "})
        assert r.status_code == 400
        long = "x" * (server.settings.max_message_length + 1)
        r = await desk.agent.post(f"/console/tickets/{ticket_id}/notes", data={"body": long})
        assert r.status_code == 400
        foreign = await other.agent.post(
            f"/console/tickets/{ticket_id}/notes", data={"body": "pwned"}
        )
        unknown = await other.agent.post("/console/tickets/999999999/notes", data={"body": "x"})
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.json()["code"] == unknown.json()["code"]
        assert secret not in foreign.text
        thread = await other.agent.get(f"/console/partials/thread/{ticket_id}")
        assert thread.status_code == 404 and secret not in thread.text
        html = (await desk.agent.get(f"/console/partials/thread/{ticket_id}")).text
        assert "pwned" not in html and html.count('class="note"') == 2
        await phone.aclose()
        await desk.agent.aclose()
        await other.agent.aclose()


async def test_canned_replies_fill_in_the_customer_name(server: Any) -> None:
    desk = await new_desk(server, "canned")
    canned: list[Any] = [
        {"title": "Greeting", "body": "Hello {name}! {not a placeholder}"},
        "<script>alert(1)</script>",
        42,  # malformed entries are skipped
        {"title": "no body"},
        {"title": "blank", "body": "   "},
    ]
    await server.core.apps.update_app(desk.app.id, config={"canned_replies": canned})
    phone = desk.phone('Zoë "<b>Q</b>"')
    ticket_id = await open_ticket(phone, "hello?")
    html = (await desk.agent.get(f"/console/partials/thread/{ticket_id}")).text
    options = html.split('id="canned"', 1)[1].split("</select>", 1)[0]
    assert options.count("<option") == 3  # the prompt and two replies
    assert 'value="Hello Zoë &#34;&lt;b&gt;Q&lt;/b&gt;&#34;! {not a placeholder}"' in options
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in options
    # Without canned replies there is no picker.
    other = await new_desk(server, "no canned")
    their_phone = other.phone()
    their_ticket = await open_ticket(their_phone, "hi")
    assert 'id="canned"' not in (await other.agent.get(f"/console/tickets/{their_ticket}")).text
    # And another app's agent sees neither the ticket nor its replies.
    r = await other.agent.get(f"/console/partials/thread/{ticket_id}")
    assert r.status_code == 404 and "Hello" not in r.text
    for p in (phone, their_phone):
        await p.aclose()
    for client in (desk.agent, other.agent):
        await client.aclose()


async def test_priority_and_tags_filter_the_list(server: Any) -> None:
    desk = await new_desk(server, "labels")
    other = await new_desk(server, "labels B")
    phones = [desk.phone(n) for n in ("Ann", "Bo", "Cy")]
    ann, bo, cy = [await open_ticket(p, f"question of {i}") for i, p in enumerate(phones)]
    fetch = {"X-Requested-With": "fetch"}
    r = await desk.agent.post(
        f"/console/tickets/{ann}/labels",
        data={"priority": "urgent", "tags": "VIP, refund  vip"},
        headers=fetch,
    )
    assert r.json() == {"priority": "urgent", "tags": ["refund", "vip"]}
    r = await desk.agent.post(f"/console/tickets/{bo}/labels", data={"tags": "refund"})
    assert r.status_code == 303

    async def listed(**params: str) -> list[int]:
        html = (await desk.agent.get("/console/partials/list", params=params)).text
        return [int(x.split('"')[0]) for x in html.split('data-ticket-id="')[1:]]

    assert await listed(tag="vip") == [ann]
    assert sorted(await listed(tag="REFUND")) == sorted([ann, bo])
    assert await listed(priority="urgent") == [ann]
    assert await listed(priority="urgent", tag="refund") == [ann]
    assert await listed(priority="low") == []
    assert sorted(await listed()) == sorted([ann, bo, cy])
    # A stale or malformed filter filters nothing rather than failing.
    assert sorted(await listed(priority="sky", tag="<b>")) == sorted([ann, bo, cy])
    html = (await desk.agent.get("/console/partials/list")).text
    assert '<span class="prio prio-urgent">urgent</span>' in html
    assert '<span class="tag">vip</span>' in html
    page = (await desk.agent.get(f"/console/tickets/{ann}")).text
    assert 'value="refund, vip"' in page and '<option value="urgent" selected>' in page
    # Only the priority: the tags stay.
    r = await desk.agent.post(
        f"/console/tickets/{ann}/labels", data={"priority": "low"}, headers=fetch
    )
    assert r.json() == {"priority": "low", "tags": ["refund", "vip"]}

    # Hostile input: a clear 400 and no change.
    for data in (
        {"priority": "sky"},
        {"tags": "<script>alert(1)</script>"},
        {"tags": "x" * 33},
        {"tags": " ".join(f"t{i}" for i in range(11))},
    ):
        r = await desk.agent.post(f"/console/tickets/{ann}/labels", data=data)
        assert r.status_code == 400, data
        assert "<script>" not in r.text
    assert await listed(tag="vip") == [ann]
    # Another app's agent: 404 like an unknown id, and nothing of app A in their lists.
    foreign = await other.agent.post(f"/console/tickets/{ann}/labels", data={"tags": "pwned"})
    unknown = await other.agent.post("/console/tickets/999999999/labels", data={"tags": "x"})
    assert foreign.status_code == unknown.status_code == 404
    html = (await other.agent.get("/console/partials/list", params={"tag": "vip"})).text
    assert f'data-ticket-id="{ann}"' not in html
    assert await listed(tag="pwned") == []
    for p in phones:
        await p.aclose()
    for client in (desk.agent, other.agent):
        await client.aclose()


async def test_counts_unread_and_pages_past_100(server: Any) -> None:
    desk = await new_desk(server, "paging")
    phones = [desk.phone(f"Customer {i}") for i in range(103)]
    ids = [await open_ticket(p, f"question number {i}") for i, p in enumerate(phones)]
    await desk.agent.post(f"/console/tickets/{ids[0]}/status", data={"status": "closed"})
    await desk.agent.post(f"/console/tickets/{ids[1]}/assign", data={"assignee": desk.agent_id})

    html = (await desk.agent.get("/console/partials/list")).text
    assert html.count('class="ticket-row') == 100
    assert 'data-open="102"' in html and 'data-closed="1"' in html
    assert 'data-mine="1"' in html and 'data-unassigned="101"' in html
    # Nobody opened them: all 102 open tickets are unread (the tab title's count).
    assert 'data-unread="102"' in html
    page = (await desk.agent.get("/console/inbox")).text
    assert "<title>(102) Inbox" in page

    # The "load more" link carries the cursor; its page holds the rest.
    cursor = html.split('data-after="', 1)[1].split('"', 1)[0]
    more = (await desk.agent.get("/console/partials/list", params={"after": cursor})).text
    assert more.count('class="ticket-row') == 2 and "load-more" not in more
    shown = {int(x.split('"')[0]) for x in (html + more).split('data-ticket-id="')[1:]}
    assert shown == set(ids[1:])

    # Opening a ticket reads it: one fewer unread.
    await desk.agent.get(f"/console/tickets/{ids[5]}")
    html = (await desk.agent.get("/console/partials/list")).text
    assert 'data-unread="101"' in html
    # A malformed cursor is the first page, not an error.
    bad = await desk.agent.get("/console/partials/list", params={"after": "x:1; drop"})
    assert bad.status_code == 200 and bad.text.count('class="ticket-row') == 100
    for p in phones:
        await p.aclose()
    await desk.agent.aclose()


@pytest.mark.slow
async def test_the_desk_features_in_the_browser(server: Any) -> None:
    async with LocalHttpServer(ok) as receiver:
        desk = await new_desk(server, "Acme Support", webhook_url=receiver.url + "/hook")
        await desk.agent.aclose()
        canned = [{"title": "On it", "body": "Hi {name}, we are on it."}]
        await server.core.apps.update_app(desk.app.id, config={"canned_replies": canned})
        email = f"ivy-{secrets.token_hex(4)}@example.com"
        user = await server.core.users.create_user(
            desk.app.id, login=email, email=email, password=PASSWORD, full_name="Ivy", role="agent"
        )
        wanted = os.environ.get("TIDINGS_SCREENSHOTS") == "1" and server.backend == "sqlite"
        shots = ROOT / "docs" / "screenshots" if wanted else None
        result = await run_flow(
            HARNESS / "desk_flow.mjs",
            {
                "BASE_URL": server.base_url,
                "AGENT_EMAIL": email,
                "AGENT_PASSWORD": PASSWORD,
                "AGENT_ID": str(user.id),
                "DESK_APP_ID": desk.app.desk_app_id,
                "SCREENSHOT_DIR": str(shots) if shots else "",
            },
            limit=240,
        )
        steps = result["steps"]

        assert steps["unread_in_title"]["title"].startswith("(3) ")
        opened = steps["opened_with_j"]
        assert opened["title"].startswith("(2) ") and opened["badge"] is None
        assert opened["url"].endswith(f"/console/tickets/{opened['ticket_id']}?view=open")
        assert steps["moved_with_keys"]["j"] != steps["moved_with_keys"]["k_back"]
        assert steps["moved_with_keys"]["arrow_down"] == steps["moved_with_keys"]["j"]
        assert steps["help"]["visible"] and "Assign the open ticket to me" in steps["help"]["text"]
        typing = steps["no_shortcut_while_typing"]
        assert typing["ticket_id"] == typing["before"] and typing["draft"] == "jkea/?"
        focus = steps["shortcuts_focus"]
        assert (focus["r"], focus["n"], focus["slash"]) == ("reply-body", "note-body", "search")
        assert steps["search"]["rows"] == [steps["search"]["expected"]]
        assert steps["search"]["hostile_text"].startswith("No tickets match")
        assert steps["search"]["script_ran"] is False
        assert steps["draft_survives_redraw"] == {
            "name": "draft_survives_redraw",
            "draft": "half-written answer",
            "focused": "reply-body",
        }
        # The note shows as typed: its markup is text, not elements.
        assert steps["note"]["text"] == "VIP customer: <b>refund</b> approved by finance."
        assert "&lt;b&gt;" in steps["note"]["html"]
        assert steps["assigned_with_a"]["assignee"] == str(user.id)
        assert steps["closed_with_e"]["status"] == "closed"
        reopened = steps["reply_reopened"]
        assert (
            reopened["status"] == "open" and reopened["flash"] == "Your reply reopened this ticket."
        )
        assert reopened["canned"] == "Hi Zoë Quartz, we are on it."
        labels = steps["labels"]
        assert labels["tagged"] == [steps["search"]["expected"]]
        assert labels["tags"] == ["refund", "vip"] and labels["priority"] == "urgent"
        assert steps["paged"]["before"] == 100 and steps["paged"]["after"] == 104
        assert steps["paged"]["open_count"] == "104"

        # The phone behind the noted ticket: reopened, the reply there, the note not.
        phone = DeskDevice(
            server.base_url, desk.app.desk_app_id, instance_id=result["noted_device"]
        )
        (ticket,) = (await phone.sync())["tickets"]
        assert ticket["is_active"] is True
        assert ticket["last_comment"]["body"] == "Hi Zoë Quartz, we are on it."
        assert "VIP" not in json.dumps(ticket)
        hook = await asyncio.wait_for(receiver.arrived.get(), 30)
        assert "VIP" not in hook.body.decode()
        await phone.aclose()
