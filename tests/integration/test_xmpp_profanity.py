"""profanity (Debian's package, a terminal XMPP client nobody here wrote) driven in
tmux against the real server: login, roster add with a name, a subscription request
the contact accepts, and the contact's presence and status shown (RFC 6121 §2-§4);
1-1 messages both ways with a receipt, and a room joined with its history.

Skipped only when profanity or tmux is not installed (scripts/install-test-deps.sh
installs both as root)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.integration.test_xmpp_presence import PASSWORD, PresenceClient, jid
from tests.integration.xmpp_helpers import Listener, close, connect, login_mechanism
from tidings.domain.models import Actor

pytestmark = pytest.mark.skipif(
    not (shutil.which("profanity") and shutil.which("tmux")),
    reason="profanity or tmux is not installed (scripts/install-test-deps.sh installs them)",
)


class Tmux:
    """One detached tmux session running a command, on a socket of its own."""

    def __init__(self, home: Path, command: str) -> None:
        self.socket = str(home / "tmux.sock")
        self.name = f"prof-{secrets.token_hex(3)}"
        self.home = home
        self.command = command

    def _tmux(self, *args: str) -> str:
        env = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_DATA_HOME": str(self.home / "data"),
            "TERM": "xterm-256color",
        }
        done = subprocess.run(
            ["tmux", "-S", self.socket, *args], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def start(self) -> None:
        self._tmux("new-session", "-d", "-s", self.name, "-x", "200", "-y", "50", self.command)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)
        self._tmux("send-keys", "-t", self.name, "Enter")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name, "-S", "-200")

    async def shows(self, text: str) -> str:
        """Wait until ``text`` is on the screen; the screen then."""

        def found() -> str:
            screen = self.screen()
            return screen if text in screen else ""

        return await wait_until(found, 30, what=f"{text!r} on profanity's screen", every=0.2)

    def stop(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)


async def log_in(prof: Tmux, user: Any, port: int) -> None:
    prof.start()
    await prof.shows("Profanity")
    prof.type(f"/connect {jid(user)} server 127.0.0.1 port {port} tls trust")
    await prof.shows("password")
    prof.type(PASSWORD)
    await prof.shows("logged in successfully")


async def test_profanity_adds_a_contact_and_sees_its_presence(
    server, tmp_path: Path, caplog
) -> None:
    """RFC 6121 §2.3 (``/roster add`` with a name is stored), §3.1 (``/sub request``,
    accepted by the contact), §3.1.5 and §4.4 (the contact's presence and status reach
    profanity's screen)."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    prof = Tmux(tmp_path, "profanity -l DEBUG")
    caplog.set_level(logging.DEBUG, logger="tidings.gateways.xmpp")
    async with Listener(server.core) as xmpp:
        b: Any = await connect(PresenceClient(jid(bob, "desk"), status="reading"), xmpp.port)
        try:
            await log_in(prof, alice, xmpp.port)
            assert login_mechanism(caplog, alice).startswith("SCRAM-")  # RFC 6120 §13.8
            prof.type(f"/roster add {jid(bob)} Bobby")
            prof.type(f"/sub request {jid(bob)}")
            request = await asyncio.wait_for(_first(b, lambda p: p["type"] == "subscribe"), 20)
            assert request["from"] == jid(alice)
            b.send_presence(pto=jid(alice), ptype="subscribed")
            await prof.shows('is online, "reading"')  # §3.1.5: the current presence at once
            b.send_presence(pshow="dnd", pstatus="busy bee")
            screen = await prof.shows('is dnd, "busy bee"')  # §4.4: a change
            assert "Bobby (desk" in screen  # the roster item's name
            contacts = await server.core.contacts.list_contacts(Actor(app.id, alice.id))
            assert [(c.user_id, c.name, c.status) for c in contacts] == [(bob.id, "Bobby", "to")]
            print("profanity screen tail:\n" + "\n".join(screen.splitlines()[-12:]))
        finally:
            prof.stop()
            await close(b)


async def test_profanity_chats_one_to_one_and_in_a_room(server, tmp_path: Path) -> None:
    """RFC 6120 §8.1.2.1: a message comes from the sender's full JID, so profanity
    answers its XEP-0184 request with a receipt naming the sender's own id, and its
    reply reaches the sender; XEP-0045 §7.2: profanity joins a room, is shown the
    history (§7.2.14) and its room message reaches the other occupant."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    prof = Tmux(tmp_path, "profanity -l DEBUG")
    async with Listener(server.core) as xmpp:
        b: Any = await connect(PresenceClient(jid(bob, "desk")), xmpp.port)
        try:
            await log_in(prof, alice, xmpp.port)
            hello = b.make_message(mto=jid(alice), mbody="hi alice", mtype="chat")
            hello["id"] = "bobs-own-id-1"
            hello["request_receipt"] = True
            hello.send()
            await prof.shows("<< chat message")
            prof.type("/win 2")
            await prof.shows(f"{b.boundjid.full}: hi alice")  # from the full JID
            receipt = await asyncio.wait_for(b.receipts.get(), 20)
            assert receipt == "bobs-own-id-1"  # profanity's <received/>, routed as is
            prof.type("hello bob")  # to the resource the chat is locked on
            reply = await asyncio.wait_for(b.messages.get(), 20)
            assert reply["body"] == "hello bob" and reply["from"].bare == jid(alice)

            room = "porch@muc.localhost"
            muc = b.plugin["xep_0045"]
            await asyncio.wait_for(muc.join_muc_wait(room, "bob"), 10)
            await muc.send_affiliation_list(room, [(jid(alice), "member")], timeout=10)
            b.send_message(mto=room, mbody="earlier on the porch", mtype="groupchat")
            await asyncio.wait_for(b.groupchat.get(), 10)  # the room's reflection
            prof.type(f"/join {room} nick alice")
            await prof.shows("You have joined the room as alice")
            screen = await prof.shows("bob: earlier on the porch")  # the history
            prof.type("evening, bob")
            said = await asyncio.wait_for(b.groupchat.get(), 20)
            assert said["body"] == "evening, bob" and str(said["from"]) == f"{room}/alice"
            print("profanity screen tail:\n" + "\n".join(screen.splitlines()[-8:]))
        finally:
            prof.stop()
            await close(b)


async def _first(client: Any, want: Any) -> dict[str, Any]:
    while True:
        p = await client.presences.get()
        if want(p):
            return p
