"""Shared fixtures: a real tidings server on 127.0.0.1, once on SQLite and once on
PostgreSQL, driven through real sockets by the tests.

The server runs in the test process's event loop (uvicorn on a socket bound to
port 0), so tests may also reach ``server.core`` to set up what an operator would
with the CLI (apps, users). Everything a user does goes over HTTP/WebSocket.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import uvicorn

from tests.services import require_postgres
from tidings.client.rest import TidingsClient
from tidings.core.hub import Core
from tidings.domain.models import App, User
from tidings.server import build_app
from tidings.settings import Settings

BACKENDS = ["sqlite", "postgres"]
_logins = itertools.count(1)

#: Argon2id at its lowest cost for the thousands of throwaway passwords tests set
#: (the default costs ~27 ms of CPU each); production keeps OWASP's minimum.
CHEAP_PASSWORD_HASHES = {"password_hash_memory_kib": 1024, "password_hash_iterations": 1}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first (in their own order), the rest after.

    With pytest-xdist the longest tests then start at once on every worker and the
    short ones fill in behind them, instead of one worker finishing a long test
    alone at the end of the run. Only the order changes: each test still gets the
    fixtures it asks for.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@dataclass
class TestServer:
    """A running server and shortcuts for the setup an operator would do."""

    __test__ = False

    base_url: str
    backend: str
    core: Core
    settings: Settings
    clients: list[TidingsClient] = field(default_factory=list)
    #: The ASGI app, for tests that reach a gateway's state (e.g. drop XMPP sockets).
    app: Any = None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/api/v1/ws"

    async def new_app(self, name: str = "test app") -> App:
        return await self.core.apps.create_app(name)

    async def new_user(
        self,
        app: App | None = None,
        *,
        login: str | None = None,
        role: str = "user",
        full_name: str | None = None,
        password: str = "correct horse",
    ) -> tuple[App, User, str]:
        """A user with a live session token (as if they had logged in)."""
        app = app or await self.new_app()
        login = login or f"user{next(_logins)}-{secrets.token_hex(3)}"
        user = await self.core.users.create_user(
            app.id, login=login, password=password, role=role, full_name=full_name or login
        )
        session = await self.core.auth.create_session(app.id, user.id)
        return app, user, session.token

    def client(self, token: str | None = None) -> TidingsClient:
        client = TidingsClient(self.base_url, token)
        self.clients.append(client)
        return client

    async def new_client(
        self, app: App | None = None, **kwargs: Any
    ) -> tuple[App, User, TidingsClient]:
        app, user, token = await self.new_user(app, **kwargs)
        return app, user, self.client(token)


def _run_async(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside the test loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin_sql(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (SQLAlchemy URL), dropped afterwards."""
    admin = require_postgres()
    name = f"tidings_test_{secrets.token_hex(4)}"
    _run_async(_admin_sql(admin, f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    _run_async(_admin_sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def start_server(settings: Settings, backend: str) -> tuple[TestServer, Any]:
    app = build_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", settings.port))  # 0 unless a test needs to know it first
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", ws_max_size=1 << 20
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        raise RuntimeError("test server did not start") from (
            task.exception() if task.done() else None
        )
    running = TestServer(f"http://127.0.0.1:{port}", backend, app.state.core, settings, app=app)

    async def stop() -> None:
        for client in running.clients:
            await client.aclose()
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()

    return running, stop


@pytest_asyncio.fixture(scope="session", params=BACKENDS)
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestServer]:
    """A live server; every test using it runs on SQLite and on PostgreSQL."""
    data_dir = tmp_path_factory.mktemp(f"tidings-{request.param}")
    database_url = ""
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_url")
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        port=0,
        log_format="text",
        login_rate=10,
        login_rate_per_address=10_000,
        max_upload_bytes=1 << 20,
        max_body_bytes=64 * 1024,
        xmpp_port=0,  # XMPP tests start their own listener (start_xmpp_listener)
        # Delivery: webhooks to 127.0.0.1 receivers, quick polls and retries.
        webhook_allow_private=True,
        delivery_poll_ms=50,
        delivery_retry_base_ms=50,
        **CHEAP_PASSWORD_HASHES,
    )
    running, stop = await start_server(settings, request.param)
    yield running
    await stop()
