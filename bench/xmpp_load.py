"""One asyncio load generator for tidings, Prosody and ejabberd, over XMPP on TCP.

Its own minimal client (expat, no stanza objects, no plugins) so the driver costs
less per message than any server it measures: a full XMPP library would spend
more CPU per stanza than the servers do, and the benchmark would time the driver.
It speaks only what the scenarios need: STARTTLS when the server insists (tidings
does), SASL PLAIN, in-band registration (XEP-0077, to create users on the peers),
resource binding, initial presence, 1-1 chat, MUC join and groupchat.

Every measured message carries ``<send time ns> <sequence>`` in its body, so the
receiver computes the end-to-end latency and checks exactly-once delivery: a
duplicate is an assertion failure wherever it happens.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import itertools
import ssl
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

STREAM_NS = "http://etherx.jabber.org/streams"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind"
MUC_NS = "http://jabber.org/protocol/muc"
READ_SIZE = 65536


def escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
    )


@dataclass(slots=True)
class Node:
    """A received element: just enough tree to read features, iq results and bodies."""

    name: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def find(self, name: str) -> Node | None:
        for child in self.children:
            if child.name == name:
                return child
        return None


class XmppError(RuntimeError):
    pass


class StreamParser:
    """Feeds bytes to expat; calls ``on_element`` with each complete top-level element.

    Namespace handling is off (names keep their prefixes) because the driver never
    needs namespaces to tell its few elements apart, and it halves the parse cost.
    """

    def __init__(self, on_element: Callable[[Node], None]) -> None:
        self.on_element = on_element
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.stack: list[Node] = []
        self.stream_attrs: dict[str, str] | None = None

    def feed(self, data: bytes) -> None:
        self.parser.Parse(data, False)

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if self.stream_attrs is None:
            self.stream_attrs = attrs
            return
        node = Node(name, attrs)
        if self.stack:
            self.stack[-1].children.append(node)
        self.stack.append(node)

    def _end(self, name: str) -> None:
        if not self.stack:
            raise XmppError("server closed the stream")
        node = self.stack.pop()
        if not self.stack:
            self.on_element(node)

    def _text(self, data: str) -> None:
        if self.stack:
            self.stack[-1].text += data


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One context for all clients: loading the default CA store costs ~20 ms each time."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class Account:
    """Who logs in where: ``username`` is the SASL authcid, ``jid`` the bare JID."""

    username: str
    password: str
    jid: str


class Client:
    """One XMPP connection. ``on_message`` sees every ``<message>`` after login."""

    def __init__(self, host: str, port: int, domain: str, *, tls: bool = False) -> None:
        self.host, self.port, self.domain = host, port, domain
        #: STARTTLS even when not marked required (tidings refuses PLAIN in the clear).
        self.tls = tls
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.inbox: asyncio.Queue[Node] = asyncio.Queue()
        self.on_message: Callable[[Node], None] | None = None
        self.full_jid = ""
        self._reader_task: asyncio.Task[None] | None = None
        self._parser: StreamParser | None = None
        self._ids = 0

    # -- plumbing -------------------------------------------------------------------------
    def _deliver(self, node: Node) -> None:
        if node.name == "message" and self.on_message is not None:
            self.on_message(node)
        elif node.name == "iq" and node.attrs.get("type") == "get":
            # Answer pings and anything else with an empty result, so no server
            # closes the stream for an unanswered iq during a long run.
            self.send_raw(
                f"<iq type='result' id='{escape(node.attrs.get('id', ''))}'"
                f" to='{escape(node.attrs.get('from', self.domain))}'/>"
            )
        elif node.name == "presence" and self.on_message is not None:
            return
        else:
            self.inbox.put_nowait(node)

    def send_raw(self, data: str) -> None:
        assert self.writer is not None
        self.writer.write(data.encode())

    async def _open(self) -> Node:
        """Send a stream header; the next element is ``<stream:features>``."""
        self._parser = StreamParser(self._deliver)
        self.send_raw(
            f"<?xml version='1.0'?><stream:stream to='{self.domain}' version='1.0' "
            f"xmlns='jabber:client' xmlns:stream='{STREAM_NS}'>"
        )
        return await self.expect("stream:features")

    async def _read_loop(self) -> None:
        assert self.reader is not None
        while True:
            data = await self.reader.read(READ_SIZE)
            if not data:
                self.inbox.put_nowait(Node("eof", {}))
                return
            assert self._parser is not None
            try:
                self._parser.feed(data)
            except (expat.ExpatError, XmppError) as exc:
                self.inbox.put_nowait(Node("eof", {"error": str(exc)}))
                return

    async def expect(self, name: str, timeout: float = 60) -> Node:  # noqa: ASYNC109
        node = await asyncio.wait_for(self.inbox.get(), timeout)
        if node.name != name:
            raise XmppError(f"expected <{name}>, got <{node.name} {node.attrs}> {node.children}")
        return node

    def next_id(self) -> str:
        self._ids += 1
        return f"b{self._ids}"

    async def connect(self, source: str | None = None) -> Node:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=(source, 0) if source else None, limit=1 << 20
        )
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())
        features = await self._open()
        starttls = features.find("starttls")
        if starttls is not None and (
            self.tls or starttls.find("required") is not None or features.find("mechanisms") is None
        ):
            features = await self._start_tls()
        return features

    async def _start_tls(self) -> Node:
        """STARTTLS only because the server insists; certificates are not checked (loopback)."""
        assert self.writer is not None and self._reader_task is not None
        self.send_raw(f"<starttls xmlns='{TLS_NS}'/>")
        await self.expect("proceed")
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader_task
        await self.writer.drain()
        await self.writer.start_tls(_tls_context(), server_hostname=self.domain)
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())
        return await self._open()

    # -- account --------------------------------------------------------------------------
    async def register(self, username: str, password: str) -> None:
        """XEP-0077 in-band registration on a fresh stream (the peers only)."""
        await self.connect()
        self.send_raw(
            f"<iq type='set' id='reg'><query xmlns='jabber:iq:register'>"
            f"<username>{escape(username)}</username><password>{escape(password)}</password>"
            f"</query></iq>"
        )
        reply = await self.expect("iq")
        if reply.attrs.get("type") != "result":
            error = reply.find("error")
            conflict = error is not None and error.find("conflict") is not None
            if not conflict:
                raise XmppError(f"registration of {username} failed: {reply}")
        await self.close()

    async def login(self, account: Account, source: str | None = None) -> None:
        """Connect, authenticate, bind and send initial presence (so messages route here)."""
        features = await self.connect(source)
        mechanisms = features.find("mechanisms")
        names = [m.text for m in mechanisms.children] if mechanisms else []
        if "PLAIN" not in names:
            raise XmppError(f"server does not offer PLAIN: {names}")
        token = base64.b64encode(f"\0{account.username}\0{account.password}".encode()).decode()
        self.send_raw(f"<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{token}</auth>")
        result = await self.expect("success")
        del result
        await self._open()
        self.send_raw(
            f"<iq type='set' id='bind'><bind xmlns='{BIND_NS}'><resource>bench</resource>"
            f"</bind></iq>"
        )
        bound = await self.expect("iq")
        bind = bound.find("bind")
        jid = bind.find("jid") if bind else None
        if jid is None:
            raise XmppError(f"bind failed: {bound}")
        self.full_jid = jid.text
        self.send_raw("<presence/>")

    async def join_room(self, room: str, nick: str) -> None:
        """Join a MUC room and wait for the self-presence (the peers need a join to deliver)."""
        self.send_raw(f"<presence to='{room}/{escape(nick)}'><x xmlns='{MUC_NS}'/></presence>")
        while True:
            node = await self.expect_any(("presence",))
            if node.attrs.get("from", "").lower() == f"{room}/{nick}".lower():
                if node.attrs.get("type") == "error":
                    raise XmppError(f"join {room} failed: {node}")
                return

    async def expect_any(self, names: tuple[str, ...], timeout: float = 60) -> Node:  # noqa: ASYNC109
        while True:
            node = await asyncio.wait_for(self.inbox.get(), timeout)
            if node.name in names:
                return node
            if node.name == "eof":
                raise XmppError(f"stream ended: {node.attrs}")

    async def close(self) -> None:
        if self.writer is None:
            return
        with contextlib.suppress(Exception):
            self.send_raw("</stream:stream>")
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 5)
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(BaseException):
                await self._reader_task
        self.writer = None


# -- measurements --------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Tally:
    """Received measured messages per receiver; asserts each arrives at most once."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()
        self.latencies_ms: list[float] = []
        self.last_ns = 0
        self.changed = asyncio.Event()

    def handler(self, receiver: int) -> Callable[[Node], None]:
        def on_message(node: Node) -> None:
            if node.attrs.get("type") == "error":
                raise AssertionError(f"message bounced: {node}")
            body = node.find("body")
            if body is None or not body.text.startswith("t"):
                return
            now = time.perf_counter_ns()
            sent_ns, seq = body.text[1:].split(" ", 2)[:2]
            key = (receiver, int(seq))
            assert key not in self.seen, f"message {seq} arrived twice at receiver {receiver}"
            self.seen.add(key)
            self.latencies_ms.append((now - int(sent_ns)) / 1e6)
            self.last_ns = now
            self.changed.set()

        return on_message

    async def wait_for(self, count: int, timeout: float) -> bool:  # noqa: ASYNC109
        """True once ``count`` deliveries arrived; False if none arrived for ``timeout`` s."""
        while len(self.seen) < count:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), timeout)
            except TimeoutError:
                return False
        return True


