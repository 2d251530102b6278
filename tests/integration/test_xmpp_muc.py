"""XEP-0045 rooms as standard clients use them, driven with slixmpp's xep_0045 plugin.

Each test cites the XEP-0045 section it checks. Rooms are dialogs: a room named
by its first joiner is a group dialog owned by them (§10.1), and ConnectyCube
rooms (``<appId>_<dialogId>``) keep working.
"""

from __future__ import annotations

import asyncio
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from slixmpp.exceptions import IqError, PresenceError

from tests.integration.test_xmpp_chat import jid
from tests.integration.xmpp_helpers import Client, Listener, close, connect
from tidings.domain.models import Actor

MUC_USER = "{http://jabber.org/protocol/muc#user}"


def codes(presence: Any) -> set[int]:
    return set(presence["muc"]["status_codes"])


class Watcher(Client):
    """A client that keeps every MUC presence it is sent, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.presences: asyncio.Queue[Any] = asyncio.Queue()
        self.add_event_handler("groupchat_presence", self.presences.put_nowait)
        self.presence_errors: asyncio.Queue[Any] = asyncio.Queue()

    async def presence_from(self, occupant: str, kind: str = "available") -> Any:
        """The next presence of ``occupant`` of that type (earlier ones are skipped)."""
        while True:
            got = await asyncio.wait_for(self.presences.get(), 10)
            if str(got["from"]) == occupant and got["type"] == kind:
                return got


async def fence(client: Client) -> None:
    """A round trip: whatever the server sent this client before it has arrived."""
    await client.plugin["xep_0199"].ping(client.boundjid.domain, timeout=10)


async def test_join_creates_group_dialog_owned_by_joiner(server) -> None:
    """§10.1.1 a new name creates the room: 201 and 110, affiliation owner; §10.1.2 an
    instant room accepts an empty submit; §10.1.3 the form; ConnectyCube sees a group
    dialog (type 2) owned by the creator, the native API too."""
    app, alice, alice_token = await server.new_user()
    room = "team@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        try:
            muc = a.plugin["xep_0045"]
            joined = await asyncio.wait_for(muc.join_muc_wait(room, "alice"), 10)
            self_presence = joined[0]
            assert {110, 201} <= codes(self_presence)
            assert str(self_presence["from"]) == f"{room}/alice"  # the nick is kept
            assert self_presence["muc"]["affiliation"] == "owner"
            assert self_presence["muc"]["role"] == "moderator"
            form = await muc.get_room_config(room)
            values = form.get_values()
            assert values["muc#roomconfig_roomname"] == "team"
            assert values["muc#roomconfig_membersonly"] is True
            instant = a.make_iq_set(ito=room)
            instant.append(
                ET.fromstring(
                    '<query xmlns="http://jabber.org/protocol/muc#owner">'
                    '<x xmlns="jabber:x:data" type="submit"/></query>'
                )
            )
            await instant.send(timeout=10)
            form.get_fields(use_dict=True)["muc#roomconfig_roomname"]["value"] = "Team room"
            await muc.set_room_config(room, form, timeout=10)
        finally:
            await close(a)
    dialogs = (await server.client(alice_token).list_dialogs()).items
    [dialog] = [d for d in dialogs if d.type == "group"]
    assert dialog.owner_id == alice.id and dialog.name == "Team room"
    async with httpx.AsyncClient(base_url=f"{server.base_url}/connectycube") as http:
        cube = await http.get(
            "/chat/Dialog.json", headers={"CB-Token": alice_token, "CB-SDK": "JS 6.1.2 - Client"}
        )
    assert cube.status_code == 200, cube.text
    [listed] = [d for d in cube.json()["items"] if d["_id"] == dialog.id]
    assert listed["type"] == 2 and listed["user_id"] == alice.id
    assert listed["xmpp_room_jid"] == f"{app.id}_{dialog.id}@muc.localhost"


async def test_second_occupant_presences_both_ways(server) -> None:
    """§7.2.7 members only: 407 before the owner adds the member (§9.3); §7.2.3
    presences both ways, then the self-presence (110); §7.2.9 nick conflict 409;
    §7.2.11 the server changes the nick in a ConnectyCube room and says so (210)."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    room = "crew@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Watcher(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Watcher(jid(bob), "correct horse"), xmpp.port)
        c = await connect(Watcher(jid(carol), "correct horse"), xmpp.port)
        try:
            await asyncio.wait_for(a.plugin["xep_0045"].join_muc_wait(room, "alice"), 10)
            with pytest.raises(PresenceError) as refused:
                await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10)
            assert refused.value.condition == "registration-required"
            for user in (bob, carol):
                await a.plugin["xep_0045"].set_affiliation(
                    room, "member", jid=jid(user), timeout=10
                )
            pres, _subject, others, _history = await asyncio.wait_for(
                b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10
            )
            assert 110 in codes(pres) and 201 not in codes(pres)
            # slixmpp counts its own presence among the occupants, last (§7.2.3 order).
            assert [str(o["from"]) for o in others] == [f"{room}/alice", f"{room}/bob"]
            assert others[0]["muc"]["affiliation"] == "owner"
            assert others[0]["muc"]["jid"].bare == jid(alice)  # §7.2.10 non-anonymous
            seen = await a.presence_from(f"{room}/bob")
            assert seen["muc"]["affiliation"] == "member" and 110 not in codes(seen)
            with pytest.raises(PresenceError) as taken:
                await asyncio.wait_for(c.plugin["xep_0045"].join_muc_wait(room, "Bob"), 10)
            assert taken.value.condition == "conflict"
            group = await server.client(alice_token).create_dialog("group", [bob.id], name="g")
            cc_room = f"{app.id}_{group.id}@muc.localhost"
            fixed = await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(cc_room, "bobby"), 10)
            assert {110, 210} <= codes(fixed[0])
            assert str(fixed[0]["from"]) == f"{cc_room}/{bob.id}"
        finally:
            await close(a, b, c)


