"""Small helpers shared by the integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from tidings.client.rest import ApiError
from tidings.core.clock import Clock, ManualClock
from tidings.domain.models import Dialog, Message

#: A well-formed id that names nothing.
MISSING_ID = "0123456789abcdef01234567"


async def expect_error(awaitable: Any, status: int, code: str) -> ApiError:
    """Await a client call that must fail with this status and error code."""
    with pytest.raises(ApiError) as info:
        await awaitable
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


async def wait_until(
    predicate: Callable[[], Any], limit: float = 30.0, *, what: str = "", every: float = 0.02
) -> Any:
    """Poll ``predicate`` (a function, sync or async) until it returns something truthy,
    and return that.

    This is how a test waits for something that happens elsewhere (another task, a
    thread, a server process) without a fixed sleep: it goes on as soon as the
    condition holds. ``limit`` (seconds) is not a timed assertion: it only turns a hang into
    a failure, so it is generous.
    """
    deadline = time.monotonic() + limit
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit} s waiting for {what or predicate}")
        await asyncio.sleep(every)


@contextmanager
def manual_clock(server: Any) -> Iterator[ManualClock]:
    """Let the test move the server's clock (restored afterwards)."""
    previous: Clock = server.core.clock
    clock = ManualClock(Clock().now_ms())
    server.core.clock = clock
    try:
        yield clock
    finally:
        server.core.clock = previous


def ids(items: Sequence[Dialog | Message]) -> list[str]:
    return [item.id for item in items]
