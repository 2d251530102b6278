"""slixmpp clients and a killable TCP proxy for the XMPP gateway tests."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import slixmpp

from tidings.gateways.xmpp import start_xmpp_listener, stop_xmpp_listener

PLUGINS = ("xep_0030", "xep_0045", "xep_0085", "xep_0184", "xep_0199", "xep_0333", "xep_0198")


class Client(slixmpp.ClientXMPP):
    """A standard XMPP client that records what it receives."""

    def __init__(self, jid: str, password: str, *, sm: bool = False) -> None:
        super().__init__(jid, password)
        for plugin in PLUGINS:
            if plugin == "xep_0198" and not sm:
                continue
            self.register_plugin(plugin)
        if sm:
            self.plugin["xep_0198"].window = 1000  # the test asks for acks itself
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.groupchat: asyncio.Queue[Any] = asyncio.Queue()
        self.chatstates: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.receipts: asyncio.Queue[str] = asyncio.Queue()
        self.markers: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.errors: asyncio.Queue[Any] = asyncio.Queue()
        self.started = asyncio.Event()
        self.failed_auth = asyncio.Event()
        self.stream_errors: asyncio.Queue[str] = asyncio.Queue()
        self.add_event_handler("session_start", self._start)
        self.add_event_handler("session_resumed", lambda _e: self.started.set())
        self.add_event_handler("message", self._message)
        self.add_event_handler("groupchat_message", lambda m: self.groupchat.put_nowait(m))
        self.add_event_handler("failed_auth", lambda _e: self.failed_auth.set())
        self.add_event_handler(
            "stream_error", lambda e: self.stream_errors.put_nowait(e["condition"])
        )
        for state in ("composing", "paused", "active"):
            self.add_event_handler(
                f"chatstate_{state}",
                lambda m, s=state: self.chatstates.put_nowait((s, str(m["from"].bare))),
            )
        self.add_event_handler("receipt_received", lambda m: self.receipts.put_nowait(m["receipt"]))
        for name in ("received", "displayed"):
            self.add_event_handler(
                f"marker_{name}",
                lambda m, n=name: self.markers.put_nowait((n, m[n]["id"])),
            )

    async def _start(self, _event: Any) -> None:
        self.send_presence()
        self.started.set()

    def _message(self, msg: Any) -> None:
        if msg["type"] == "error":
            self.errors.put_nowait(msg)
            return
        if msg["type"] in ("chat", "normal") and msg["body"]:
            self.messages.put_nowait(msg)


async def connect(client: Client, port: int) -> Client:
    client.connect(host="127.0.0.1", port=port)
    await asyncio.wait_for(client.started.wait(), 20)
    return client


async def close(*clients: Client) -> None:
    for client in clients:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 5)


class Listener:
    """An XMPP listener on 127.0.0.1:0 against a test server's core."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.server: Any = None
        self.port = 0

    async def __aenter__(self) -> Listener:
        self.server, self.port = await start_xmpp_listener(self.core, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await stop_xmpp_listener(self.server)


class Proxy:
    """A TCP relay on 127.0.0.1:0 whose live connections a test can cut."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        #: Bytes relayed to the client; when it passes ``cut_after`` the link dies mid-chunk.
        #: (The relay sees only TLS records, so it cuts by position, not by content.)
        self.downstream = 0
        self.cut_after = 0
        self.was_cut = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Proxy:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.cut()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def cut(self) -> None:
        """Kill every relayed connection at once, both sides, without a closing handshake."""
        for writer in self.writers:
            transport = writer.transport
            transport.abort()  # type: ignore[attr-defined]
        self.writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [writer, up_writer]

        async def pump(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, downstream: bool
        ) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    if downstream and self.cut_after and not self.was_cut.is_set():
                        if self.downstream + len(data) > self.cut_after:
                            dst.write(data[: self.cut_after - self.downstream])
                            self.was_cut.set()
                            self.cut()
                            return
                    if downstream:
                        self.downstream += len(data)
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.transport.abort()  # type: ignore[attr-defined]

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))


def login_mechanism(caplog: Any, user: Any) -> str:
    """The SASL mechanism ``user`` last logged in with, from the gateway's DEBUG line
    (the test sets ``caplog`` to DEBUG for ``tidings.gateways.xmpp``)."""
    found = [
        record.mechanism
        for record in caplog.records
        if getattr(record, "mechanism", None) and getattr(record, "user_id", None) == user.id
    ]
    assert found, f"no login of user {user.id} in the gateway's log"
    return str(found[-1])
