"""Tenants and owners on the GMS and Bayeux gateways: a BOLA matrix.

Two anonymous phones of app 1 (A and B) and one anonymous phone of app 2 (C), each
doing what the GMS samples do (gms-callback-chat-wire §1.3, §7): REST with httpx and
the app's ``apikey``; a chat callback whose StartChat dialog hands out the phone's
``_user_header``, sent as ``gms_user`` from then on; Comet with aiocometd-ng on
``/_genesys``; a Chat v2 chat as well. An agent of each app answers each chat.

Then every GMS endpoint (service get/end, callback get/list/reschedule/cancel,
dialog actions, Chat v1, Chat v2 REST and over CometD) and every Bayeux operation
(handshake, connect, subscribe, publish, disconnect, over HTTP and WebSocket) is
tried by each phone with another phone's ids and its own credentials, and with no
key or a wrong key: each attempt is refused (401 / 404 / ``statusCode`` 2 /
``402``/``403``) or sees nothing, and in the end each phone has received exactly
its own chat and its chats are untouched. The npm ``cometd`` client checks the
Bayeux tenant boundary the same way (bayeux-server §3.6, §5.4).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets
from aiocometd_ng import Client, ConnectionType
from aiocometd_ng.exceptions import ServerError
from aiocometd_ng.extensions import Extension

from tests.conftest import TestServer
from tests.integration.delivery_fakes import eventually
from tests.integration.test_bayeux_cometd_js import HERE, _need_node
from tidings.domain.models import Actor, App
from tidings.gateways.gms.protocol import iso_ms

SVC = "callback-for-mobile"
BASE = "/genesys/1/service"
V2 = "/genesys/2/chat/customer-support"
COMET = "/genesys/cometd"
CHAT_V2 = "/service/chatV2/customer-support"
ACTIONS = (
    "get-dialog-start-chat",
    "get-dialog-user-confirmation-provide_code-true",
    "connect",
    "connect-inbound",
    "connect-outbound",
    "wait-for-agent",
    "snooze",
    "cancel",
    "check-queue-position",
)
V1_OPS = ("", "/send", "/refresh", "/startTyping", "/stopTyping", "/disconnect")
V2_OPS = ("refresh", "send", "startTyping", "stopTyping", "disconnect")


class Credentials(Extension):
    """What a GMS phone puts on every Comet request (§7.1)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    async def outgoing(self, payload: list, headers: dict) -> None:
        headers.update(self.headers)

    async def incoming(self, payload: list, headers: dict | None = None) -> None:
        return None


@dataclass
class Phone:
    name: str
    app: App
    number: str
    user: str = ""
    sid: str = ""
    chat_id: str = ""
    secure_key: str = ""
    comet: Client | None = None
    inbox: list[dict] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        out = {"apikey": self.app.auth_key}
        if self.user:
            out["gms_user"] = self.user
        return out

    def notes(self) -> list[dict]:
        return [m for m in self.inbox if m["channel"] == "/_genesys"]

    def texts(self) -> list[str]:
        return [
            entry[2]
            for note in self.notes()
            for entry in note["data"]["message"]["transcriptToShow"]
        ]

    async def until(self, check: Callable[[list[dict]], bool], what: str) -> None:
        await eventually(lambda: check(self.inbox), what=f"{self.name}: {what}")


class Tally:
    """Attempts made with someone else's ids, and how many were refused."""

    def __init__(self) -> None:
        self.tried = 0
        self.refused = 0

    def check(self, ok: bool, what: str) -> None:
        self.tried += 1
        assert ok, what
        self.refused += 1


@contextlib.asynccontextmanager
async def comet_of(server: TestServer, phone: Phone) -> AsyncIterator[None]:
    """The phone's Comet session on ``/_genesys``, every message kept in its inbox."""
    async with Client(
        server.base_url + COMET,
        connection_types=[ConnectionType.LONG_POLLING],
        extensions=[Credentials(phone.headers)],
    ) as comet:
        phone.comet = comet
        await comet.subscribe("/_genesys")

        async def collect() -> None:
            async for message in comet:
                phone.inbox.append(message)

        task = asyncio.create_task(collect())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def gms_app(server: TestServer, name: str) -> tuple[App, Actor]:
    app = await server.new_app(name)
    app = await server.core.apps.update_app(app.id, config={"gms": {"callback_services": [SVC]}})
    _, agent, _ = await server.new_user(app, role="agent", full_name=f"Agent of {name}")
    return app, Actor(app_id=app.id, user_id=agent.id, role="agent")