async def test_room_messages_reach_occupants_with_the_authors_id(server) -> None:
    """§7.4: a message goes to the occupants, and back to its author under the id the
    author gave it; a standard client that left the room (§7.14) hears no more of it,
    nor does one that asked for its roster (a standard client, RFC 6121 §2.2) and
    never joined, while a session that did neither keeps the ConnectyCube behaviour."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    _, dave, _ = await server.new_user(app)
    _, erin, _ = await server.new_user(app)
    room = "talk@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Watcher(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Watcher(jid(bob), "correct horse"), xmpp.port)
        c = await connect(Watcher(jid(carol), "correct horse"), xmpp.port)
        d = await connect(Watcher(jid(dave), "correct horse"), xmpp.port)
        e = await connect(Watcher(jid(erin), "correct horse"), xmpp.port)
        try:
            await e.get_roster(timeout=10)
            muc = a.plugin["xep_0045"]
            await asyncio.wait_for(muc.join_muc_wait(room, "alice"), 10)
            await muc.send_affiliation_list(
                room, [(jid(u), "member") for u in (bob, carol, dave, erin)], timeout=10
            )
            await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10)
            await asyncio.wait_for(c.plugin["xep_0045"].join_muc_wait(room, "carol"), 10)
            c.plugin["xep_0045"].leave_muc(room, "carol")
            await c.presence_from(f"{room}/carol", "unavailable")  # §7.14 its own
            message = a.make_message(mto=room, mbody="hello room", mtype="groupchat")
            message["id"] = "client-chosen-id-1"
            message.send()
            got = await asyncio.wait_for(b.groupchat.get(), 10)
            assert got["body"] == "hello room" and str(got["from"]) == f"{room}/alice"
            assert got["id"] == "client-chosen-id-1"
            echo = await asyncio.wait_for(a.groupchat.get(), 10)
            assert echo["id"] == "client-chosen-id-1" and str(echo["from"]) == f"{room}/alice"
            unjoined = await asyncio.wait_for(d.groupchat.get(), 10)
            assert unjoined["body"] == "hello room"  # connectycube-wire §10.4
            await fence(c)
            await fence(e)
            await fence(a)
            print(f"carol (left the room) got {c.groupchat.qsize()} room messages")
            print(f"erin (roster, never joined) got {e.groupchat.qsize()} room messages")
            assert c.groupchat.empty() and e.groupchat.empty()
        finally:
            await close(a, b, c, d, e)


async def test_leave_kick_and_rights(server) -> None:
    """§7.14 leaving: unavailable to the others and to oneself (110); §8.2 a kick by the
    owner (307, actor), refused to a mere member (forbidden)."""
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    room = "kicks@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Watcher(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Watcher(jid(bob), "correct horse"), xmpp.port)
        try:
            owner = a.plugin["xep_0045"]
            await asyncio.wait_for(owner.join_muc_wait(room, "alice"), 10)
            await owner.set_affiliation(room, "member", jid=jid(bob), timeout=10)
            await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10)
            await a.presence_from(f"{room}/bob")
            b.plugin["xep_0045"].leave_muc(room, "bob")
            gone = await a.presence_from(f"{room}/bob", "unavailable")
            assert 110 not in codes(gone)
            own = await b.presence_from(f"{room}/bob", "unavailable")
            assert 110 in codes(own)
            await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10)
            await a.presence_from(f"{room}/bob")
            with pytest.raises(IqError) as refused:
                await b.plugin["xep_0045"].set_role(room, "alice", "none", timeout=10)
            assert refused.value.condition == "forbidden"
            await owner.set_role(room, "bob", "none", reason="bye", timeout=10)
            kicked = await b.presence_from(f"{room}/bob", "unavailable")
            assert {110, 307} <= codes(kicked)
            assert kicked["muc"]["item"]["actor"]["jid"].bare == jid(alice)
            seen = await a.presence_from(f"{room}/bob", "unavailable")
            assert 307 in codes(seen)
            assert owner.get_roster(room) == ["alice"]
        finally:
            await close(a, b)


async def test_affiliations_lists_disco_and_self_ping(server) -> None:
    """§9.5/§10.5 lists readable by members; §10.6 admin grant and §9.1 outcast change
    the dialog; §6.4 room disco#info with its features, §6.5 items; XEP-0410 self-ping;
    §10.3 an owner grant hands the dialog over (one owner), the old owner stays admin."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    room = "lists@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Watcher(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Watcher(jid(bob), "correct horse"), xmpp.port)
        c = await connect(Watcher(jid(carol), "correct horse"), xmpp.port)
        try:
            owner = a.plugin["xep_0045"]
            await asyncio.wait_for(owner.join_muc_wait(room, "alice"), 10)
            await owner.set_affiliation(room, "member", jid=jid(bob), timeout=10)
            await owner.set_affiliation(room, "member", jid=jid(carol), timeout=10)
            await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10)
            members = await b.plugin["xep_0045"].get_affiliation_list(room, "member", timeout=10)
            assert sorted(str(j) for j in members) == sorted([jid(bob), jid(carol)])
            owners = await b.plugin["xep_0045"].get_affiliation_list(room, "owner", timeout=10)
            assert [str(j) for j in owners] == [jid(alice)]
            await owner.set_affiliation(room, "admin", jid=jid(bob), timeout=10)
            joined = await b.presence_from(f"{room}/bob")  # its join, then the change
            promoted = await b.presence_from(f"{room}/bob")
            assert (joined["muc"]["affiliation"], promoted["muc"]["affiliation"]) == (
                "member",
                "admin",
            )
            assert promoted["muc"]["role"] == "moderator"
            await owner.set_affiliation(room, "outcast", jid=jid(carol), timeout=10)
            dialogs = (await server.client(alice_token).list_dialogs()).items
            [dialog] = [d for d in dialogs if d.type == "group"]
            assert dialog.admin_ids == [bob.id]
            assert sorted(dialog.occupant_ids) == sorted([alice.id, bob.id])
            info = await a.plugin["xep_0030"].get_info(jid=room, timeout=10)
            features = set(info["disco_info"]["features"])
            assert {
                "http://jabber.org/protocol/muc",
                "muc_persistent",
                "muc_membersonly",
                "muc_nonanonymous",
                "muc_hidden",
            } <= features
            assert ("conference", "text", None, "lists") in info["disco_info"]["identities"]
            items = await a.plugin["xep_0030"].get_items(jid=room, timeout=10)
            assert sorted(str(i[0]) for i in items["disco_items"]["items"]) == [
                f"{room}/alice",
                f"{room}/bob",
            ]
            pong = await a.plugin["xep_0199"].send_ping(f"{room}/alice", timeout=10)
            assert pong["type"] == "result"
            with pytest.raises(IqError) as stranger:
                await c.plugin["xep_0199"].send_ping(f"{room}/carol", timeout=10)
            assert stranger.value.condition == "not-acceptable"  # XEP-0410 §3: not joined
            await owner.set_affiliation(room, "owner", jid=jid(bob), timeout=10)  # §10.3
            handed = await b.presence_from(f"{room}/bob")
            assert handed["muc"]["affiliation"] == "owner"
            dialog = await server.client(alice_token).get_dialog(dialog.id)
            assert dialog.owner_id == bob.id and dialog.admin_ids == [alice.id]
            owners = await a.plugin["xep_0045"].get_affiliation_list(room, "owner", timeout=10)
            assert [str(j) for j in owners] == [jid(bob)]
        finally:
            await close(a, b, c)


