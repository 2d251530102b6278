"""Sessions and users over HTTP: log in and out, token errors, login floods, sign-up,
profiles, lookup, and the wall between apps."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tidings.client.rest import ApiError
from tidings.core.clock import ManualClock

PASSWORD = "correct horse"


def _login() -> str:
    return f"auth-{secrets.token_hex(4)}"


async def test_login_gives_a_token_that_works(server) -> None:
    """A password login answers 201 with a token that opens /users/me for that user."""
    app, user, _token = await server.new_user(login=_login(), password=PASSWORD)
    client = server.client()
    session = await client.login(app.id, user.login, PASSWORD)
    assert session.app_id == app.id
    assert session.user_id == user.id
    assert session.expires_ms > server.core.now_ms()
    assert isinstance(session.token, str) and len(session.token) >= 32
    me = await client.me()
    assert me.id == user.id and me.login == user.login and me.app_id == app.id
    # The answer as sent (the client's User has no such field to hold one).
    raw = await client.request("GET", "/users/me")
    assert "password" not in raw and "password_hash" not in raw
    who = await client.request("GET", "/sessions/current")
    assert who == {"app_id": app.id, "user_id": user.id, "role": "user"}


async def test_wrong_password_and_unknown_login_look_the_same(server) -> None:
    """A wrong password and a login that does not exist both answer 401 bad_credentials,
    so logins cannot be probed."""
    app, user, _ = await server.new_user(login=_login(), password=PASSWORD)
    client = server.client()
    with pytest.raises(ApiError) as wrong:
        await client.login(app.id, user.login, "wrong horse battery")
    with pytest.raises(ApiError) as unknown:
        await client.login(app.id, _login(), PASSWORD)
    assert (wrong.value.status, wrong.value.code) == (401, "bad_credentials")
    assert (unknown.value.status, unknown.value.code) == (401, "bad_credentials")
    assert wrong.value.message == unknown.value.message
    assert client.token is None


async def test_the_right_password_of_another_app_does_not_log_in(server) -> None:
    """Logins are per app: the same login and password against another app is refused."""
    _app, user, _ = await server.new_user(login=_login(), password=PASSWORD)
    other_app = await server.new_app("other")
    with pytest.raises(ApiError) as error:
        await server.client().login(other_app.id, user.login, PASSWORD)
    assert (error.value.status, error.value.code) == (401, "bad_credentials")


async def test_missing_token(server) -> None:
    """No Authorization header: 401 token_required."""
    with pytest.raises(ApiError) as error:
        await server.client().me()
    assert (error.value.status, error.value.code) == (401, "token_required")


async def test_garbage_token(server) -> None:
    """A token the server never issued: 401 invalid_token."""
    with pytest.raises(ApiError) as error:
        await server.client("not-a-real-token-" + secrets.token_hex(8)).me()
    assert (error.value.status, error.value.code) == (401, "invalid_token")


async def test_wrong_scheme_is_not_a_token(server) -> None:
    """``Authorization: Basic ...`` is not a bearer token: 401, never a user."""
    _app, _user, token = await server.new_user()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/api/v1/users/me", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("token_required", "invalid_token")


async def test_expired_token(server) -> None:
    """A session past its lifetime answers 401 token_expired; it worked just before."""
    app, user, _ = await server.new_user()
    session = await server.core.auth.create_session(app.id, user.id)
    client = server.client(session.token)
    assert (await client.me()).id == user.id
    original = server.core.clock
    server.core.clock = ManualClock(session.expires_ms + 1)
    try:
        with pytest.raises(ApiError) as error:
            await client.me()
    finally:
        server.core.clock = original
    assert (error.value.status, error.value.code) == (401, "token_expired")
    # One millisecond before the end it was still valid.
    server.core.clock = ManualClock(session.expires_ms - 1)
    try:
        assert (await client.me()).id == user.id
    finally:
        server.core.clock = original


async def test_logout_invalidates_the_token(server) -> None:
    """After DELETE /sessions/current the same token is unknown; other sessions live on."""
    app, user, other_token = await server.new_user(login=_login(), password=PASSWORD)
    client = server.client()
    await client.login(app.id, user.login, PASSWORD)
    token = client.token
    await client.logout()
    assert client.token is None
    with pytest.raises(ApiError) as error:
        await server.client(token).me()
    assert (error.value.status, error.value.code) == (401, "invalid_token")
    assert (await server.client(other_token).me()).id == user.id


async def test_login_flood_is_rate_limited(server) -> None:
    """The 11th attempt for one login within a minute answers 429 rate_limited with
    Retry-After, even with the right password; another login is not affected."""
    app, user, _ = await server.new_user(login=_login(), password=PASSWORD)
    _, bystander, _ = await server.new_user(app, login=_login(), password=PASSWORD)
    client = server.client()
    assert server.settings.login_rate == 10
    for _ in range(server.settings.login_rate):
        with pytest.raises(ApiError) as error:
            await client.login(app.id, user.login, "wrong password!")
        assert error.value.code == "bad_credentials"
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/api/v1/sessions",
            json={"app_id": app.id, "login": user.login, "password": PASSWORD},
        )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    other = server.client()
    session = await other.login(app.id, bystander.login, PASSWORD)
    assert session.user_id == bystander.id


async def test_sign_up_with_the_app_key(server) -> None:
    """POST /users with the app's auth_key creates a user who can then log in."""
    app = await server.new_app("signup app")
    login = _login()
    client = server.client()
    created = await client.sign_up(
        app.id, app.auth_key, login, "long enough pw", full_name="Sign Up", email="s@example.com"
    )
    assert created.login == login and created.app_id == app.id
    assert created.full_name == "Sign Up" and created.email == "s@example.com"
    assert created.role == "user"
    session = await client.login(app.id, login, "long enough pw")
    assert session.user_id == created.id
    raw = await client.request("GET", "/users/me")
    assert raw["id"] == created.id
    assert "password" not in raw and "password_hash" not in raw