async def start_chat_callback(http: httpx.AsyncClient, phone: Phone) -> dict[str, Any]:
    """A chat callback, asked for anonymously (no ``gms_user``): StartChat at once."""
    started = await http.post(
        f"{BASE}/callback/{SVC}",
        headers=phone.headers,
        json={"_customer_number": phone.number, "_media_type": "chat", "first_name": phone.name},
    )
    assert started.status_code == 200, started.text
    dialog = started.json()
    assert dialog["_action"] == "StartChat"
    phone.sid, phone.user = dialog["_id"], dialog["_user_header"]
    return dialog


@pytest.mark.slow
async def test_gms_and_bayeux_tenant_and_owner_matrix(server: TestServer) -> None:
    app1, agent1 = await gms_app(server, "tenancy one")
    app2, agent2 = await gms_app(server, "tenancy two")
    a = Phone("Ana", app1, "+15145550001")
    b = Phone("Bruno", app1, "+15145550002")
    c = Phone("Chloe", app2, "+15145550003")
    phones = (a, b, c)
    agents = {app1.id: agent1, app2.id: agent2}
    tally = Tally()
    async with (
        httpx.AsyncClient(base_url=server.base_url) as http,
        contextlib.AsyncExitStack() as stack,
    ):
        # -- each phone: an anonymous chat callback, Comet, the chat, a v2 chat ------
        dialogs = {p.name: await start_chat_callback(http, p) for p in phones}
        users = [p.user for p in phones]
        assert len(set(users)) == 3, "anonymous phones never share an identity"
        assert all(u.startswith("anon:") and len(u) >= 25 for u in users), users
        for p in phones:
            await stack.enter_async_context(comet_of(server, p))
            created = await http.post(
                dialogs[p.name]["_start_chat_url"],
                headers=p.headers,
                data={"notify_by": "comet", "firstName": p.name},
            )
            assert created.status_code == 200, created.text
            started = (await http.post(V2, headers=p.headers, data={"nickname": p.name})).json()
            assert started["statusCode"] == 0 and started["userId"] == p.user
            p.chat_id, p.secure_key = started["chatId"], started["secureKey"]
        tickets = {}
        for p in phones:
            chat, _ = await server.core.gms_chats.transcript(p.app, p.sid, 0)
            tickets[p.name] = chat.ticket_id
            await server.core.gms_chats.agent_join(agents[p.app.id], chat.ticket_id)
            await server.core.gms_chats.agent_reply(
                agents[p.app.id], chat.ticket_id, f"secret for {p.name}"
            )
        for p in phones:
            await p.until(lambda _, p=p: f"secret for {p.name}" in p.texts(), "its reply")

        # -- GMS REST with another phone's ids --------------------------------------
        future = iso_ms(server.core.now_ms() + 3_600_000)
        for attacker in phones:
            for victim in phones:
                if attacker is victim:
                    continue
                await gms_attempts(http, attacker.headers, victim, future, 404, tally)
            # The attacker lists callbacks: only its own, whatever the filters say.
            for query in ({}, {"operand": "OR", "_id": b.sid, "_customer_number": a.number}):
                listed = await http.get(
                    f"{BASE}/callback/{SVC}", headers=attacker.headers, params=query
                )
                ids = [r["_id"] for r in listed.json()]
                tally.check(listed.status_code == 200 and set(ids) <= {attacker.sid}, str(ids))
            # Without its gms_user an anonymous phone has nothing to list by.
            bare = await http.get(
                f"{BASE}/callback/{SVC}", headers={"apikey": attacker.app.auth_key}
            )
            tally.check(bare.json() == [], bare.text)
        # Another app's key with the victim's very gms_user: still app 2's world.
        impostor = {"apikey": app2.auth_key, "gms_user": a.user}
        await gms_attempts(http, impostor, a, future, 404, tally)
        listed = await http.get(f"{BASE}/callback/{SVC}", headers=impostor)
        tally.check(listed.json() == [], listed.text)
        # No key, or a key no app has: 401 with the §1.5 body, on every endpoint.
        for headers in ({"gms_user": a.user}, {"apikey": "not-a-key", "gms_user": a.user}):
            await gms_attempts(http, headers, a, future, 401, tally)
            listed = await http.get(f"{BASE}/callback/{SVC}", headers=headers)
            body = listed.json()
            tally.check(listed.status_code == 401 and body["code"] == 401, listed.text)
            assert body["exception"].startswith("com.genesyslab") and body["message"]
            started = await http.post(V2, headers=headers, data={"nickname": "x"})
            tally.check(started.status_code == 401, started.text)
            assert started.json()["statusCode"] == 2 and started.json()["chatId"] == ""

        # -- Bayeux with another phone's clientId, and what a session may read ------
        for attacker in phones:
            for victim in phones:
                if attacker is not victim:
                    await bayeux_attempts(server, http, attacker, victim, tally)
        for headers in ({}, {"apikey": "not-a-key"}):
            refused = await bayeux(
                http, headers, {"channel": "/meta/handshake", "version": "1.0", "id": "1"}
            )
            tally.check(refused[0]["error"] == "401::Unauthorized", str(refused))
            assert refused[0]["advice"] == {"reconnect": "none"} and "clientId" not in refused[0]
        with pytest.raises(ServerError, match="401"):
            async with Client(
                server.base_url + COMET, connection_types=[ConnectionType.LONG_POLLING]
            ):
                pass

        # App channels: B (app 1) hears A's broadcast, C (app 2) does not.
        for p in (b, c):
            assert p.comet is not None
            await p.comet.subscribe("/rooms/lobby")
        assert a.comet is not None and c.comet is not None
        await a.comet.publish("/rooms/lobby", {"text": "app 1 lobby"})
        await b.until(lambda box: any(m["channel"] == "/rooms/lobby" for m in box), "the lobby")
        await c.comet.publish("/rooms/lobby", {"text": "app 2 marker"})
        await c.until(lambda box: any(m["channel"] == "/rooms/lobby" for m in box), "its marker")
        # Per-session order: a leaked app 1 broadcast would sit before C's own marker.
        lobby = {
            p.name: [m["data"] for m in p.inbox if m["channel"] == "/rooms/lobby"] for p in (b, c)
        }
        assert lobby == {"Bruno": [{"text": "app 1 lobby"}], "Chloe": [{"text": "app 2 marker"}]}

        # -- after all that: every session alive, every chat untouched -------------
        for p in phones:
            await server.core.gms_chats.agent_reply(
                agents[p.app.id], tickets[p.name], f"after the attacks, {p.name}"
            )
        for p in phones:
            await p.until(lambda _, p=p: f"after the attacks, {p.name}" in p.texts(), "the end")
            # Its v1 chat and its v2 chat (a chat of the same gms_user) are its own.
            tags = {n["data"]["tag"].rsplit(".", 1)[1] for n in p.notes()}
            assert tags == {p.sid, p.chat_id}, (p.name, tags)
            others = [o.name for o in phones if o is not p]
            assert not [t for t in p.texts() if any(name in t for name in others)], p.texts()
            assert not [
                m for m in p.inbox if m["channel"] == "/_genesys" and "forged" in json.dumps(m)
            ]
            record = (await http.get(f"{BASE}/{p.sid}", headers=p.headers)).json()
            assert record["_callback_state"] == "PROCESSING", record
            v1 = (
                await http.post(
                    f"{BASE}/{p.sid}/ixn/chat/refresh",
                    headers=p.headers,
                    data={"transcriptPosition": "0"},
                )
            ).json()
            assert v1["chatIxnState"] == "TRANSCRIPT"
            assert [e[0] for e in v1["transcriptToShow"]] == [
                "Notice.Joined",
                "Notice.Joined",
                "Message.Text",
                "Message.Text",
            ], "nobody typed, wrote or left in this chat but its phone and agent"
            v2 = (
                await http.post(
                    f"{V2}/{p.chat_id}/refresh",
                    headers=p.headers,
                    data={"secureKey": p.secure_key, "transcriptPosition": 1},
                )
            ).json()
            assert v2["chatEnded"] is False
            assert [m["type"] for m in v2["messages"]] == ["ParticipantJoined"]
    print(f"BOLA matrix: {tally.tried} tries with others' ids or keys, {tally.refused} refused")
    assert tally.tried == tally.refused > 400


