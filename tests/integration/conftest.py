"""Fixtures the integration tests share: databases and a Redis of a test's own, the
environment of a two-node cluster, and the local APNs and FCM stand-ins.

The live in-process server (``server``) and the session's PostgreSQL database
(``postgres_url``) live one level up, in ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

import asyncpg
import pytest
import pytest_asyncio

from tests.integration.delivery_fakes import FakeAPNs, FakeFCM, make_tls, running
from tests.integration.processes import cli_env
from tests.integration.redis_server import RedisServer, own_redis
from tests.services import require_postgres, require_redis


class FreshDatabase(NamedTuple):
    """An empty PostgreSQL database and an admin connection to the server it is on."""

    #: Outside the database: e.g. to terminate its backends.
    admin: asyncpg.Connection
    name: str
    #: SQLAlchemy URL (``postgresql+asyncpg://``).
    url: str


@contextlib.asynccontextmanager
async def fresh_postgres_database(prefix: str = "tidings_own") -> AsyncIterator[FreshDatabase]:
    """Create an empty database, dropped (with whatever still uses it) on the way out.

    For tests that kill connections, restart servers or count rows: the session's
    shared database (``postgres_url``) would carry their effects into other tests.
    """
    admin_url = require_postgres()
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield FreshDatabase(admin, name, f"{base}/{name}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def fresh_postgres() -> AsyncIterator[FreshDatabase]:
    """A PostgreSQL database for this test alone (see :func:`fresh_postgres_database`)."""
    async with fresh_postgres_database() as database:
        yield database


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database for this test alone, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'own.db'}"
        return
    async with fresh_postgres_database() as database:
        yield database.url


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    """A Redis of this test's own (free port, no persistence), so it may kill it."""
    async with own_redis() as server:
        yield server


@pytest.fixture
def cluster_env(tmp_path: Path, postgres_url: str) -> dict[str, str]:
    """Environment for ``tidings`` processes forming one cluster: the session's
    PostgreSQL database and the shared Redis bus."""
    return cli_env(tmp_path, TIDINGS_DATABASE_URL=postgres_url, TIDINGS_BUS_URL=require_redis())


@pytest_asyncio.fixture(scope="module")
async def apns(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FakeAPNs]:
    """A local APNs (HTTP/2 over TLS with a CA made here), one per test module."""
    ca, cert, key = make_tls(tmp_path_factory.mktemp("apns-tls"))
    fake = FakeAPNs()
    async with running(fake, tls=(cert, key)) as url:
        fake.url, fake.ca_file = url, str(ca)
        yield fake


@pytest_asyncio.fixture(scope="module")
async def fcm() -> AsyncIterator[FakeFCM]:
    """A local FCM (OAuth2 token endpoint and HTTP v1 send), one per test module."""
    fake = FakeFCM()
    async with running(fake) as url:
        fake.root = url
        yield fake
