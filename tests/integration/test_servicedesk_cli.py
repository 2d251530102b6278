"""Operators configure the desk with the CLI: agents, welcome message, auth and
webhook URLs (README "Operator CLI"); a served process answers the SDK and the console."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.integration.servicedesk_sdk import DeskDevice


async def test_cli_configures_the_desk(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "Acme")
    await run_cli_json(
        env,
        "app",
        "update",
        str(app["app_id"]),
        "--welcome-message",
        "Hello from Acme",
        "--chat-title",
        "Acme help",
        "--agent-name",
        "Acme team",
    )
    agent = await run_cli_json(
        env,
        "agent",
        "create",
        str(app["app_id"]),
        "--email",
        "ivy@acme.test",
        "--password",
        "agent-pass-1",
        "--name",
        "Ivy",
    )
    assert agent["role"] == "agent"
    server = await ServerProcess(env).start()
    try:
        phone = DeskDevice(server.url, app["desk_app_id"])
        reply = await phone.sync(phone.create_comment("hi"))
        assert reply["applications"][0]["welcome_message"] == "Hello from Acme"
        await phone.aclose()
        async with httpx.AsyncClient(base_url=server.url) as http:
            login = await http.post(
                "/console/login", data={"email": "ivy@acme.test", "password": "agent-pass-1"}
            )
            assert login.status_code == 303 and login.headers["location"] == "/console/inbox"
            page = await http.get("/console/inbox")
            assert page.status_code == 200 and "hi" in page.text
            wrong = await http.post(
                "/console/login", data={"email": "ivy@acme.test", "password": "nope-nope"}
            )
            assert wrong.status_code == 401
    finally:
        await server.stop()