async def gms_attempts(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    victim: Phone,
    future: str,
    status: int,
    tally: Tally,
) -> None:
    """Every GMS endpoint that takes an id, with the victim's ids and ``headers``."""
    sid = victim.sid
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"{BASE}/{sid}", {}),
        ("DELETE", f"{BASE}/{sid}", {}),
        ("GET", f"{BASE}/callback", {"params": {"_id": sid}}),
        ("GET", f"{BASE}/callback/{SVC}/{sid}", {}),
        ("PUT", f"{BASE}/callback/{SVC}/{sid}", {"json": {"_new_desired_time": future}}),
        ("DELETE", f"{BASE}/callback/{SVC}/{sid}", {}),
    ]
    for action in ACTIONS:
        attempts += [("GET", f"{BASE}/{sid}/{action}", {}), ("POST", f"{BASE}/{sid}/{action}", {})]
    for op in V1_OPS:
        data = {"message": "hijacked", "transcriptPosition": "0", "notify_by": "comet"}
        attempts.append(("POST", f"{BASE}/{sid}/ixn/chat{op}", {"data": data}))
    for method, url, extra in attempts:
        response = await http.request(method, url, headers=headers, **extra)
        tally.check(response.status_code == status, f"{method} {url}: {response.status_code}")
        assert victim.user not in response.text and victim.number not in response.text
    for op in V2_OPS:
        response = await http.post(
            f"{V2}/{victim.chat_id}/{op}",
            headers=headers,
            data={"secureKey": victim.secure_key, "message": "hijacked", "transcriptPosition": 1},
        )
        body = response.json()
        expected = 200 if status == 404 else status
        tally.check(
            response.status_code == expected and body["statusCode"] == 2, f"v2 {op}: {body}"
        )
        assert body["messages"] == [] and body["errors"][0]["code"] == status
        assert victim.secure_key not in response.text