async def test_sign_up_with_a_wrong_key_is_refused(server) -> None:
    """A wrong auth_key, or another app's key, answers 401 and creates nobody."""
    app = await server.new_app("signup app")
    other = await server.new_app("other app")
    login = _login()
    client = server.client()
    for key in ("wrong-key", other.auth_key):
        with pytest.raises(ApiError) as error:
            await client.sign_up(app.id, key, login, "long enough pw")
        assert error.value.status == 401
        assert error.value.code == "bad_app_credentials"
    _, _, token = await server.new_user(app)
    found = await server.client(token).request("GET", "/users", params={"q": login})
    assert found["items"] == []


async def test_sign_up_duplicate_login(server) -> None:
    """A login already taken in the app answers 409 login_taken; other apps may reuse it."""
    app = await server.new_app()
    login = _login()
    client = server.client()
    await client.sign_up(app.id, app.auth_key, login, "long enough pw")
    with pytest.raises(ApiError) as error:
        await client.sign_up(app.id, app.auth_key, login, "another long pw")
    assert (error.value.status, error.value.code) == (409, "login_taken")
    other = await server.new_app()
    again = await client.sign_up(other.id, other.auth_key, login, "long enough pw")
    assert again.app_id == other.id


async def test_sign_up_short_password(server) -> None:
    """A password under 8 characters answers 400 and creates nobody."""
    app = await server.new_app()
    login = _login()
    client = server.client()
    with pytest.raises(ApiError) as error:
        await client.sign_up(app.id, app.auth_key, login, "short")
    assert error.value.status == 400
    assert error.value.code == "invalid_input"
    created = await client.sign_up(app.id, app.auth_key, login, "now it is long")
    assert created.login == login


async def test_update_me(server) -> None:
    """PATCH /users/me changes the profile; a new password replaces the old one."""
    app, user, client = await server.new_client(login=_login(), password=PASSWORD)
    updated = await client.request(
        "PATCH",
        "/users/me",
        json={"full_name": "New Name", "email": "new@example.com", "custom_data": {"k": 1}},
    )
    assert updated["full_name"] == "New Name"
    assert updated["email"] == "new@example.com"
    assert updated["custom_data"] == {"k": 1}
    assert updated["login"] == user.login
    assert (await client.me()).full_name == "New Name"
    with pytest.raises(ApiError) as error:
        await client.request("PATCH", "/users/me", json={"password": "short"})
    assert error.value.status == 400
    await client.request("PATCH", "/users/me", json={"password": "a brand new one"})
    fresh = server.client()
    with pytest.raises(ApiError) as old:
        await fresh.login(app.id, user.login, PASSWORD)
    assert old.value.code == "bad_credentials"
    assert (await fresh.login(app.id, user.login, "a brand new one")).user_id == user.id


async def test_list_users_by_text_and_ids(server) -> None:
    """GET /users?q= matches login or name (case-insensitively); ?ids= picks users."""
    app = await server.new_app()
    tag = secrets.token_hex(3)
    _, ann, client = await server.new_client(app, login=f"ann-{tag}", full_name="Ann Lee")
    _, bob, _ = await server.new_client(app, login=f"bob-{tag}", full_name=f"Robert {tag}")
    _, cid, _ = await server.new_client(app, login=f"cid-{tag}", full_name="Cid")
    by_login = await client.request("GET", "/users", params={"q": f"ANN-{tag}"})
    assert [u["id"] for u in by_login["items"]] == [ann.id]
    by_name = await client.request("GET", "/users", params={"q": f"robert {tag}"})
    assert [u["id"] for u in by_name["items"]] == [bob.id]
    by_tag = await client.request("GET", "/users", params={"q": tag})
    assert sorted(u["id"] for u in by_tag["items"]) == sorted([ann.id, bob.id, cid.id])
    by_ids = await client.request("GET", "/users", params={"ids": f"{bob.id},{cid.id}"})
    assert sorted(u["id"] for u in by_ids["items"]) == sorted([bob.id, cid.id])
    with pytest.raises(ApiError) as error:
        await client.request("GET", "/users", params={"ids": "1,abc"})
    assert (error.value.status, error.value.code) == (400, "invalid_input")


async def test_users_of_another_app_are_invisible(server) -> None:
    """Another app's user is 404 user_not_found by id, and absent from lookups and search."""
    _, _me, client = await server.new_client()
    tag = secrets.token_hex(3)
    _, stranger, _ = await server.new_client(login=f"far-{tag}")
    for path in (f"/users/{stranger.id}", f"/users/{stranger.id}/presence"):
        with pytest.raises(ApiError) as error:
            await client.request("GET", path)
        assert (error.value.status, error.value.code) == (404, "user_not_found")
    assert (await client.request("GET", "/users", params={"ids": str(stranger.id)}))["items"] == []
    assert (await client.request("GET", "/users", params={"q": f"far-{tag}"}))["items"] == []
    assert (await client.search(f"far-{tag}")).users == []
