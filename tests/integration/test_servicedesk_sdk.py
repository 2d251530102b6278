"""The service-desk gateway driven as the PyrusServiceDesk SDKs drive it
(wire spec §4–§7, §11), anonymous users, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.servicedesk_sdk import DeskDevice, assert_wire_clean, result_of
from tidings.core.desk_models import DeskClaim
from tidings.domain.models import Actor


async def desk_app(server: Any, **config: Any) -> Any:
    app = await server.new_app("desk")
    if config:
        app = await server.core.apps.update_app(app.id, config=config)
    return app


async def agent_of(server: Any, app: Any) -> Actor:
    _, user, _ = await server.new_user(app, role="agent", full_name="Ivy (support)")
    return Actor(app_id=app.id, user_id=user.id, role="agent")


@pytest.fixture
async def device(server: Any) -> Any:
    app = await desk_app(server, welcome_message="Hi! How can we help?")
    phone = DeskDevice(server.base_url, app.desk_app_id)
    yield phone
    await phone.aclose()


async def test_first_message_opens_a_ticket_and_comes_back(server: Any, device: DeskDevice) -> None:
    """§4.2, §5.1 rule 4: no ticket id -> a new ticket; the reply lists it with the comment."""
    command = device.create_comment("The receipt screen is blank")
    reply = await device.sync(command)
    result = result_of(reply, command)
    assert result["ticket_id"] > 0 and result["comment_id"] > 0
    assert reply["applications"][0]["app_id"] == device.app_id
    assert reply["applications"][0]["welcome_message"] == "Hi! How can we help?"
    (ticket,) = reply["tickets"]
    assert ticket["ticket_id"] == result["ticket_id"]
    assert ticket["subject"] == "The receipt screen is blank"
    assert ticket["is_active"] is True and ticket["is_read"] is True
    (comment,) = ticket["comments"]
    assert comment["comment_id"] == result["comment_id"]
    assert comment["body"] == "The receipt screen is blank"
    assert comment["is_inbound"] is True and comment["is_system"] is False
    assert comment["author"] == {"name": "Dana"}  # no author_id in single-chat mode
    assert ticket["last_comment"]["comment_id"] == comment["comment_id"]
    assert_wire_clean(reply)


async def test_text_and_file_in_one_batch_then_download(server: Any, device: DeskDevice) -> None:
    """§6, §7, §9: upload, reference by guid, read back the attachment, download it."""
    guid = await device.upload("screen.png", b"\x89PNG fake image bytes")
    text = device.create_comment("see attached")
    photo = device.create_comment(attachments=[{"guid": guid, "type": 0, "name": "screen.png"}])
    reply = await device.sync(text, photo)
    assert result_of(reply, text)["ticket_id"] == result_of(reply, photo)["ticket_id"]
    (ticket,) = reply["tickets"]
    file_comment = ticket["comments"][1]
    assert file_comment["body"] == ""
    (attachment,) = file_comment["attachments"]
    assert attachment["name"] == "screen.png" and attachment["size"] == 21
    assert isinstance(attachment["id"], int)
    for path in ("DownloadFile", "DownloadFilePreview"):
        response = await device.http.get(
            f"{device.url}{path}/{attachment['id']}", params=device.download_query()
        )
        assert response.status_code == 200
        assert response.content == b"\x89PNG fake image bytes"
        assert response.headers["content-length"] == "21"
    # Someone else's device cannot download it.
    stranger = DeskDevice(server.base_url, device.app_id)
    response = await stranger.http.get(
        f"{device.url}DownloadFile/{attachment['id']}", params=stranger.download_query()
    )
    assert response.status_code == 404
    await stranger.aclose()
    assert_wire_clean(reply)


async def test_agent_reply_flips_is_read_until_marked(server: Any, device: DeskDevice) -> None:
    """§13.1: a support comment makes ``is_read`` false; MarkTicketAsRead makes it true."""
    first = device.create_comment("hello")
    ticket_id = result_of(await device.sync(first), first)["ticket_id"]
    app = await server.core.apps.find_by_desk_app_id(device.app_id)
    agent = await agent_of(server, app)
    comment_id = await server.core.desk.reply(agent, ticket_id, "Could you send the app version?")
    reply = await device.sync()
    (ticket,) = reply["tickets"]
    assert ticket["is_read"] is False
    assert ticket["last_comment"]["comment_id"] == comment_id
    assert ticket["last_comment"]["is_inbound"] is False
    assert ticket["last_comment"]["author"]["name"] == "Ivy (support)"
    assert [c["comment_id"] for c in ticket["comments"]] == [comment_id]  # incremental
    read = device.mark_read(ticket_id)
    reply = await device.sync(read)
    assert result_of(reply, read) == {"command_id": read["command_id"]}
    (ticket,) = reply["tickets"]
    assert ticket["is_read"] is True
    assert ticket["last_read_comment_id"] == comment_id
    assert ticket["comments"] == []
    assert ticket["last_comment"]["comment_id"] == comment_id  # even with an empty delta
    assert_wire_clean(reply)


async def test_commands_are_idempotent(server: Any, device: DeskDevice) -> None:
    """§4.2: a command re-sent after a lost reply is not executed twice."""
    command = device.create_comment("only once")
    first = result_of(await device.sync(command), command)
    device.last_note_id = 0
    reply = await device.sync(command)
    assert result_of(reply, command) == first
    (ticket,) = reply["tickets"]
    assert [c["body"] for c in ticket["comments"]] == ["only once"]


async def test_every_command_gets_a_result(server: Any, device: DeskDevice) -> None:
    """§4.2: one result per command id, read marks and push tokens included; bad ones
    carry an ``error`` inside a 200."""
    create = device.create_comment("hi")
    ticket_id = result_of(await device.sync(create), create)["ticket_id"]
    commands = [
        device.mark_read(ticket_id),
        device.set_push_token("fcm-token-1"),
        device.calc_operator_time(ticket_id),
        device.create_comment("to a stranger's ticket", ticket_id=ticket_id + 1000),
        device.create_comment(attachments=[{"guid": "nope", "type": 0, "name": "x"}]),
        device.create_comment(""),
        {**device.mark_read(ticket_id), "type": 3},
    ]
    reply = await device.sync(*commands)
    assert len(reply["commands_result"]) == len(commands)
    assert result_of(reply, commands[2]) == {
        "command_id": commands[2]["command_id"],
        "ticket_id": ticket_id,
    }
    for bad in commands[3:]:
        error = result_of(reply, bad)["error"]
        assert error["text"] and isinstance(error["code"], int)
    assert "error" not in result_of(reply, commands[0])
    assert "error" not in result_of(reply, commands[1])
    assert_wire_clean(reply)


async def test_every_ticket_in_every_reply(server: Any, device: DeskDevice) -> None:
    """§4.2: the ticket list is authoritative: closed tickets stay listed."""
    first = device.create_comment("first problem")
    ticket_a = result_of(await device.sync(first), first)["ticket_id"]
    app = await server.core.apps.find_by_desk_app_id(device.app_id)
    agent = await agent_of(server, app)
    await server.core.desk.set_status(agent, ticket_a, "closed")
    # §10: after the newest ticket is closed a new message opens a new ticket.
    second = device.create_comment("second problem")
    reply = await device.sync(second)
    ticket_b = result_of(reply, second)["ticket_id"]
    assert ticket_b != ticket_a
    states = {t["ticket_id"]: t["is_active"] for t in reply["tickets"]}
    assert states == {ticket_a: False, ticket_b: True}
    # And with nothing new, both are still there.
    assert {t["ticket_id"] for t in (await device.sync())["tickets"]} == {ticket_a, ticket_b}


async def test_comment_ids_increase_across_tickets(server: Any, device: DeskDevice) -> None:
    """§2.1: comment ids grow per user across all of their tickets (the cursor)."""
    seen: list[int] = []
    for n in range(3):
        command = device.create_comment(f"message {n}", new_ticket=True, ticket_id=-(n + 1))
        seen.append(result_of(await device.sync(command), command)["comment_id"])
    assert seen == sorted(seen) and len(set(seen)) == 3


async def test_new_ticket_placeholder_ids(server: Any, device: DeskDevice) -> None:
    """§5.1 rules 1 and 3: a negative id creates a ticket; later commands reuse it."""
    open_it = device.create_comment("new chat", new_ticket=True, ticket_id=-7)
    follow = device.create_comment("more", ticket_id=-7)
    reply = await device.sync(open_it, follow)
    assert result_of(reply, open_it)["ticket_id"] == result_of(reply, follow)["ticket_id"] > 0


async def test_rating(server: Any, device: DeskDevice) -> None:
    """§13.2: a rating comment is stored, shown with ``rating``; ``show_rating`` clears."""
    app = await server.core.apps.find_by_desk_app_id(device.app_id)
    await server.core.apps.update_app(app.id, config={"rating_on_close": True})
    first = device.create_comment("help")
    ticket_id = result_of(await device.sync(first), first)["ticket_id"]
    agent = await agent_of(server, app)
    await server.core.desk.set_status(agent, ticket_id, "closed")
    (ticket,) = (await device.sync())["tickets"]
    assert ticket["show_rating"] is True and ticket["show_rating_text"]
    rate = device.create_comment(rating=5, ticket_id=ticket_id)
    reply = await device.sync(rate)
    assert result_of(reply, rate)["ticket_id"] == ticket_id
    (ticket,) = reply["tickets"]
    assert ticket["show_rating"] is False
    assert ticket["comments"][-1]["rating"] == 5
    assert_wire_clean(reply)


async def test_push_token_limits(server: Any) -> None:
    """Seed: SetPushToken at most once per 5 minutes per user and 5 times per 5
    minutes in total; beyond, the command's ``error`` (§5.3)."""
    app = await desk_app(server)
    phones = [DeskDevice(server.base_url, app.desk_app_id) for _ in range(6)]
    try:
        first = phones[0].set_push_token("tok-0")
        again = phones[0].set_push_token("tok-0b")
        reply = await phones[0].sync(first, again)
        assert "error" not in result_of(reply, first)
        assert result_of(reply, again)["error"]["code"] == 429
        for n, phone in enumerate(phones[1:5], start=1):
            command = phone.set_push_token(f"tok-{n}")
            assert "error" not in result_of(await phone.sync(command), command)
        sixth = phones[5].set_push_token("tok-5")
        assert result_of(await phones[5].sync(sixth), sixth)["error"]["code"] == 429
        # Legacy SetPushToken reports the limit as a body with ``error``.
        legacy = await phones[5].http.post(
            phones[5].url + "SetPushToken",
            json={
                "app_id": app.desk_app_id,
                "user_id": phones[5].instance_id,
                "version": 0,
                "token": "tok",
                "type": "android",
            },
        )
        assert legacy.status_code == 200 and "error" in legacy.json()
    finally:
        for phone in phones:
            await phone.aclose()