async def bayeux(http: httpx.AsyncClient, headers: dict[str, str], *messages: dict) -> list[dict]:
    response = await http.post(COMET, json=list(messages), headers=headers, timeout=40)
    assert response.status_code == 200, response.text
    return response.json()


async def bayeux_attempts(
    server: TestServer, http: httpx.AsyncClient, attacker: Phone, victim: Phone, tally: Tally
) -> None:
    """Raw Bayeux, as an attacker would write it, with the attacker's own credentials."""
    assert victim.comet is not None
    stolen = victim.comet._transport.client_id  # the test plays a leak of the victim's id
    assert stolen
    for message in (
        {"channel": "/meta/connect", "connectionType": "long-polling", "advice": {"timeout": 0}},
        {"channel": "/meta/subscribe", "subscription": "/rooms/lobby"},
        {"channel": "/meta/unsubscribe", "subscription": "/_genesys"},
        {"channel": "/rooms/lobby", "data": {"text": "as someone else"}},
        {"channel": CHAT_V2, "data": {"operation": "requestNotifications", "secureKey": "x"}},
    ):
        replies = await bayeux(http, attacker.headers, {**message, "clientId": stolen, "id": "7"})
        tally.check(replies[0]["error"] == "402::Unknown client", str(replies))
        assert [r for r in replies if "data" in r] == [], "none of the victim's deliveries"
    bye = await bayeux(http, attacker.headers, {"channel": "/meta/disconnect", "clientId": stolen})
    tally.check(bye[0]["successful"] is True and [r for r in bye if "data" in r] == [], str(bye))

    # The attacker's own session: no wildcard over the server's channels, no forging.
    shake = await bayeux(http, attacker.headers, {"channel": "/meta/handshake", "version": "1.0"})
    own = shake[0]["clientId"]
    for pattern in ("/**", "/*", "/_genesys/**", "/_genesys/*", "/service/**"):
        denied = await bayeux(
            http,
            attacker.headers,
            {"channel": "/meta/subscribe", "clientId": own, "subscription": pattern},
        )
        tally.check(denied[0]["error"] == f"403:{pattern}:Subscription denied", str(denied))
    forged = await bayeux(
        http,
        attacker.headers,
        {"channel": "/_genesys", "clientId": own, "data": {"message": "forged"}},
    )
    tally.check(forged[0]["error"] == "403:/_genesys:Publish denied", str(forged))
    # Chat v2 over CometD with the victim's chat id and even its secureKey.
    for data in (
        {"operation": "sendMessage", "chatId": victim.chat_id, "secureKey": victim.secure_key},
        {"operation": "requestNotifications", "secureKey": victim.secure_key},
        {"operation": "disconnect", "secureKey": victim.secure_key},
    ):
        answer = await bayeux(
            http,
            attacker.headers,
            {"channel": CHAT_V2, "clientId": own, "data": {**data, "message": "hijacked"}},
        )
        delivered = [r["data"] for r in answer if "data" in r]
        tally.check(
            answer[0]["successful"] is True
            and len(delivered) == 1
            and delivered[0]["statusCode"] == 2
            and delivered[0]["messages"] == [],
            str(answer),
        )
    await bayeux(http, attacker.headers, {"channel": "/meta/disconnect", "clientId": own})

    # Over WebSocket: the upgrade's credentials are the attacker's.
    url = server.base_url.replace("http://", "ws://", 1) + COMET
    async with websockets.connect(url, additional_headers=attacker.headers) as ws:
        await ws.send(
            json.dumps(
                {"channel": "/meta/connect", "clientId": stolen, "connectionType": "websocket"}
            )
        )
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        tally.check(frame == [{"channel": "/meta/connect", **frame[0]}], str(frame))
        assert frame[0]["error"] == "402::Unknown client"
        await ws.send(
            json.dumps({"channel": "/meta/subscribe", "clientId": stolen, "subscription": "/x"})
        )
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        tally.check(frame[0]["error"] == "402::Unknown client", str(frame))