def body(seq: int) -> str:
    return f"t{time.perf_counter_ns()} {seq} bench"


@dataclass
class RateResult:
    offered: float
    sent: int
    delivered: int
    delivered_rate: float
    p50_ms: float
    p99_ms: float
    lost: int

    @property
    def sustained(self) -> bool:
        return self.lost == 0 and self.delivered_rate >= 0.9 * self.offered


_RUNS = itertools.count()


async def chat_at_rate(
    pairs: list[tuple[Client, Client]], rate: float, seconds: float, drain: float = 10.0
) -> RateResult:
    """Senders send 1-1 chat at ``rate`` messages/s in total for ``seconds``; wait for all.

    Sending is paced in 10 ms ticks from one task, so the offered load does not depend
    on how many pairs there are; receivers count and time every message.
    """
    tally = Tally()
    for index, (_sender, receiver) in enumerate(pairs):
        receiver.on_message = tally.handler(index)
    targets = [receiver.full_jid.split("/")[0] for _s, receiver in pairs]
    # Stanza ids unique across runs (RFC 6120 §8.1.3): a server may take a repeated
    # id from the same sender for a retry and deliver it once (tidings does).
    run = next(_RUNS)
    total = max(1, int(rate * seconds))
    tick = 0.01
    loop = asyncio.get_running_loop()
    started = loop.time()
    start_ns = time.perf_counter_ns()
    seq = 0
    while seq < total:
        due = min(total, int((loop.time() - started) * rate) + 1)
        while seq < due:
            index = seq % len(pairs)
            sender = pairs[index][0]
            sender.send_raw(
                f"<message to='{targets[index]}' type='chat' id='m{run}-{seq}'>"
                f"<body>{body(seq)}</body></message>"
            )
            seq += 1
        await asyncio.sleep(tick)
    await asyncio.gather(*(s.writer.drain() for s, _r in pairs if s.writer is not None))
    await tally.wait_for(total, drain)
    lost = total - len(tally.seen)
    elapsed = max(1e-9, (tally.last_ns - start_ns) / 1e9)
    for _s, receiver in pairs:
        receiver.on_message = None
    return RateResult(
        offered=rate,
        sent=total,
        delivered=len(tally.seen),
        delivered_rate=len(tally.seen) / elapsed,
        p50_ms=percentile(tally.latencies_ms, 0.5),
        p99_ms=percentile(tally.latencies_ms, 0.99),
        lost=lost,
    )


