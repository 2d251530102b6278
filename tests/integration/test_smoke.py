"""The server answers on both backends: health, OpenAPI, a first message."""

from __future__ import annotations

import httpx


async def test_health_and_openapi(server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        health = await http.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        spec = (await http.get("/openapi.json")).json()
        assert "/api/v1/dialogs/{dialog_id}/messages" in spec["paths"]


async def test_first_message(server) -> None:
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    sent = await alice_c.send_message(dialog.id, "hello bob")
    assert sent.seq == 1
    page = await bob_c.history(dialog.id)
    assert [m.body for m in page.items] == ["hello bob"]
    assert (await bob_c.unread()).total == 1