@pytest.mark.parametrize("transport", ["websocket", "long-polling"])
async def test_cometd_js_clients_of_other_apps_hear_nothing(
    server: TestServer, transport: str
) -> None:
    """The npm ``cometd`` client: no key or a wrong key -> ``401::Unauthorized`` and no
    session; ``/**``, ``/*``, ``/_genesys/**`` -> ``403`` (bayeux-server §3.6, §5.4); a
    client of app 2 never hears app 1's publish on a channel both subscribed to; nobody
    publishes on ``/_genesys``."""
    _need_node()
    one, two = await server.new_app("js one"), await server.new_app("js two")
    proc = await asyncio.create_subprocess_exec(
        "node",
        "tenancy.mjs",
        server.base_url + COMET,
        transport,
        one.auth_key,
        two.auth_key,
        cwd=HERE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, (out + err).decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["ok"] is True and result["transportA"] == transport
    for name in ("none", "wrong"):
        assert result["refused"][name]["successful"] is False
        assert result["refused"][name]["error"] == "401::Unauthorized"
    assert result["denied"] == {
        "/**": "403:/**:Subscription denied",
        "/*": "403:/*:Subscription denied",
        "/_genesys/**": "403:/_genesys/**:Subscription denied",
    }
    assert result["received"] == {
        "a2": ["app 1: secret", "app 1: end"],
        "c": ["app 2: marker"],
    }
    assert result["forged"] == {"successful": False, "error": "403:/_genesys:Publish denied"}
    assert "wildcard" not in result, result["wildcard"]
    print(f"cometd js over {transport}: app 2 received {len(result['received']['c'])} (its own)")
