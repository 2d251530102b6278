"""Two `tidings serve` processes on one PostgreSQL and one Redis act as one server."""

from __future__ import annotations

import asyncio
import secrets

from tests.integration.processes import ServerProcess, run_cli_json
from tidings.client import RealtimeConnection, TidingsClient


async def test_message_sent_on_node_two_reaches_websocket_on_node_one(cluster_env) -> None:
    """ARCHITECTURE 'events on a bus': a client of node 1 gets, in real time, what a client
    of node 2 sends; presence and read markers cross nodes too."""
    app = await run_cli_json(cluster_env, "app", "create", f"cluster-{secrets.token_hex(3)}")
    for login in ("ann", "ben"):
        await run_cli_json(
            cluster_env,
            "user",
            "create",
            str(app["app_id"]),
            "--login",
            login,
            "--password",
            "secret123",
        )
    node1, node2 = await asyncio.gather(
        ServerProcess(cluster_env).start(), ServerProcess(cluster_env).start()
    )
    try:
        ann = TidingsClient(node1.url)
        ben = TidingsClient(node2.url)
        await ann.login(app["app_id"], "ann", "secret123")
        ben_session = await ben.login(app["app_id"], "ben", "secret123")
        dialog = await ben.create_dialog("private", [(await ann.me()).id])
        async with await RealtimeConnection.connect(ann.ws_url, ann.token) as ann_ws:
            presence = await ben.presence(ann_ws.hello.user_id)
            assert presence.online is True, "node 2 sees a connection held by node 1"
            sent = await ben.send_message(dialog.id, "across the cluster")
            event = await ann_ws.next_event("message.created", timeout=10)
            assert event.data["message"]["id"] == sent.id
            assert event.data["message"]["body"] == "across the cluster"
            await ann_ws.mark_read(dialog.id, sent.id)
            async with await RealtimeConnection.connect(ben.ws_url, ben.token) as ben_ws:
                assert ben_ws.hello.user_id == ben_session.user_id
                reply = await ann_ws.send_message(dialog.id, "and back")
                event = await ben_ws.next_event("message.created", timeout=10)
                assert event.data["message"]["id"] == reply.id
        page = await ben.history(dialog.id)
        assert [m.body for m in page.items] == ["across the cluster", "and back"]
        await ann.aclose()
        await ben.aclose()
    finally:
        await asyncio.gather(node1.stop(), node2.stop())
