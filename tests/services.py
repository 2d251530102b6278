"""Where tests find Redis and PostgreSQL, and what happens when one is missing.

On a laptop a missing server skips the tests that need it, so ``pytest`` runs
with nothing installed. On CI (``CI=true``) it fails them instead: a skipped
integration suite would otherwise look green.
"""

from __future__ import annotations

import asyncio
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PROBE_TIMEOUT = 2.0


def require_redis() -> str:
    """The test Redis URL (``TIDINGS_TEST_REDIS_URL``), or skip/fail if it is down."""
    url = os.environ.get("TIDINGS_TEST_REDIS_URL") or DEFAULT_REDIS_URL
    _require("Redis", url, "TIDINGS_TEST_REDIS_URL", _probe_redis(url))
    return url


def require_postgres() -> str:
    """An admin URL for the test PostgreSQL (``TIDINGS_TEST_POSTGRES_URL``), or skip/fail."""
    url = os.environ.get("TIDINGS_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    _require("PostgreSQL", url, "TIDINGS_TEST_POSTGRES_URL", _probe_postgres(url))
    return url


def _require(service: str, url: str, variable: str, error: str | None) -> None:
    if error is None:
        return
    message = (
        f"{service} is not reachable at {_redact(url)} ({error}). "
        f"Start it there or point {variable} at one."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} CI=true, so this fails instead of skipping.", pytrace=False)
    pytest.skip(message)


# Probes are cached: one attempt per URL per test run, not one per test.
@functools.cache
def _probe_redis(url: str) -> str | None:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


@functools.cache
def _probe_postgres(url: str) -> str | None:
    async def connect() -> None:
        conn = await asyncpg.connect(url, timeout=PROBE_TIMEOUT)
        await conn.close()

    # In a thread with its own loop: callers may be sync or inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, connect()).result()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    return None


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