async def test_unavailable_to_a_room_never_joined_is_not_answered(server) -> None:
    """§7.14 and the mcabber loop: a client that answers every room stanza with
    ``<presence type='unavailable'/>`` to a room it never joined gets nothing back,
    so one room message costs one stanza, not thousands."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    group = await server.client(alice_token).create_dialog("group", [bob.id], name="loop")
    room = f"{app.id}_{group.id}@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Client(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Client(jid(bob), "correct horse"), xmpp.port)
        counts = {"messages": 0, "presences": 0, "answers": 0}

        def answer(stanza: Any) -> None:
            if stanza["from"].bare != room:
                return
            counts["presences" if stanza.name == "presence" else "messages"] += 1
            counts["answers"] += 1
            b.send_presence(pto=f"{room}/{bob.id}", ptype="unavailable")

        b.add_event_handler("groupchat_message", answer)
        b.add_event_handler("groupchat_presence", answer)
        try:
            a.send_message(mto=room, mbody="are you there?", mtype="groupchat")
            await asyncio.wait_for(b.groupchat.get(), 10)
            for _ in range(5):  # a loop would be running now; give it rounds to show
                await fence(b)
                await asyncio.sleep(0.1)
            print(f"room stanzas to bob: {counts}")
            assert counts == {"messages": 1, "presences": 0, "answers": 1}
        finally:
            await close(a, b)


async def test_join_brings_the_history_asked_for(server) -> None:
    """§7.2.14: joining brings the last messages the client asks for (``maxstanzas``),
    delayed and from the room; then live messages come from the author's occupant JID.
    Before joining, the session heard the room as the ConnectyCube SDK does (§10.4)."""
    app, alice, _ = await server.new_user()
    _, carol, _ = await server.new_user(app)
    author = Actor(app.id, alice.id)
    group = await server.core.dialogs.create_dialog(
        author, "group", occupant_ids=[carol.id], name="history"
    )
    room = f"{app.id}_{group.id}@muc.localhost"
    for body in ("first", "second", "third"):
        await server.core.messages.send_message(author, group.id, body)
    async with Listener(server.core) as xmpp:
        c = await connect(Client(jid(carol), "correct horse"), xmpp.port)
        try:
            offline = [(await asyncio.wait_for(c.groupchat.get(), 10))["body"] for _ in range(3)]
            assert offline == ["first", "second", "third"]
            _self, subject, _occupants, history = await asyncio.wait_for(
                c.plugin["xep_0045"].join_muc_wait(room, str(carol.id), maxstanzas=2), 10
            )
            assert [m["body"] for m in history] == ["second", "third"]
            assert {str(m["delay"]["from"]) for m in history} == {room}
            assert subject["subject"] == "history"
            for _ in range(2):
                await asyncio.wait_for(c.groupchat.get(), 10)  # the history, as messages too
            await server.core.messages.send_message(author, group.id, "now joined")
            got = await asyncio.wait_for(c.groupchat.get(), 10)
            assert got["body"] == "now joined" and str(got["from"]) == f"{room}/{alice.id}"
        finally:
            await close(c)


async def test_nick_change_and_private_messages(server) -> None:
    """§7.6: a nick change is unavailable with 303 and the new nick, then available
    under it, to everyone; a nick held by another user is a conflict. §7.5: a private
    message to an occupant is refused and never posted to the room."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    room = "nicks@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Watcher(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Watcher(jid(bob), "correct horse"), xmpp.port)
        try:
            owner = a.plugin["xep_0045"]
            await asyncio.wait_for(owner.join_muc_wait(room, "alice"), 10)
            await owner.set_affiliation(room, "member", jid=jid(bob), timeout=10)
            await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10)
            assert await b.plugin["xep_0045"].set_self_nick(room, "robert", timeout=10) == (
                "robert"
            )
            renamed = await a.presence_from(f"{room}/bob", "unavailable")
            assert 303 in codes(renamed) and renamed["muc"]["item"]["nick"] == "robert"
            back = await a.presence_from(f"{room}/robert")
            assert back["muc"]["jid"].bare == jid(bob)
            b.add_event_handler(f"muc::{room}::presence-error", b.presence_errors.put_nowait)
            b.send_presence(pto=f"{room}/alice")
            clash = await asyncio.wait_for(b.presence_errors.get(), 10)
            assert clash["error"]["condition"] == "conflict"
            a.add_event_handler("groupchat_message_error", a.errors.put_nowait)
            a.send_message(mto=f"{room}/robert", mbody="just for you", mtype="chat")
            refused = await asyncio.wait_for(a.errors.get(), 10)
            assert refused["error"]["condition"] == "feature-not-implemented"
            a.send_message(mto=room, mbody="for everyone", mtype="groupchat")
            got = await asyncio.wait_for(b.groupchat.get(), 10)
            assert got["body"] == "for everyone"
            dialogs = (await server.client(alice_token).list_dialogs()).items
            [dialog] = [d for d in dialogs if d.type == "group"]
            history = await server.client(alice_token).history(dialog.id)
            assert [m.body for m in history.items] == ["for everyone"]
        finally:
            await close(a, b)


