"""The operator CLI contract: the forms other tools script against."""

from __future__ import annotations

import httpx

from tests.integration.processes import ServerProcess, cli_env, run_cli, run_cli_json
from tidings.client import TidingsClient


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
            assert (await client.me())["id"] == session["user_id"]
    finally:
        assert await server.stop() in (0, -15)
