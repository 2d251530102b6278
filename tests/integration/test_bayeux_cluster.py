"""Bayeux sessions across nodes: two ``tidings serve`` processes on PostgreSQL + Redis.

GMS (docs/gms.md): "with the Redis bus, a client may long-poll any node and still
receive what was published on another". A phone handshakes on node 1 and then
long-polls node 2 (a load balancer without stickiness): the session follows it,
with its subscriptions and anything queued meanwhile, and it gets both a plain
Bayeux publish made on node 1 and a GMS chat notification caused on node 1.
The client is plain httpx speaking Bayeux, so every request can pick its node.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.processes import ServerProcess, run_cli_json
from tidings.cli import _with_core
from tidings.settings import Settings

COMET = "/genesys/cometd"


async def bayeux(http: httpx.AsyncClient, node: str, *messages: dict[str, Any]) -> list[dict]:
    response = await http.post(f"{node}{COMET}", json=list(messages), timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def meta(replies: list[dict], channel: str) -> dict:
    return next(r for r in replies if r["channel"] == channel)


async def connect(http: httpx.AsyncClient, node: str, client_id: str) -> list[dict]:
    """One long-poll; returns its deliveries after checking the connect reply."""
    replies = await bayeux(
        http,
        node,
        {"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"},
    )
    reply = meta(replies, "/meta/connect")
    assert reply["successful"] is True, reply
    return [r for r in replies if not r["channel"].startswith("/meta/")]


async def connect_until(
    http: httpx.AsyncClient, node: str, client_id: str, channel: str
) -> list[dict]:
    """Long-poll until a delivery on ``channel`` arrives (held connects may end empty)."""
    seen: list[dict] = []
    while not any(d["channel"] == channel for d in seen):
        seen += await connect(http, node, client_id)
    return seen


async def handshake(http: httpx.AsyncClient, node: str, ext: dict | None = None) -> str:
    message: dict[str, Any] = {
        "channel": "/meta/handshake",
        "version": "1.0",
        "supportedConnectionTypes": ["long-polling"],
    }
    if ext:
        message["ext"] = ext
    reply = meta(await bayeux(http, node, message), "/meta/handshake")
    assert reply["successful"] is True, reply
    return reply["clientId"]


@pytest.mark.slow
async def test_session_follows_the_client_to_another_node(
    cluster_env: dict[str, str], postgres_url: str, tmp_path: Path
) -> None:
    app = await run_cli_json(cluster_env, "app", "create", f"gms-cluster-{secrets.token_hex(3)}")
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    await _with_core(
        settings,
        lambda core: core.apps.update_app(
            app["app_id"], config={"gms": {"callback_services": ["callback-for-mobile"]}}
        ),
    )
    node1, node2 = await asyncio.gather(
        ServerProcess(cluster_env).start(), ServerProcess(cluster_env).start()
    )
    user = "u-" + secrets.token_hex(4)
    headers = {"gms_user": user, "apikey": app["auth_key"]}
    try:
        async with (
            httpx.AsyncClient(headers=headers) as phone,
            httpx.AsyncClient(headers={"apikey": app["auth_key"]}) as other,
        ):
            # Handshake, first connect and subscriptions on node 1.
            cid = await handshake(phone, node1.url, {"gms_user": user})
            assert await connect(phone, node1.url, cid) == []
            subscribed = await bayeux(
                phone,
                node1.url,
                {
                    "channel": "/meta/subscribe",
                    "clientId": cid,
                    "subscription": ["/rooms/lobby", "/_genesys"],
                },
            )
            assert meta(subscribed, "/meta/subscribe")["successful"] is True

            # The phone long-polls node 2 while another client publishes on node 1.
            poll = asyncio.create_task(connect_until(phone, node2.url, cid, "/rooms/lobby"))
            publisher = await handshake(other, node1.url)
            acked = await bayeux(
                other,
                node1.url,
                {
                    "channel": "/rooms/lobby",
                    "clientId": publisher,
                    "data": {"text": "published on node 1"},
                    "id": "p1",
                },
            )
            assert acked[0]["successful"] is True and acked[0]["id"] == "p1"
            delivered = await poll
            lobby = [d for d in delivered if d["channel"] == "/rooms/lobby"]
            assert lobby == [{"channel": "/rooms/lobby", "data": {"text": "published on node 1"}}]

            # A GMS chat started through node 1 notifies the phone's session, now on node 2.
            poll = asyncio.create_task(connect_until(phone, node2.url, cid, "/_genesys"))
            requested = await phone.post(f"{node1.url}/genesys/1/service/request-chat")
            assert requested.status_code == 200, requested.text
            sid = requested.json()["_id"]
            created = await phone.post(
                f"{node1.url}{requested.json()['_chatIxnAPI-CREATE-URL']}",
                data={"notify_by": "comet", "firstName": "Ana"},
            )
            assert created.status_code == 200, created.text
            notes = [d for d in await poll if d["channel"] == "/_genesys"]
            assert notes[0]["data"]["tag"] == f"service.chat.refresh.{sid}"
            entry = notes[0]["data"]["message"]["transcriptToShow"][0]
            assert entry[:3] == ["Notice.Joined", "Ana", "has joined the session"]

            # And back: the session returns to node 1 and hears a publish made on node 2.
            poll = asyncio.create_task(connect_until(phone, node1.url, cid, "/rooms/lobby"))
            second = await handshake(other, node2.url)
            await bayeux(
                other,
                node2.url,
                {"channel": "/rooms/lobby", "clientId": second, "data": {"text": "from node 2"}},
            )
            lobby = [d for d in await poll if d["channel"] == "/rooms/lobby"]
            assert lobby == [{"channel": "/rooms/lobby", "data": {"text": "from node 2"}}]

            # A client no node knows still gets 402 + handshake advice, from any node.
            unknown = meta(
                await bayeux(
                    phone,
                    node2.url,
                    {"channel": "/meta/connect", "clientId": "nobody", "connectionType": "x"},
                ),
                "/meta/connect",
            )
            assert unknown["error"].startswith("402")
            assert unknown["advice"]["reconnect"] == "handshake"

            # Disconnect on node 2 ends the session everywhere.
            bye = await bayeux(phone, node2.url, {"channel": "/meta/disconnect", "clientId": cid})
            assert meta(bye, "/meta/disconnect")["successful"] is True
            gone = meta(
                await bayeux(
                    phone,
                    node1.url,
                    {
                        "channel": "/meta/connect",
                        "clientId": cid,
                        "connectionType": "long-polling",
                    },
                ),
                "/meta/connect",
            )
            assert gone["error"].startswith("402")
    finally:
        await asyncio.gather(node1.stop(), node2.stop())
