"""The server's lifespan starts every gateway on one exit stack: when one fails to
start, the ones already started are stopped (in reverse order) and nothing is left
running; the process exits non-zero and says why.

The failure used is a real one: the XMPP c2s port is already taken by another
socket, so the last gateway to start (XMPP) cannot bind.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tidings.gateways import Gateway
from tidings.server import build_app, build_gateways
from tidings.settings import Settings

from .processes import TIDINGS, cli_env


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def _settings(data_dir: Path, xmpp_port: int) -> Settings:
    return Settings(
        data_dir=data_dir, host="127.0.0.1", port=0, xmpp_port=xmpp_port, log_format="text"
    )


def test_every_gateway_implements_the_protocol(tmp_path: Path) -> None:
    """One :class:`Gateway` shape for all: routes, start, stop, a unique name."""
    gateways = build_gateways(_settings(tmp_path, 0), lambda: None)  # type: ignore[arg-type, return-value]
    names = [g.name for g in gateways]
    print(f"\ngateways: {names}")
    assert all(isinstance(g, Gateway) for g in gateways)
    assert len(set(names)) == len(names)
    assert set(names) == {
        "rest",
        "realtime",
        "xmpp",
        "connectycube",
        "servicedesk",
        "gms",
        "bayeux",
        "console",
        "admin",
        "widget",
    }


def in_own_loop(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` on a fresh event loop in a thread of its own, so every task in that
    loop is the app's (the session's servers run on the test loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def _left(before: set[asyncio.Task[Any]]) -> list[str]:
    return sorted(t.get_name() for t in asyncio.all_tasks() - before if not t.done())


def test_a_gateway_failing_to_start_leaves_nothing_running(tmp_path: Path, busy_port: int) -> None:
    """In process: the lifespan raises the bind error, and every task the database,
    bus, delivery workers and the gateways started before XMPP is gone again."""

    async def scenario() -> None:
        before = asyncio.all_tasks()
        app = build_app(_settings(tmp_path, busy_port))
        with pytest.raises(OSError, match=f"cannot listen for XMPP on 127.0.0.1:{busy_port}"):
            async with app.router.lifespan_context(app):
                pytest.fail("the lifespan started although the XMPP port is taken")
        await asyncio.sleep(0)  # let cancelled tasks finish their last step
        left = _left(before)
        print(f"\ntasks left running after the failed start: {len(left)} {left}")
        assert not left

        # The same app starts once the port is free, and stops cleanly: the failure
        # was the port, not a half-stopped state.
        app = build_app(_settings(tmp_path, 0))
        async with app.router.lifespan_context(app):
            started = _left(before)
            assert started, "a running server has background tasks (scheduler, sweeper, ...)"
            assert set(app.state.gateways) >= {"xmpp", "gms", "bayeux", "realtime"}
        await asyncio.sleep(0)
        left = _left(before)
        print(f"tasks while running: {len(started)} {started}, left after stop: {left}")
        assert not left

    in_own_loop(scenario())


async def test_the_process_exits_non_zero_and_names_the_port(
    tmp_path: Path, busy_port: int
) -> None:
    """As an operator sees it: ``tidings serve`` with a taken XMPP port stops with a
    non-zero status and one line naming the address, never having served HTTP."""
    env = cli_env(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        *TIDINGS,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--xmpp-port",
        str(busy_port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = out.decode(errors="replace")
    print(f"\nexit status: {proc.returncode}\n{text[-600:]}")
    assert proc.returncode != 0
    assert f"cannot listen for XMPP on 127.0.0.1:{busy_port}" in text
    assert text.strip().splitlines() == [text.strip()], "one line, no traceback"
    assert text.startswith("error: port_in_use:") and "--xmpp-port" in text
    assert "tidings listening" not in text


async def test_routes_are_mounted_once_in_order(tmp_path: Path) -> None:
    """Bayeux's ``/genesys/cometd`` is matched before GMS's ``/genesys/...`` table, and a
    trailing ``/`` works on a GMS route (gms-callback-chat-wire §1.1)."""
    app = build_app(_settings(tmp_path, 0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            comet = await http.post("/genesys/cometd", json=[{"channel": "/meta/handshake"}])
            gms = await http.get("/genesys/1/service/callback/")
    print(f"\ncometd: {comet.status_code} {comet.text[:120]}\ngms: {gms.status_code} {gms.text}")
    assert comet.status_code == 200 and comet.json()[0]["channel"] == "/meta/handshake"
    assert gms.status_code == 401  # the GMS table answered: no apikey (§1.3)
    paths = [getattr(r, "path", "") for r in app.routes]
    assert paths.index("/genesys/cometd") < paths.index("/genesys/1/service/callback")
