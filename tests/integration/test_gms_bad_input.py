"""Bad input gets the spec's error and disturbs no one else (bayeux-server §9.5, §9.10;
gms-callback-chat-wire §1.5, §2.3)."""

from __future__ import annotations

import httpx

BASE = "/genesys/cometd"


async def test_malformed_bayeux_bodies_are_http_400(server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for body in (b"[]", b"{not json", b'[{"id":"1"}]'):
            response = await http.post(
                BASE, content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400 and response.content == b""


async def test_raw_ddcomet_emulation_one_message_per_post(server) -> None:
    """§9.5: long-polling only, connect without connectionType/id, separate POSTs."""
    app = await server.new_app("ddcomet")
    headers = {"apikey": app.auth_key}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        shake = (
            await http.post(
                BASE + "/handshake",
                json={
                    "channel": "/meta/handshake",
                    "version": "1.0",
                    "supportedConnectionTypes": ["long-polling"],
                },
            )
        ).json()[0]
        assert shake["successful"] is True
        cid = shake["clientId"]
        first = (
            await http.post(BASE + "/connect", json={"channel": "/meta/connect", "clientId": cid})
        ).json()
        assert first == [
            {
                "channel": "/meta/connect",
                "successful": True,
                "advice": {"reconnect": "retry", "interval": 0, "timeout": 30000},
            }
        ]
        sub = await http.post(
            BASE,
            json={
                "id": "2",
                "channel": "/meta/subscribe",
                "clientId": cid,
                "subscription": "/dd/room",
            },
        )
        assert sub.headers["content-type"] == "application/json;charset=UTF-8"
        assert sub.json() == [
            {
                "id": "2",
                "channel": "/meta/subscribe",
                "successful": True,
                "subscription": "/dd/room",
            }
        ]
        published = (
            await http.post(
                BASE, json={"id": "3", "channel": "/dd/room", "clientId": cid, "data": {"hi": 1}}
            )
        ).json()
        assert published[0] == {"id": "3", "channel": "/dd/room", "successful": True}
        # The delivery is piggybacked on the publish response or waits for the next connect.
        rest = (
            published[1:]
            or (
                await http.post(
                    BASE + "/connect",
                    json={"channel": "/meta/connect", "clientId": cid},
                    timeout=40,
                )
            ).json()[:-1]
        )
        assert rest == [{"channel": "/dd/room", "data": {"hi": 1}}]
        gone = (
            await http.post(
                BASE,
                json={
                    "id": "9",
                    "channel": "/meta/disconnect",
                    "clientId": "nobody",
                    "ext": {"transcriptPosition": "4"},
                },
            )
        ).json()
        assert gone == [{"id": "9", "channel": "/meta/disconnect", "successful": True}]


async def test_unknown_gms_service_and_action(server) -> None:
    app = await server.new_app("gms bad input")
    await server.core.apps.update_app(app.id, config={"gms": {}})
    headers = {"apikey": app.auth_key, "gms_user": "u-bad"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        unknown = await http.post("/genesys/1/service/NOSUCHSERVICE0000000000000000000/connect")
        assert unknown.status_code == 404
        assert unknown.json()["code"] == 404 and unknown.json()["exception"].endswith("Exception")
        missing = await http.post("/genesys/1/service/callback/callback-for-mobile", json={})
        assert (
            missing.status_code == 400
            and missing.json()["message"] == "_customer_number is mandatory"
        )
        other = await http.post("/genesys/1/service/callback/nope", json={"_customer_number": "1"})
        assert other.status_code == 404
        assert other.json()["exception"].endswith("CallbackExceptionResource")
        cb = (
            await http.post(
                "/genesys/1/service/callback/callback-for-mobile/",
                data={
                    "_customer_number": "+1555",
                    "_call_direction": "USERORIGINATED",
                    "_provide_code": "true",
                },
            )
        ).json()
        assert cb["_action"] == "DialNumber" and cb["_tel_url"].startswith("tel:+")
        assert (await http.get(f"/genesys/1/service/{cb['_id']}/dance")).status_code == 404
        menu = (
            await http.get(
                f"/genesys/1/service/{cb['_id']}/get-dialog-user-confirmation-provide_code-true"
            )
        ).json()
        assert menu["_action"] == "DisplayMenu"
        items = menu["_content"][0]["_group_content"]
        assert [i["_user_action_url"].rsplit("/", 1)[1] for i in items] == [
            "connect",
            "snooze",
            "cancel",
        ]
        assert all(i["_action"] == "MenuItem" for i in items)
        assert items[0]["confirmation_dialog"]["_dismiss_timeout"] == 2
        assert (
            await http.delete(f"/genesys/1/service/callback/callback-for-mobile/{cb['_id']}")
        ).json() == {}
        found = (
            await http.get(
                "/genesys/1/service/callback/callback-for-mobile",
                params={"_customer_number": "+1555"},
            )
        ).json()
        assert [(r["_callback_state"], r["_callback_reason"]) for r in found] == [
            ("COMPLETED", "CANCELLED")
        ]
