"""poezio (Debian's package, a terminal XMPP client nobody here wrote) driven in tmux
against the real server: a login over STARTTLS that trusts the server's certificate
(``ca_cert_path``), 1-1 messages both ways with a slixmpp peer, a room joined and a
room message seen (RFC 6120 §5-§7, RFC 6121 §5, XEP-0045 §7.2, §7.4); and none of
what poezio asks at login is answered ``service-unavailable`` or
``feature-not-implemented``.

poezio refuses to run as root, so as root it runs as ``nobody`` (``setpriv``), in a
home of its own. Skipped only when poezio or tmux is not installed
(scripts/install-test-deps.sh installs both as root)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.integration.test_xmpp_presence import PASSWORD, PresenceClient, jid
from tests.integration.test_xmpp_profanity import Tmux
from tests.integration.xmpp_helpers import Listener, close, connect, login_mechanism

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("poezio") and shutil.which("tmux")),
        reason="poezio or tmux is not installed (scripts/install-test-deps.sh installs them)",
    ),
]

NOBODY = 65534
REFUSALS = ("service-unavailable", "feature-not-implemented")


@pytest.fixture
def home() -> Iterator[Path]:
    """A home poezio can write to: outside pytest's root-only tree, owned by nobody
    when the test runs as root."""
    path = Path(tempfile.mkdtemp(prefix="tidings-poezio-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_poezio(home: Path, user: Any, port: int, cert: Path) -> Tmux:
    """poezio with a config that logs ``user`` in at 127.0.0.1:``port`` at once."""
    config = home / "config" / "poezio"
    config.mkdir(parents=True)
    trusted = home / "server-cert.pem"
    shutil.copyfile(cert, trusted)
    (config / "poezio.cfg").write_text(
        "[Poezio]\n"
        f"jid = {jid(user)}/poezio\n"
        f"password = {PASSWORD}\n"
        "custom_host = 127.0.0.1\n"
        f"custom_port = {port}\n"
        f"ca_cert_path = {trusted}\n"  # the chain is checked against our certificate
        "force_encryption = true\n"
        "auto_reconnect = false\n"
        "plugins_autoload =\n"
        "show_welcome_in_new_tabs = false\n"
    )
    command = f"poezio -d {home / 'debug.log'} -f {config / 'poezio.cfg'}"
    if os.geteuid() == 0:  # poezio exits when run as root
        for path in (home, *home.rglob("*")):
            os.chown(path, NOBODY, NOBODY)
        command = f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups {command}"
    prof = Tmux(home, command)
    prof.start()
    return prof


async def shows(poezio: Tmux, text: str) -> str:
    """Wait for ``text`` on poezio's screen; print the screen if it never comes."""
    try:
        return await poezio.shows(text)
    except AssertionError:
        print("poezio screen:\n" + poezio.screen())
        log = poezio.home / "debug.log"
        if log.exists():
            print(
                "poezio log tail:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-60:])
            )
        raise


async def type_in(poezio: Tmux, text: str) -> None:
    """Type a line: poezio reads keys in batches, and a batch that opens the command
    line with ``/`` loses the rest, so the first key goes alone."""
    poezio._tmux("send-keys", "-t", poezio.name, "-l", text[0])  # noqa: SLF001
    await asyncio.sleep(0.3)
    poezio._tmux("send-keys", "-t", poezio.name, "-l", text[1:])  # noqa: SLF001
    await asyncio.sleep(0.3)
    poezio._tmux("send-keys", "-t", poezio.name, "Enter")  # noqa: SLF001


async def in_log(home: Path, text: str) -> str:
    def found() -> str:
        log = home / "debug.log"
        return "found" if log.exists() and text in log.read_text(errors="replace") else ""

    return await wait_until(found, 30, what=f"{text!r} in poezio's log", every=0.2)


async def logged_in(poezio: Tmux, home: Path) -> str:
    """The debug log once poezio has sent its initial presence."""

    def sent_presence() -> str:
        log = (
            (home / "debug.log").read_text(errors="replace")
            if (home / "debug.log").exists()
            else ""
        )
        return log if re.search(r"SEND: <presence", log) else ""

    try:
        return await wait_until(sent_presence, 40, what="poezio logged in", every=0.3)
    except Exception:
        print("poezio screen:\n" + poezio.screen())
        raise


