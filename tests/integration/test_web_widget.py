"""The web chat widget (``/widget.js``) on a customer's page, end to end.

A plain page on another origin (another port) includes the script; in Debian's
Chromium (playwright-core, ``tests/js/console/widget_flow.mjs``) a signed-in
customer sends a message and a file, an agent in another browser context sees the
ticket arrive live in the console and replies, and the customer sees the reply and
the bubble's unread badge without a reload. Then the customer's phone (the
service-desk SDK's requests, with the same external user id) reads the same
history. Anonymous visitors in other browser contexts, a wrong security key and
CORS for the service-desk paths only are checked too (wire spec §3, §7, §12).
"""

from __future__ import annotations

import os
import secrets
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.browser import HARNESS, ROOT, run_flow
from tests.integration.local_http import LocalHttpServer
from tests.integration.servicedesk_sdk import DeskDevice
from tests.integration.test_servicedesk_auth import USERS, AuthService

DANA, DANA_KEY = "ext-42", USERS["ext-42"]
OTHER, OTHER_KEY = "ext-43", USERS["ext-43"]
AGENT_PASSWORD = "agent-password-1"


@pytest.fixture
async def widget_apps(server: Any) -> Any:
    """An app with external authorization (the customer's auth service answering on
    127.0.0.1) and an agent, and an app for anonymous visitors."""
    async with LocalHttpServer(AuthService()) as auth:
        shop = await server.new_app("Acme Outdoor")
        shop = await server.core.apps.update_app(
            shop.id,
            auth_url=auth.url + "/check",
            config={
                "welcome_message": "Hi! How can we help you today?",
                "org_name": "Acme Outdoor",
                "org_description": "We answer 9-18 UTC",
            },
        )
        # The agents' avatar: a public file the app's config names (wire spec §8).
        _, _, token = await server.new_user(shop)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            uploaded = await http.post(
                "/api/v1/files",
                params={"name": "ivy.png", "public": "true"},
                content=tiny_png(),
                headers={"Authorization": f"Bearer {token}"},
            )
        assert uploaded.status_code in (200, 201), uploaded.text
        shop = await server.core.apps.update_app(
            shop.id, config={"agent_avatar_id": uploaded.json()["id"]}
        )
        open_app = await server.new_app("Acme Guests")
        open_app = await server.core.apps.update_app(
            open_app.id, config={"welcome_message": "Hello, guest!"}
        )
        email = f"ivy-{secrets.token_hex(4)}@example.com"
        await server.core.users.create_user(
            shop.id,
            login=email,
            email=email,
            password=AGENT_PASSWORD,
            full_name="Ivy",
            role="agent",
        )
        yield shop, open_app, email