async def test_routing_is_case_insensitive(server: Any, device: DeskDevice) -> None:
    """§2: ``GetTickets``, ``gettickets/`` and ``GETTICKETS`` all reach the endpoint."""
    for path in ("GetTickets", "gettickets/", "GETTICKETS"):
        response = await device.http.post(
            device.base_url + "/ServiceDeskApi/v1/" + path, json=device.identity()
        )
        assert response.status_code == 200, (path, response.text)
    avatar = await device.http.get(device.url + "Avatar/12345")
    assert avatar.status_code == 404  # the SDK draws initials
    avatar = await device.http.get(device.url + "avatar/12345/64")
    assert avatar.status_code == 404


async def test_errors_never_400_on_gettickets(server: Any, device: DeskDevice) -> None:
    """§12: 400 means "authorization failed" to Android; unknown app -> 403 (§3.1);
    a malformed body is not 400 either."""
    unknown = await device.http.post(
        device.url + "gettickets", json={"app_id": "nope", "instance_id": "x", "version": 2}
    )
    assert unknown.status_code == 403
    garbage = await device.http.post(device.url + "gettickets", content=b"{not json")
    assert garbage.status_code not in (400, 403, 500)
    no_device = await device.http.post(
        device.url + "gettickets", json={"app_id": device.app_id, "version": 2}
    )
    assert no_device.status_code == 403
    weird = await device.http.post(
        device.url + "gettickets",
        json={**device.identity(), "commands": "x", "last_note_id": "abc", "extra": None},
    )
    assert weird.status_code == 200