def login_exchange(log: str) -> list[tuple[str, str]]:
    """(what poezio asked, what the server answered) for each iq poezio sent."""
    asked: dict[str, str] = {}
    answers: list[tuple[str, str]] = []
    for line in log.splitlines():
        sent = re.search(r"SEND: (<iq [^>]*>.*)", line)
        if sent:
            iq = sent.group(1)
            iq_id = re.search(r'id="([^"]+)"', iq)
            payload = re.search(
                r"<iq [^>]*>\s*<(\w+)[^>]*xmlns=\"([^\"]+)\"(?:[^>]*node=\"([^\"]+)\")?", iq
            )
            if iq_id and payload and ('type="get"' in iq or 'type="set"' in iq):
                node = f" node={payload.group(3)}" if payload.group(3) else ""
                asked[iq_id.group(1)] = f"{payload.group(2)} {payload.group(1)}{node}"
            continue
        got = re.search(r"RECV: (<iq [^>]*>.*)", line)
        if got:
            iq = got.group(1)
            iq_id = re.search(r'id="([^"]+)"', iq)
            if iq_id and iq_id.group(1) in asked:
                kind = re.search(r'type="(\w+)"', iq)
                verdict = kind.group(1) if kind else "?"
                if verdict == "error":
                    condition = re.search(
                        r"<([a-z-]+) xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"", iq
                    )
                    verdict = f"error {condition.group(1) if condition else '?'}"
                answers.append((asked.pop(iq_id.group(1)), verdict))
    answers += [(what, "no answer yet") for what in asked.values()]
    return answers


async def test_poezio_logs_in_chats_and_joins_a_room(server, home: Path, caplog) -> None:
    """RFC 6120 §5 (STARTTLS, the certificate trusted as a CA), §6, §7; RFC 6121 §5: a
    message from slixmpp shows in poezio's conversation tab, and poezio's reply reaches
    slixmpp; XEP-0045 §7.2/§7.4: poezio joins a room and shows a room message from the
    other occupant. Every iq poezio sends at login is answered, none with
    ``service-unavailable``/``feature-not-implemented``."""
    app, alice, _ = await server.new_user(password=PASSWORD)
    _, bob, _ = await server.new_user(app, password=PASSWORD)
    caplog.set_level(logging.DEBUG, logger="tidings.gateways.xmpp")
    path = home
    cert = Path(server.core.settings.data_dir) / "xmpp-dev-cert.pem"
    poezio: Tmux | None = None
    async with Listener(server.core) as xmpp:
        b: Any = await connect(PresenceClient(jid(bob, "desk")), xmpp.port)
        try:
            poezio = start_poezio(path, alice, xmpp.port, cert)
            log = await logged_in(poezio, path)
            assert "STARTTLS" in log or "starttls" in log
            mechanism = login_mechanism(caplog, alice)  # RFC 6120 §13.8
            sasl = [line[-300:] for line in log.splitlines() if "xmpp-sasl" in line]
            assert mechanism.startswith("SCRAM-"), f"{mechanism}: {sasl}"
            b.send_message(mto=jid(alice), mbody="hi poezio", mtype="chat")
            await in_log(path, "hi poezio</body>")  # it opens a tab, in the background
            await type_in(poezio, "/win 1")  # the conversation tab it opened
            await shows(poezio, "hi poezio")
            await type_in(poezio, "hello slixmpp")
            reply = await asyncio.wait_for(b.messages.get(), 20)
            assert reply["body"] == "hello slixmpp" and reply["from"].bare == jid(alice)

            room = "veranda@muc.localhost"
            muc = b.plugin["xep_0045"]
            await asyncio.wait_for(muc.join_muc_wait(room, "bob"), 10)
            await muc.send_affiliation_list(room, [(jid(alice), "member")], timeout=10)
            await type_in(poezio, f"/join {room}/alice")
            await wait_until(
                lambda: len(list(muc.get_roster(room) or [])) >= 2, 20, what="alice in the room"
            )
            b.send_message(mto=room, mbody="evening on the veranda", mtype="groupchat")
            screen = await shows(poezio, "evening on the veranda")
            await type_in(poezio, "good evening, bob")
            said = await asyncio.wait_for(_room_message(b, "good evening, bob"), 20)
            assert str(said["from"]) == f"{room}/alice"

            log = (path / "debug.log").read_text(errors="replace")
            exchange = login_exchange(log)
            print("\npoezio asked -> the server answered:")
            for asked, answered in exchange:
                print(f"  {asked} -> {answered}")
            print("poezio screen tail:\n" + "\n".join(screen.splitlines()[-8:]))
            refused = [(a, v) for a, v in exchange if any(r in v for r in REFUSALS)]
            assert exchange and refused == []
            # Bookmark storage is found in the server's disco (XEP-0049 there, XEP-0223 on
            # the account); the first read of a node never written is item-not-found.
            assert "No remote bookmark storage available" not in poezio.screen()
            assert {v for _a, v in exchange} <= {"result", "error item-not-found"}
            # XEP-0115: poezio's caps were asked once, and its answer verified.
            assert len(re.findall(r'RECV: <iq type="get" id="caps-', log)) == 1
            assert 'SEND: <iq type="result" id="caps-' in log
            session = next(iter(xmpp.server.gateway.registry.of_user(app.id, alice.id)))
            assert session.features and session.caps.node == "https://poez.io"
            assert not any(f"<{r} " in log or f"<{r}/>" in log for r in REFUSALS)
        finally:
            if poezio is not None:
                poezio.stop()
            await close(b)


async def _room_message(client: Any, body: str) -> Any:
    while True:
        msg = await client.groupchat.get()
        if msg["body"] == body:
            return msg