async def fan_out(
    sender: Client,
    members: list[Client],
    room: str,
    messages: int,
    timeout: float = 60,  # noqa: ASYNC109
) -> tuple[list[float], list[float]]:
    """Send ``messages`` groupchats one at a time; every member must get each exactly once.

    Closed loop (the next message goes once the last delivery of the previous arrived),
    so the numbers are per message, not queueing under overload. Returns per-delivery
    latencies and the per-message time until the last member had it.
    """
    tally = Tally()
    for index, member in enumerate(members):
        member.on_message = tally.handler(index)
    latencies: list[float] = []
    last_member: list[float] = []
    run = next(_RUNS)  # unique ids across runs, as in chat_at_rate
    for seq in range(messages):
        mark = len(tally.latencies_ms)
        sender.send_raw(
            f"<message to='{room}' type='groupchat' id='g{run}-{seq}'>"
            f"<body>{body(seq)}</body></message>"
        )
        arrived = await tally.wait_for((seq + 1) * len(members), timeout)
        assert arrived, f"groupchat {seq}: {(seq + 1) * len(members) - len(tally.seen)} lost"
        batch = tally.latencies_ms[mark:]
        latencies.extend(batch)
        last_member.append(max(batch))
    for member in members:
        member.on_message = None
    return latencies, last_member


async def connect_many(
    host: str,
    port: int,
    domain: str,
    accounts: list[Account],
    *,
    concurrency: int = 50,
    sources: list[str] | None = None,
    tls: bool = False,
) -> list[Client]:
    """Log ``accounts`` in, ``concurrency`` at a time; source addresses rotate past ~28k."""
    clients: list[Client | None] = [None] * len(accounts)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, account: Account) -> None:
        async with gate:
            client = Client(host, port, domain, tls=tls)
            source = sources[index // 20000 % len(sources)] if sources else None
            await client.login(account, source)
            clients[index] = client

    await asyncio.gather(*(one(i, a) for i, a in enumerate(accounts)))
    return [c for c in clients if c is not None]


async def close_all(clients: list[Client]) -> None:
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


def summary(values: list[float]) -> dict[str, Any]:
    """Median and spread (min..max) of repeated runs."""
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan")}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}
