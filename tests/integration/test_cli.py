"""The operator CLI contract: the forms other tools script against."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.delivery_fakes import FakeAPNs, FakeFCM
from tests.integration.processes import ServerProcess, cli_env, run_cli, run_cli_json
from tidings import __version__
from tidings.client import TidingsClient
from tidings.client.rest import ApiError


async def test_app_user_agent_create_print_the_promised_json(tmp_path) -> None:
    """`app create`, `user create`, `agent create`, `app update` print one JSON object each."""
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "Support desk")
    assert isinstance(app["app_id"], int)
    assert app["auth_key"] and app["auth_secret"]
    assert isinstance(app["desk_app_id"], str) and app["desk_app_id"]
    user = await run_cli_json(
        env,
        "user",
        "create",
        str(app["app_id"]),
        "--login",
        "alice",
        "--password",
        "secret123",
        "--full-name",
        "Alice",
    )
    assert isinstance(user["id"], int) and user["login"] == "alice"
    agent = await run_cli_json(
        env,
        "agent",
        "create",
        str(app["app_id"]),
        "--email",
        "agent@example.com",
        "--password",
        "secret123",
        "--name",
        "Ann",
    )
    assert isinstance(agent["id"], int) and agent["role"] == "agent"
    updated = await run_cli_json(
        env,
        "app",
        "update",
        str(app["app_id"]),
        "--auth-url",
        "http://127.0.0.1:1/auth",
        "--webhook-url",
        "http://127.0.0.1:1/hook",
    )
    assert updated["auth_url"] == "http://127.0.0.1:1/auth"
    assert updated["webhook_url"] == "http://127.0.0.1:1/hook"
    listed = await run_cli_json(env, "app", "list")
    assert [a["app_id"] for a in listed] == [app["app_id"]]
    assert (tmp_path / "tidings.db").exists(), "the data dir holds the SQLite database"


async def test_cli_errors_are_clear_and_change_nothing(tmp_path) -> None:
    """A taken login and an unknown app give `error: <code>` and exit status 1."""
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "Desk")
    args = ("user", "create", str(app["app_id"]), "--login", "bob", "--password", "secret123")
    await run_cli_json(env, *args)
    code, _out, err = await run_cli(env, *args, "--json")
    assert code == 1 and "error: login_taken" in err
    code, _out, err = await run_cli(env, "app", "update", "999", "--json")
    assert code == 1 and "error: app_not_found" in err
    code, _out, err = await run_cli(env, "user", "create", "1", "--login", "x")
    assert code == 2 and "--password" in err


async def test_serve_uses_the_data_dir_the_cli_wrote(tmp_path) -> None:
    """`tidings serve --port 0` serves what `tidings user create` stored in the same data dir."""
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "Desk")
    await run_cli_json(
        env, "user", "create", str(app["app_id"]), "--login", "carol", "--password", "secret123"
    )
    server = await ServerProcess(env).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/health")).json()["status"] == "ok"
            metrics = await http.get("/metrics")
            assert "tidings_http_requests_total" in metrics.text
        async with TidingsClient(server.url) as client:
            session = await client.login(app["app_id"], "carol", "secret123")
            assert (await client.me()).id == session.user_id
    finally:
        assert await server.stop() in (0, -15)


async def test_version_and_empty_lists(tmp_path) -> None:
    """`--version` names the release; every list prints `[]` with --json when empty,
    and says `(none)` to a person."""
    env = cli_env(tmp_path)
    code, out, _err = await run_cli(env, "--version")
    assert code == 0 and out.strip() == f"tidings {__version__}"
    assert await run_cli_json(env, "app", "list") == []
    code, out, _err = await run_cli(env, "app", "list")
    assert code == 0 and out.strip() == "(none)"
    app = await run_cli_json(env, "app", "create", "Empty")
    for command in (("user", "list"), ("agent", "list")):
        assert await run_cli_json(env, *command, str(app["app_id"])) == []
    assert await run_cli_json(env, "outbox", "list") == []
    assert await run_cli_json(env, "outbox", "list", "--dead") == []
    assert await run_cli_json(env, "outbox", "replay", "--all-dead") == {
        "count": 0,
        "replayed": [],
    }


async def test_agent_email_and_other_input_is_validated(tmp_path) -> None:
    """A malformed email, file or service name is a one-line error and changes nothing."""
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "Desk")
    app_id = str(app["app_id"])
    agent = ("agent", "create", app_id, "--password", "secret123", "--name", "Ann", "--json")
    code, _out, err = await run_cli(env, *agent[:3], "--email", "notanemail", *agent[3:])
    assert code == 1 and "error: invalid_input" in err and "notanemail" in err
    assert len(err.strip().splitlines()) == 1
    assert await run_cli_json(env, "agent", "list", app_id) == []
    bad_json = tmp_path / "account.json"
    bad_json.write_text("{not json")
    not_pem = tmp_path / "key.p8"
    not_pem.write_text("hello")
    for flags, words in (
        (("--gms-services", "ok,bad name!"), "--gms-services"),
        (("--fcm-service-account", str(bad_json)), "not JSON"),
        (("--apns-key-file", str(not_pem)), "PEM"),
        (("--apns-key-file", str(tmp_path / "missing.p8")), "cannot read"),
        (("--webhook-url", "ftp://example.com/hook"), "http"),
    ):
        code, _out, err = await run_cli(env, "app", "update", app_id, *flags, "--json")
        assert code == 1 and words in err, (flags, err)
    code, _out, err = await run_cli(env, "app", "update", app_id, "--apns-environment", "moon")
    assert code == 2 and "--apns-environment" in err
    unchanged = await run_cli_json(env, "app", "list")
    assert unchanged[0]["settings"]["gms_services"] is None
    code, _out, err = await run_cli(env, "outbox", "replay", "--json")
    assert code == 1 and "error: invalid_input" in err
    code, _out, err = await run_cli(env, "outbox", "replay", "12345", "--json")
    assert code == 1 and "error: outbox_not_dead" in err


async def test_app_update_sets_gms_push_and_desk_settings(tmp_path) -> None:
    """`app update` sets GMS services, the webhook secret, APNs and FCM credentials from
    files; the JSON shows what is set but no secret; GMS then serves the named service."""
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "Mobile")
    app_id = str(app["app_id"])
    key = tmp_path / "AuthKey_ABC.p8"
    key.write_text(FakeAPNs().key_pem)
    account = tmp_path / "service-account.json"
    account.write_text(json.dumps(FakeFCM(root="http://127.0.0.1:1").credentials()))
    updated = await run_cli_json(
        env, "app", "update", app_id,
        "--gms-services", "cb-one,cb-two",
        "--webhook-url", "http://127.0.0.1:1/hook", "--webhook-secret", "whsec-1",
        "--apns-key-file", str(key), "--apns-key-id", "KEY1234567",
        "--apns-team-id", "TEAM123456", "--apns-bundle", "com.example.chat",
        "--apns-environment", "development",
        "--fcm-service-account", str(account),
        "--welcome-message", "Hello!",
        "--operator",
    )  # fmt: skip
    settings = updated["settings"]
    assert settings["gms_services"] == ["cb-one", "cb-two"]
    assert settings["operator"] is True  # its admins make apps in the admin panel
    plain = await run_cli_json(env, "app", "update", app_id, "--no-operator")
    assert plain["settings"]["operator"] is False
    assert plain["settings"]["gms_services"] == ["cb-one", "cb-two"], "other settings stay"
    assert settings["webhook_secret_set"] is True and updated["webhook_url"].endswith("/hook")
    assert settings["apns"] == {
        "key_id": "KEY1234567",
        "team_id": "TEAM123456",
        "bundle": "com.example.chat",
        "environment": "development",
        "key_set": True,
    }
    assert settings["fcm"]["project_id"] and settings["welcome_message"] == "Hello!"
    printed = json.dumps(updated)
    assert "PRIVATE KEY" not in printed and "whsec-1" not in printed, "no secret is printed"
    # A later update of one APNs field keeps the others.
    again = await run_cli_json(env, "app", "update", app_id, "--apns-environment", "production")
    assert again["settings"]["apns"]["key_set"] and again["settings"]["apns"]["key_id"]
    assert again["settings"]["gms_services"] == ["cb-one", "cb-two"]

    server = await ServerProcess(env).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            callback = await http.post(
                "/genesys/1/service/callback/cb-two",
                headers={"apikey": app["auth_key"]},
                data={"_customer_number": "+15551234567"},
            )
            unknown = await http.post(
                "/genesys/1/service/callback/cb-three",
                headers={"apikey": app["auth_key"]},
                data={"_customer_number": "+15551234567"},
            )
    finally:
        await server.stop()
    print(f"cb-two: {callback.status_code}, cb-three: {unknown.status_code}")
    assert callback.status_code < 300, callback.text
    assert unknown.status_code == 404


@pytest.mark.slow
async def test_users_and_agents_list_deactivate_password_delete(tmp_path) -> None:
    """`user list|deactivate|set-password|delete`, `agent list|delete`, `app delete`:
    a deactivated user cannot sign in until `set-password`; deleted ones are gone."""
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "People")
    app_id = str(app["app_id"])
    users = []
    for login in ("dora", "eve"):
        users.append(
            await run_cli_json(
                env, "user", "create", app_id, "--login", login, "--password", "secret123"
            )
        )
    agent = await run_cli_json(
        env, "agent", "create", app_id, "--email", "ivy@example.com",
        "--password", "secret123", "--name", "Ivy",
    )  # fmt: skip
    listed = await run_cli_json(env, "user", "list", app_id)
    assert sorted(u["login"] for u in listed) == ["dora", "eve", "ivy@example.com"]
    agents = await run_cli_json(env, "agent", "list", app_id)
    assert [a["id"] for a in agents] == [agent["id"]]
    dora, eve = users
    off = await run_cli_json(env, "user", "deactivate", app_id, str(dora["id"]))
    assert off["deactivated"] is True and off["login"] == "dora"

    server = await ServerProcess(env).start()
    try:
        async with TidingsClient(server.url) as client:
            with pytest.raises(ApiError):
                await client.login(app["app_id"], "dora", "secret123")
        again = await run_cli_json(
            env, "user", "set-password", app_id, str(dora["id"]), "--password", "new-secret9"
        )
        assert again["password_set"] is True
        async with TidingsClient(server.url) as client:
            session = await client.login(app["app_id"], "dora", "new-secret9")
            assert session.user_id == dora["id"]
    finally:
        await server.stop()

    code, _out, err = await run_cli(env, "agent", "delete", app_id, str(eve["id"]), "--json")
    assert code == 1 and "error: agent_not_found" in err, "agent delete takes agents only"
    gone = await run_cli_json(env, "user", "delete", app_id, str(eve["id"]))
    assert gone == {"deleted": True, "id": eve["id"]}
    assert await run_cli_json(env, "agent", "delete", app_id, str(agent["id"]))
    assert [u["login"] for u in await run_cli_json(env, "user", "list", app_id)] == ["dora"]
    code, _out, err = await run_cli(env, "user", "delete", app_id, str(eve["id"]), "--json")
    assert code == 1 and "error: user_not_found" in err

    deleted = await run_cli_json(env, "app", "delete", app_id)
    print(f"app delete removed rows: {deleted['rows']}")
    assert deleted["deleted"] is True and deleted["rows"].get("users") == 1
    assert await run_cli_json(env, "app", "list") == []
    code, _out, err = await run_cli(env, "user", "list", app_id, "--json")
    assert code == 1 and "error: app_not_found" in err