async def test_legacy_feed(server: Any) -> None:
    """§11: UpdateTicketFeed adds comments; GetTicketFeed returns them merged."""
    app = await desk_app(server, welcome_message="Welcome")
    device_id = "legacy-device-1"
    async with httpx.AsyncClient(base_url=server.base_url + "/servicedeskapi/v1/") as http:
        body = {"app_id": app.desk_app_id, "user_id": device_id, "version": 0}
        guid = (
            await http.post("UploadFile", files={"File": ("log.txt", b"log", "text/plain")})
        ).json()["guid"]
        sent = await http.post(
            "UpdateTicketFeed",
            json={
                **body,
                "comment": "old app",
                "user_name": "Sam",
                "attachments": [{"guid": guid, "type": 0, "name": "log.txt"}],
            },
        )
        assert sent.status_code == 200
        assert sent.json()["comment_id"] > 0 and len(sent.json()["attachments"]) == 1
        feed = (await http.post("GetTicketFeed", json={**body, "keep_unread": False})).json()
        assert [c["body"] for c in feed["comments"]] == ["old app"]
        assert feed["welcome_message"] == "Welcome"
        assert_wire_clean(feed)
        # The same device upgraded to the sync protocol keeps its history (§3.2).
        phone = DeskDevice(server.base_url, app.desk_app_id, instance_id=device_id)
        (ticket,) = (await phone.sync())["tickets"]
        assert ticket["comments"][0]["body"] == "old app"
        await phone.aclose()