async def test_mediated_invitation_makes_a_member(server) -> None:
    """§7.8.2: an invitation through the room makes the invitee a member of the
    members-only room and reaches them from the room with the inviter and reason;
    nothing is posted to the room; an invitee who is no user here is an error."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    room = "invites@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Watcher(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Watcher(jid(bob), "correct horse"), xmpp.port)
        invitations: asyncio.Queue[Any] = asyncio.Queue()
        b.add_event_handler("groupchat_invite", invitations.put_nowait)
        a.add_event_handler("groupchat_message_error", a.errors.put_nowait)
        try:
            await asyncio.wait_for(a.plugin["xep_0045"].join_muc_wait(room, "alice"), 10)
            a.plugin["xep_0045"].invite(room, jid(bob), "come in")
            got = await asyncio.wait_for(invitations.get(), 10)
            assert str(got["from"]) == room
            assert got["muc"]["invite"]["from"].bare == jid(alice)
            assert got["muc"]["invite"]["reason"] == "come in"
            await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10)
            a.plugin["xep_0045"].invite(room, "nobody@elsewhere.example")
            refused = await asyncio.wait_for(a.errors.get(), 10)
            assert refused["error"]["condition"] == "item-not-found"
            dialogs = (await server.client(alice_token).list_dialogs()).items
            [dialog] = [d for d in dialogs if d.type == "group"]
            assert sorted(dialog.occupant_ids) == sorted([alice.id, bob.id])
            assert (await server.client(alice_token).history(dialog.id)).items == []
        finally:
            await close(a, b)


async def test_removal_through_the_api_leaves_the_room(server) -> None:
    """§9.5: a member removed from the dialog through the native API leaves the room
    (321) on every client; an admin named there shows in a presence (§9.3)."""
    app, alice, alice_token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    room = "api@muc.localhost"
    async with Listener(server.core) as xmpp:
        a = await connect(Watcher(jid(alice), "correct horse"), xmpp.port)
        b = await connect(Watcher(jid(bob), "correct horse"), xmpp.port)
        c = await connect(Watcher(jid(carol), "correct horse"), xmpp.port)
        try:
            owner = a.plugin["xep_0045"]
            await asyncio.wait_for(owner.join_muc_wait(room, "alice"), 10)
            await owner.send_affiliation_list(
                room, [(jid(bob), "member"), (jid(carol), "member")], timeout=10
            )
            await asyncio.wait_for(b.plugin["xep_0045"].join_muc_wait(room, "bob"), 10)
            await asyncio.wait_for(c.plugin["xep_0045"].join_muc_wait(room, "carol"), 10)
            dialogs = (await server.client(alice_token).list_dialogs()).items
            [dialog] = [d for d in dialogs if d.type == "group"]
            rest = server.client(alice_token)
            await rest.update_dialog(dialog.id, add_admins=[carol.id])
            await c.presence_from(f"{room}/carol")  # its join
            promoted = await c.presence_from(f"{room}/carol")
            assert promoted["muc"]["affiliation"] == "admin"
            await rest.update_dialog(dialog.id, remove_occupants=[bob.id])
            own = await b.presence_from(f"{room}/bob", "unavailable")
            assert {110, 321} <= codes(own)
            seen = await a.presence_from(f"{room}/bob", "unavailable")
            assert 321 in codes(seen)
            assert sorted(owner.get_roster(room)) == ["alice", "carol"]
        finally:
            await close(a, b, c)
