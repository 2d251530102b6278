"""Satisfaction ratings end to end (pyrus-servicedesk-wire §5.1, §10, §13.2): the phone
rates a ticket the console closed, through the SDK's own ``gettickets`` and legacy
``UpdateTicketFeed`` bodies; the console's ticket page and the admin overview show it,
each for its own app only. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
from sqlalchemy import func, select, update

from tests.integration.servicedesk_sdk import DeskDevice, assert_wire_clean, result_of
from tests.integration.test_admin_panel import Admin, admin_of
from tests.integration.test_console_desk import Desk, new_desk, open_ticket
from tidings.store.tables_servicedesk import desk_comments, desk_tickets

DAY_MS = 86_400_000


async def close(desk: Desk, ticket_id: int) -> None:
    """The agent closes the ticket in the console, as its button does."""
    r = await desk.agent.post(f"/console/tickets/{ticket_id}/status", data={"status": "closed"})
    assert r.status_code == 303, r.text


def rate(phone: DeskDevice, rating: Any, ticket_id: int | None, note: str | None = None) -> Any:
    """A CreateComment rating as the SDKs send it (iOS drops any text; the note is
    ``rating_comment``)."""
    command = phone.create_comment(rating=rating, ticket_id=ticket_id)
    if note is not None:
        command["params"]["rating_comment"] = note
    return command


async def stored(server: Any, ticket_id: int) -> tuple[int | None, bool, int]:
    """(the ticket's rating, its show_rating, how many rating comments it has)."""
    async with server.core.db.read() as conn:
        row = (await conn.execute(select(desk_tickets).where(desk_tickets.c.id == ticket_id))).one()
        count = (
            await conn.execute(
                select(func.count()).where(
                    desk_comments.c.ticket_id == ticket_id, desk_comments.c.rating.is_not(None)
                )
            )
        ).scalar_one()
    return row.rating, bool(row.show_rating), int(count)


async def rating_desk(server: Any, name: str) -> Desk:
    desk = await new_desk(server, name)
    await server.core.apps.update_app(desk.app.id, config={"rating_on_close": True})
    return desk


async def test_a_closed_ticket_is_rated_and_the_console_shows_it(server: Any) -> None:
    """§13.2: closing asks (``show_rating``); the rating and its comment are stored on
    the comment and the ticket, the ask clears, the ticket stays closed; the console's
    ticket page shows the stars, the face and the comment."""
    desk = await rating_desk(server, "rated")
    phone = desk.phone()
    try:
        ticket_id = await open_ticket(phone, "the app logs me out")
        await close(desk, ticket_id)
        (ticket,) = (await phone.sync())["tickets"]
        assert ticket["show_rating"] is True and ticket["show_rating_text"]
        assert ticket["is_active"] is False

        command = rate(phone, 4, ticket_id, note="Quick <b>and</b> kind")
        reply = await phone.sync(command)
        result = result_of(reply, command)
        assert result["ticket_id"] == ticket_id and result["comment_id"] > 0
        (ticket,) = reply["tickets"]
        assert ticket["show_rating"] is False
        assert ticket["is_active"] is False, "a rating does not reopen the ticket"
        (comment,) = [c for c in ticket["comments"] if c["comment_id"] == result["comment_id"]]
        assert comment["rating"] == 4 and comment["rating_comment"] == "Quick <b>and</b> kind"
        assert comment["is_inbound"] is True
        assert reply["applications"][0]["rating_settings"]["size"] == 5
        assert_wire_clean(reply)
        assert await stored(server, ticket_id) == (4, False, 1)

        page = await desk.agent.get(f"/console/tickets/{ticket_id}?view=closed")
        assert page.status_code == 200
        head = re.search(
            r'id="ticket-rating" data-rating="(\d)"[^>]*>(.*?)</span> rated', page.text
        )
        assert head and head.group(1) == "4", page.text
        assert "★★★★☆" in head.group(2) and "🙂" in head.group(2)
        bubble = re.search(
            rf'data-comment-id="{result["comment_id"]}".*?class="rating" data-rating="4">'
            r'Rated 4 / 5.*?<p class="text">([^<]*)</p>',
            page.text,
            re.S,
        )
        assert bubble and bubble.group(1) == "Quick &lt;b&gt;and&lt;/b&gt; kind", page.text
        # The ticket stays closed in the console too.
        assert 'class="status status-closed"' in page.text
        # The closed list previews the rating, its comment escaped.
        listing = await desk.agent.get("/console/inbox?view=closed")
        assert "Rated 4/5: Quick &lt;b&gt;and&lt;/b&gt; kind" in listing.text, listing.text
    finally:
        await phone.aclose()
        await desk.agent.aclose()


async def test_ratings_are_refused_with_a_reason_and_store_nothing(server: Any) -> None:
    """Out of the scale, not a number, an open ticket, a second rating: each is the
    command's 400 error, and the ticket keeps no rating it did not accept."""
    desk = await rating_desk(server, "refused")
    phone = desk.phone()
    try:
        ticket_id = await open_ticket(phone, "where is my order")
        too_early = rate(phone, 5, ticket_id)
        reply = await phone.sync(too_early)
        assert result_of(reply, too_early)["error"] == {
            "text": "only a closed ticket can be rated",
            "code": 400,
        }
        assert await stored(server, ticket_id) == (None, False, 0)

        await close(desk, ticket_id)
        for bad, reason in ((0, "rating is 1 to 5"), (6, "rating is 1 to 5"), (-3, "1 to 5")):
            command = rate(phone, bad, ticket_id)
            error = result_of(await phone.sync(command), command)["error"]
            assert error["code"] == 400 and reason in error["text"], (bad, error)
        not_numbers: tuple[Any, ...] = ("four", 4.5, [4])
        for not_number in not_numbers:
            command = rate(phone, not_number, ticket_id)
            error = result_of(await phone.sync(command), command)["error"]
            assert error == {"text": "rating must be a whole number", "code": 400}, not_number
        assert await stored(server, ticket_id) == (None, True, 0)

        first = rate(phone, 2, ticket_id)
        assert "error" not in result_of(await phone.sync(first), first)
        again = rate(phone, 5, ticket_id)
        error = result_of(await phone.sync(again), again)["error"]
        assert error == {"text": "this ticket is already rated", "code": 400}
        # The first rating's command, re-sent, is answered as before (idempotent).
        assert "error" not in result_of(await phone.sync(first), first)
        assert await stored(server, ticket_id) == (2, False, 1)

        # The legacy endpoint answers in its own shape: a body with ``error``.
        legacy = await phone.http.post(
            phone.url + "UpdateTicketFeed",
            json={
                "app_id": phone.app_id,
                "user_id": phone.instance_id,
                "version": 0,
                "user_name": "Dana",
                "rating": 9,
            },
        )
        assert legacy.status_code == 200 and legacy.json() == {"error": "rating is 1 to 5"}
        assert await stored(server, ticket_id) == (2, False, 1)
    finally:
        await phone.aclose()
        await desk.agent.aclose()


async def test_another_identitys_or_apps_ticket_is_an_unknown_one(server: Any) -> None:
    """Tenant boundary: a rating of another device's ticket, or of another app's, gets
    the very answer an id that does not exist gets, and nothing is stored."""
    desk, other = await rating_desk(server, "mine"), await rating_desk(server, "theirs")
    owner, stranger = desk.phone("Dana"), desk.phone("Eve")
    outsider = other.phone("Mallory")
    try:
        ticket_id = await open_ticket(owner, "my card was charged twice")
        await close(desk, ticket_id)
        await open_ticket(stranger, "hello")
        await open_ticket(outsider, "hello from elsewhere")
        unknown = 2_000_000_000
        answers = []
        for phone, target in ((stranger, ticket_id), (outsider, ticket_id), (stranger, unknown)):
            command = rate(phone, 1, target)
            error = result_of(await phone.sync(command), command)["error"]
            answers.append(error["text"].replace(str(target), "N"))
            assert error["code"] == 400
        assert answers == ["no ticket N"] * 3
        assert await stored(server, ticket_id) == (None, True, 0)
        # The console of the other app cannot see it either.
        page = await other.agent.get(f"/console/tickets/{ticket_id}")
        assert page.status_code == 404
    finally:
        for phone in (owner, stranger, outsider):
            await phone.aclose()
        await desk.agent.aclose()
        await other.agent.aclose()


async def test_single_chat_ratings_go_to_the_newest_ticket(server: Any) -> None:
    """§10: single-chat SDKs show the newest ticket's "rating" state. iOS rates without
    a ticket id, Android (once the newest ticket is closed) marks queued comments
    ``request_new_ticket`` with a new negative id: both rate the closed ticket and
    open none. Legacy ``UpdateTicketFeed`` ratings do the same."""
    desk = await rating_desk(server, "single")
    ios = DeskDevice(desk.base_url, desk.app.desk_app_id, platform="ios")
    android, legacy = desk.phone(), desk.phone()
    try:
        for phone in (ios, android, legacy):
            await phone.sync(phone.create_comment("hi"))
            (ticket,) = (await phone.sync())["tickets"]
            await close(desk, ticket["ticket_id"])
        plain = rate(ios, 5, None)
        reply = await ios.sync(plain)
        (ticket,) = reply["tickets"]
        assert result_of(reply, plain)["ticket_id"] == ticket["ticket_id"]
        assert ticket["is_active"] is False and ticket["show_rating"] is False

        marked = android.create_comment(rating=3, ticket_id=-41, new_ticket=True)
        reply = await android.sync(marked)
        (ticket,) = reply["tickets"]
        assert result_of(reply, marked)["ticket_id"] == ticket["ticket_id"]
        assert await stored(server, ticket["ticket_id"]) == (3, False, 1)

        answer = await legacy.http.post(
            legacy.url + "UpdateTicketFeed",
            json={
                "app_id": legacy.app_id,
                "user_id": legacy.instance_id,
                "version": 0,
                "user_name": "Dana",
                "rating": 1,
                "rating_comment": "slow",
            },
        )
        assert answer.status_code == 200 and isinstance(answer.json()["comment_id"], int)
        feed = await legacy.http.post(
            legacy.url + "GetTicketFeed",
            json={"app_id": legacy.app_id, "user_id": legacy.instance_id, "version": 0},
        )
        body = feed.json()
        assert body["show_rating"] is False
        assert body["comments"][-1]["rating"] == 1
        assert body["comments"][-1]["rating_comment"] == "slow"

        # A phone with no ticket has nothing to rate, and no ticket is opened for it.
        fresh = desk.phone()
        nothing = rate(fresh, 4, None)
        reply = await fresh.sync(nothing)
        assert result_of(reply, nothing)["error"]["text"] == "there is no ticket to rate"
        assert reply["tickets"] == []
        await fresh.aclose()
    finally:
        for phone in (ios, android, legacy):
            await phone.aclose()
        await desk.agent.aclose()


async def test_the_admin_overview_tallies_this_apps_ratings(server: Any) -> None:
    """The overview's ratings: count, average and distribution over the last 30 days
    and all time, one app's only (another app's ratings are not counted)."""
    desk, other = await rating_desk(server, "tally"), await rating_desk(server, "other tally")
    phones: list[DeskDevice] = []
    admin = await Admin.sign_in(server, await admin_of(server, desk.app))
    try:
        tickets = []
        for value in (5, 5, 4, 1):
            phone = desk.phone()
            phones.append(phone)
            ticket_id = await open_ticket(phone, f"about {value}")
            await close(desk, ticket_id)
            command = rate(phone, value, ticket_id)
            assert "error" not in result_of(await phone.sync(command), command)
            tickets.append(ticket_id)
        outsider = other.phone()
        phones.append(outsider)
        foreign = await open_ticket(outsider, "elsewhere")
        await close(other, foreign)
        command = rate(outsider, 2, foreign)
        assert "error" not in result_of(await outsider.sync(command), command)
        # The 1 was given 40 days ago: all time, not the last 30 days.
        async with server.core.db.transaction() as conn:
            await conn.execute(
                update(desk_comments)
                .where(desk_comments.c.ticket_id == tickets[3], desk_comments.c.rating == 1)
                .values(created_ms=server.core.now_ms() - 40 * DAY_MS)
            )

        page = (await admin.client.get("/admin/overview")).text
        recent = table(page, "recent")
        whole = table(page, "all")
        assert recent["count"] == "3" and recent["average"] == "4.67"
        assert recent["rows"] == {5: 2, 4: 1, 3: 0, 2: 0, 1: 0}
        assert whole["count"] == "4" and whole["average"] == "3.75"
        assert whole["rows"] == {5: 2, 4: 1, 3: 0, 2: 0, 1: 1}
        assert "Last 30 days" in page and "All time" in page

        # The other app's admin sees its own one rating.
        other_admin = await Admin.sign_in(server, await admin_of(server, other.app))
        theirs = table((await other_admin.client.get("/admin/overview")).text, "all")
        await other_admin.aclose()
        assert theirs["count"] == "1" and theirs["rows"][2] == 1
    finally:
        for phone in phones:
            await phone.aclose()
        await admin.aclose()
        await desk.agent.aclose()
        await other.agent.aclose()


async def test_the_admin_panel_turns_the_ask_on_and_off(server: Any) -> None:
    """The service-desk form's checkbox is ``rating_on_close``: on, closing a ticket
    asks the phone for a rating; off (unticked), it does not."""
    desk = await new_desk(server, "asking")
    admin = await Admin.sign_in(server, await admin_of(server, desk.app))
    phone = desk.phone()
    try:
        page = (await admin.client.get("/admin/settings")).text
        assert re.search(r'name="rating_on_close" value="1">', page)  # off by default
        assert (await admin.post("/admin/settings/desk", rating_on_close="1")).status_code == 303
        page = (await admin.client.get("/admin/settings")).text
        assert re.search(r'name="rating_on_close" value="1" checked>', page)
        first = await open_ticket(phone, "first")
        await close(desk, first)
        assert [t["show_rating"] for t in (await phone.sync())["tickets"]] == [True]

        assert (await admin.post("/admin/settings/desk")).status_code == 303
        assert (await server.core.apps.get_app(desk.app.id)).config["rating_on_close"] is False
        second = await open_ticket(phone, "second")
        await close(desk, second)
        asked = {t["ticket_id"]: t["show_rating"] for t in (await phone.sync())["tickets"]}
        assert asked == {first: True, second: False}
        # Not asked, but closed: the customer may still rate it (§13.2 note).
        command = rate(phone, 3, second)
        assert "error" not in result_of(await phone.sync(command), command)
        assert await stored(server, second) == (3, False, 1)
    finally:
        await phone.aclose()
        await admin.aclose()
        await desk.agent.aclose()


async def test_an_app_without_ratings_shows_none(server: Any) -> None:
    app = await server.new_app(f"quiet-{secrets.token_hex(3)}")
    admin = await Admin.sign_in(server, await admin_of(server, app))
    try:
        page = (await admin.client.get("/admin/overview")).text
        for key in ("recent", "all"):
            found = table(page, key)
            assert found["count"] == "0" and found["average"] == ""
            assert set(found["rows"].values()) == {0}
    finally:
        await admin.aclose()
    # Signed out, the overview is not shown at all.
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        answer = await anonymous.get("/admin/overview")
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/login"


def table(page: str, key: str) -> dict[str, Any]:
    """One tally table of the overview: its data attributes and rating -> tickets."""
    found = re.search(
        rf'<table class="grid ratings-table" id="ratings-{key}" data-count="(\d+)" '
        r'data-average="([0-9.]*)">(.*?)</table>',
        page,
        re.S,
    )
    assert found, page
    rows = re.findall(r'<tr data-rating="(\d)">.*?<td class="num">(\d+)</td>', found.group(3), re.S)
    return {
        "count": found.group(1),
        "average": found.group(2),
        "rows": {int(r): int(n) for r, n in rows},
    }
