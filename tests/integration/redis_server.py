"""A ``redis-server`` of a test's own, on a free loopback port, that the test may kill.

Fault tests kill and restart Redis; doing that to the shared one would break the
tests running beside them. ``--save ''`` and ``--appendonly no``: a restarted
server comes back empty, as a crashed cache does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis


class RedisServer:
    """One ``redis-server`` process on a fixed port: start, kill, start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start it and return once it answers ``PING``."""
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = aioredis.Redis.from_url(self.url)
        try:
            async with asyncio.timeout(10):
                while True:
                    with contextlib.suppress(Exception):
                        if await client.ping():
                            return
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, nothing saved."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def own_redis() -> AsyncIterator[RedisServer]:
    """A running server of the caller's own, killed on the way out.

    Without ``redis-server`` installed the test is skipped, or failed on CI
    (``CI=true``), as tests/services.py does for missing services."""
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed; this test starts a Redis of its own."
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} CI=true, so this fails instead of skipping.", pytrace=False)
        pytest.skip(message)
    server = RedisServer(free_port())
    await server.start()
    try:
        yield server
    finally:
        await server.kill()
