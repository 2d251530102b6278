"""Malformed, oversized, misrouted and mistyped requests get precise errors and
change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

API = "/api/v1"


async def _http(server, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=server.base_url + API, headers=headers, timeout=30)


def _error(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


async def test_malformed_json_creates_nothing(server) -> None:
    """A body that is not JSON answers 400 malformed_json; no dialog or message appears."""
    app, alice, token = await server.new_user()
    _, bob, client = await server.new_client(app)
    dialog = await client.create_dialog("private", [alice.id])
    async with await _http(server, token) as http:
        bad = await http.post(
            "/dialogs",
            content=b'{"type": "group", "name": "half',
            headers={"Content-Type": "application/json"},
        )
        assert bad.status_code == 400
        assert _error(bad)["code"] == "malformed_json"
        bad = await http.post(
            f"/dialogs/{dialog.id}/messages",
            content=b'{"body": "hi",}',
            headers={"Content-Type": "application/json"},
        )
        assert bad.status_code == 400
        assert _error(bad)["code"] == "malformed_json"
    me = server.client(token)
    assert [d.id for d in (await me.list_dialogs()).items] == [dialog.id]
    assert (await me.history(dialog.id)).items == []


async def test_json_body_over_the_limit_with_content_length(server) -> None:
    """A declared body over 64 KiB answers 413 too_large (the body limit, not a field's)
    and creates nothing."""
    _app, _user, token = await server.new_user()
    payload = {"type": "group", "name": "big", "custom_data": {"blob": "x" * (70 * 1024)}}
    async with await _http(server, token) as http:
        response = await http.post("/dialogs", json=payload)
    assert response.status_code == 413
    error = _error(response)
    assert error["code"] == "too_large"
    assert error["details"]["limit"] == server.settings.max_body_bytes
    assert (await server.client(token).list_dialogs()).total == 0


async def test_json_body_over_the_limit_streamed(server) -> None:
    """The same body streamed in chunks without Content-Length is refused as well:
    413 too_large, nothing created."""
    _app, _user, token = await server.new_user()
    body = (
        b'{"type": "group", "name": "big", "custom_data": {"blob": "' + b"x" * (70 * 1024) + b'"}}'
    )

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    async with await _http(server, token) as http:
        request = http.build_request(
            "POST", "/dialogs", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in request.headers
        assert request.headers["transfer-encoding"] == "chunked"
        response = await http.send(request)
    assert response.status_code == 413
    error = _error(response)
    assert error["code"] == "too_large"
    assert error["details"]["limit"] == server.settings.max_body_bytes
    assert (await server.client(token).list_dialogs()).total == 0


async def test_streamed_json_body_under_the_limit_is_accepted(server) -> None:
    """A chunked body under the limit is read whole and works."""
    _app, _user, token = await server.new_user()
    body = b'{"type": "group", "name": "streamed", "custom_data": {"blob": "' + b"y" * 20000
    body += b'"}}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    async with await _http(server, token) as http:
        response = await http.post(
            "/dialogs", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 201, response.text
    assert response.json()["custom_data"]["blob"] == "y" * 20000


async def test_unknown_route(server) -> None:
    """A path no route serves answers 404 route_not_found in the error shape."""
    _app, _user, token = await server.new_user()
    async with await _http(server, token) as http:
        response = await http.get("/no/such/thing")
    assert response.status_code == 404
    assert _error(response)["code"] == "route_not_found"


async def test_wrong_method(server) -> None:
    """A known path with a method it does not take answers 405 method_not_allowed."""
    _app, _user, token = await server.new_user()
    async with await _http(server, token) as http:
        response = await http.put("/sessions", json={})
        assert response.status_code == 405
        assert _error(response)["code"] == "method_not_allowed"
        assert "POST" in response.headers.get("allow", "")
        response = await http.delete("/users")
        assert response.status_code == 405
        assert _error(response)["code"] == "method_not_allowed"


async def test_wrong_typed_fields(server) -> None:
    """Fields of the wrong type answer 400 invalid_input naming each bad field."""
    _app, _user, token = await server.new_user()
    async with await _http(server, token) as http:
        response = await http.post(
            "/dialogs", json={"type": "group", "name": 5, "occupant_ids": "everyone"}
        )
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid_input"
    locations = {tuple(e["location"]) for e in error["details"]["errors"]}
    assert ("body", "name") in locations
    assert ("body", "occupant_ids") in locations
    assert all(e["problem"] for e in error["details"]["errors"])
    assert (await server.client(token).list_dialogs()).total == 0


async def test_wrong_typed_query_and_path_values(server) -> None:
    """Bad query values answer 400 invalid_input with details, not 500."""
    _app, _user, token = await server.new_user()
    async with await _http(server, token) as http:
        response = await http.get("/dialogs", params={"limit": "lots"})
        assert response.status_code == 400
        error = _error(response)
        assert error["code"] == "invalid_input"
        assert ["query", "limit"] in [e["location"] for e in error["details"]["errors"]]
        response = await http.get("/users/not-a-number")
        assert response.status_code == 400
        assert _error(response)["code"] == "invalid_input"


async def test_unknown_field_is_refused(server) -> None:
    """An extra field the schema does not know answers 400 invalid_input; nothing created."""
    app, alice, token = await server.new_user()
    _, bob, _ = await server.new_user(app)
    async with await _http(server, token) as http:
        response = await http.post(
            "/dialogs", json={"type": "private", "occupant_ids": [bob.id], "owner": alice.id}
        )
        assert response.status_code == 400
        error = _error(response)
        assert error["code"] == "invalid_input"
        assert ["body", "owner"] in [e["location"] for e in error["details"]["errors"]]
        response = await http.patch("/users/me", json={"role": "admin"})
        assert response.status_code == 400
        assert _error(response)["code"] == "invalid_input"
    assert (await server.client(token).list_dialogs()).total == 0
    assert (await server.client(token).me()).role == "user"