async def test_tickets_are_support_dialogs_of_the_native_api(
    server: Any, device: DeskDevice
) -> None:
    """Design: a ticket is a core dialog of type ``support``: its requester lists and
    reads it through /api/v1, unread counts include agent replies, but the native API
    neither creates support dialogs nor changes their occupants."""
    create = device.create_comment("native view")
    ticket_id = result_of(await device.sync(create), create)["ticket_id"]
    app = await server.core.apps.find_by_desk_app_id(device.app_id)
    agent = await agent_of(server, app)
    await server.core.desk.reply(agent, ticket_id, "agent answer")
    claim = DeskClaim(device=device.instance_id, instance_id=device.instance_id)
    ident = await server.core.tickets.identities.identify(device.app_id, claim)
    session = await server.core.auth.create_session(app.id, ident.user_id)
    headers = {"Authorization": f"Bearer {session.token}"}
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", headers=headers) as api:
        listed = (await api.get("/dialogs", params={"type": "support"})).json()
        (dialog,) = listed["items"]
        assert dialog["type"] == "support" and dialog["name"] == "native view"
        assert dialog["unread_count"] == 1
        history = (await api.get(f"/dialogs/{dialog['id']}/messages")).json()
        assert [m["body"] for m in history["items"]] == ["native view", "agent answer"]
        refused = await api.post("/dialogs", json={"type": "support", "name": "x"})
        assert refused.status_code in (400, 422)
        change = await api.patch(f"/dialogs/{dialog['id']}", json={"add_occupants": [1]})
        assert change.status_code == 403
