"""``tidings serve --xmpp-port`` starts the c2s listener with a generated dev certificate."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.integration.xmpp_helpers import Client, close, connect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_starts_the_xmpp_listener(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "xmpp app")
    users = []
    for name in ("xa", "xb"):
        users.append(
            await run_cli_json(
                env,
                "user",
                "create",
                str(app["app_id"]),
                "--login",
                name,
                "--password",
                "pw-123456",
            )
        )
    port = free_port()
    proc = await ServerProcess(env, "--xmpp-port", str(port)).start()
    try:
        assert (tmp_path / "xmpp-dev-cert.pem").exists()
        a_jid, b_jid = (f"{u['id']}-{app['app_id']}@localhost" for u in users)
        a = await connect(Client(a_jid, "pw-123456"), port)
        b = await connect(Client(b_jid, "pw-123456"), port)
        try:
            a.send_message(mto=b_jid, mbody="over the served port", mtype="chat")
            got = await asyncio.wait_for(b.messages.get(), 10)
            assert got["body"] == "over the served port"
        finally:
            await close(a, b)
    finally:
        await proc.stop()