def tiny_png() -> bytes:
    """A 2x2 PNG (RFC 2083): signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = b"".join(b"\x00" + b"\x8a\x3f\xd1" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


@pytest.mark.slow
async def test_visitor_chats_with_an_agent_and_the_phone_sees_it(
    server: Any, widget_apps: Any
) -> None:
    shop, open_app, agent_email = widget_apps
    # Refresh docs/screenshots/widget*.png only when asked (as the console test does).
    wanted = os.environ.get("TIDINGS_SCREENSHOTS") == "1" and server.backend == "sqlite"
    result = await run_flow(
        HARNESS / "widget_flow.mjs",
        {
            "BASE_URL": server.base_url,
            "AUTH_APP_ID": shop.desk_app_id,
            "OPEN_APP_ID": open_app.desk_app_id,
            "AGENT_EMAIL": agent_email,
            "AGENT_PASSWORD": AGENT_PASSWORD,
            "USER_ID": DANA,
            "SECURITY_KEY": DANA_KEY,
            "OTHER_USER_ID": OTHER,
            "OTHER_SECURITY_KEY": OTHER_KEY,
            "SCREENSHOT_DIR": str(ROOT / "docs" / "screenshots") if wanted else "",
        },
        limit=180,
    )
    steps = result["steps"]

    sent = steps["visitor_sent"]
    assert sent["welcome"] == "Hi! How can we help you today?"  # applications[].welcome_message
    assert sent["focused"] == "Message"  # opening the chat focuses the input
    # The widget called the API across origins, from the customer's page.
    assert sent["origins"] == [sent["page_origin"]]
    assert sent["texts"] == ["Hi! Where is order #1042? It was due yesterday."]

    seen = steps["agent_saw_ticket"]
    assert seen["no_reload"] is True
    ticket_id = seen["ticket_id"]

    got = steps["visitor_got_reply"]
    assert got["badge"] == "1" and got["bubble_label"] == "Open chat, 1 unread"
    assert got["no_reload"] is True
    assert got["focus_after_close"] == "tdw-bubble"
    assert got["author"] == "Ivy" and got["header"] == "Ivy"
    assert got["avatar"] == 2  # the app's agent_avatar_id, loaded from Avatar/{id}
    assert got["unread_after_open"] == 0
    assert got["download"] == {
        "name": "invoice-1042.txt",
        "body": "Invoice 1042: Trail Runner 2, size 42\n",
    }
    assert steps["phone_width"]["width"] == 390  # the open chat fills a phone's screen

    # The customer's phone, same external user id: the same ticket and history,
    # the file downloadable, and read (the widget marked it read).
    phone = DeskDevice(server.base_url, shop.desk_app_id, user_id=DANA, security_key=DANA_KEY)
    (ticket,) = (await phone.sync())["tickets"]
    assert ticket["ticket_id"] == ticket_id
    comments = ticket["comments"]
    assert [c["is_inbound"] for c in comments] == [True, True, False]
    assert comments[0]["body"] == "Hi! Where is order #1042? It was due yesterday."
    assert comments[0]["author"]["name"] == "Dana Customer"
    (attachment,) = comments[1]["attachments"]
    assert attachment["name"] == "invoice-1042.txt"
    assert comments[2]["body"] == "Thanks, Dana! Order #1042 ships today."
    assert ticket["is_read"] is True
    file = await phone.http.get(
        phone.url + f"DownloadFile/{attachment['id']}", params=phone.download_query()
    )
    assert file.status_code == 200 and file.content.startswith(b"Invoice 1042")
    await phone.aclose()

    # identify(): an anonymous visitor of an app with external authorization is
    # refused; once identified as another user, they see only their own (empty) chat;
    # a wrong key is refused by the auth service (403) and shows nothing.
    ident = steps["identify"]
    assert ident["anonymous_statuses"] == [403]
    assert ident["anonymous_notice"] == "Please sign in to chat with us."
    assert ident["other_user_sees"] == ["Hi! How can we help you today?"]
    assert ident["wrong_key"] == "refused: authorization refused"
    assert ident["wrong_key_statuses"] == [403] and ident["wrong_key_messages"] == 0
    assert "could not verify" in ident["wrong_key_notice"]
    assert ident["malformed"] == "TypeError"
    wrong = steps["wrong_key_attribute"]
    assert wrong["statuses"] == [403] and wrong["messages"] == 0
    assert wrong["input_disabled"] is True and "could not verify" in wrong["notice"]

    # Anonymous visitors: the chat survives a reload (localStorage), another browser
    # context (another localStorage) starts empty, and the server agrees.
    anon = steps["anonymous"]
    carol_said = 'Anonymous question from Carol <img src=x onerror="window.__xss=1"> <b>bold?</b>'
    assert anon["carol_after_reload"] == [carol_said]
    assert anon["injected_elements"] == 0 and anon["xss"] is False  # markup stays text
    assert anon["erin_sees"] == ["Hello, guest!"]
    carol_id, erin_id = anon["carol_device"], anon["erin_device"]
    assert len(carol_id) == 32 and len(erin_id) == 32 and carol_id != erin_id
    carol = DeskDevice(server.base_url, open_app.desk_app_id, instance_id=carol_id)
    erin = DeskDevice(server.base_url, open_app.desk_app_id, instance_id=erin_id)
    (carol_ticket,) = (await carol.sync())["tickets"]
    assert carol_ticket["comments"][0]["body"] == carol_said
    assert (await erin.sync())["tickets"] == []
    # Carol's device id on the other app (another tenant) is nobody there.
    elsewhere = await DeskDevice(server.base_url, shop.desk_app_id, instance_id=carol_id).sync_raw()
    assert elsewhere.status_code == 403
    await carol.aclose()
    await erin.aclose()


PREFLIGHT = {
    "Origin": "https://shop.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


async def test_cors_answers_only_the_service_desk_and_widget_paths(server: Any) -> None:
    """Fetch standard, CORS protocol: preflights and ``Access-Control-Allow-Origin: *``
    (never with credentials) on ``/servicedeskapi/v1/*`` and ``/widget.js`` only."""
    app = await server.new_app("cors")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        for path in ("/servicedeskapi/v1/gettickets", "/ServiceDeskApi/v1/UploadFile/"):
            answer = await http.options(path, headers=PREFLIGHT)
            assert answer.status_code == 204, path
            assert answer.headers["access-control-allow-origin"] == "*"
            assert "POST" in answer.headers["access-control-allow-methods"]
            assert answer.headers["access-control-allow-headers"].lower() == "content-type"
            assert "access-control-allow-credentials" not in answer.headers

        # Other APIs get no CORS from this: no preflight answer, no header.
        for path in ("/api/v1/users/me", "/console/inbox", "/genesys/1/service/x"):
            answer = await http.options(path, headers=PREFLIGHT)
            assert "access-control-allow-origin" not in answer.headers, path
        plain = await http.get("/health", headers={"Origin": "https://shop.example"})
        assert "access-control-allow-origin" not in plain.headers

        # A method or header these paths never take: refused, with a reason.
        for extra in (
            {"Access-Control-Request-Method": "DELETE"},
            {"Access-Control-Request-Headers": "content-type, x-session-token"},
        ):
            refused = await http.options(
                "/servicedeskapi/v1/gettickets", headers={**PREFLIGHT, **extra}
            )
            assert refused.status_code == 400
            assert refused.json()["error"]["code"] == "cors_refused"
            assert "access-control-allow-origin" not in refused.headers

        # Real requests: the answer is readable cross-origin, refusals included.
        origin = {"Origin": "https://shop.example"}
        body = {"app_id": app.desk_app_id, "instance_id": "b" * 32, "version": 2}
        ok = await http.post("/servicedeskapi/v1/gettickets", json=body, headers=origin)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in ok.headers
        assert "Retry-After" in ok.headers["access-control-expose-headers"]
        other_app = {**body, "app_id": "no-such-app"}
        refused = await http.post("/servicedeskapi/v1/gettickets", json=other_app, headers=origin)
        assert refused.status_code == 403
        assert refused.headers["access-control-allow-origin"] == "*"
        garbage = await http.post(
            "/servicedeskapi/v1/gettickets", content=b"{not json", headers=origin
        )
        assert garbage.status_code == 422
        assert garbage.headers["access-control-allow-origin"] == "*"


async def test_widget_script_is_served_as_javascript(server: Any) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        script = await http.get("/widget.js", headers={"Origin": "https://shop.example"})
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.headers["access-control-allow-origin"] == "*"
        assert script.headers["x-content-type-options"] == "nosniff"
        assert b"window.TidingsChat" in script.content
        assert script.content == (ROOT / "src/tidings/widget/static/widget.js").read_bytes()
        again = await http.get("/widget.js", headers={"If-None-Match": script.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert (await http.post("/widget.js")).status_code == 405


def test_widget_ships_with_the_package() -> None:
    """The script is package data, so an installed (non-editable) server serves it."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"widget/static/*"' in pyproject
    assert Path(ROOT / "src/tidings/widget/static/widget.js").stat().st_size > 0
