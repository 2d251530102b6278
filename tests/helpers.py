"""Small helpers shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tidings.client.rest import ApiError
from tidings.core.clock import Clock, ManualClock

#: A well-formed id that names nothing.
MISSING_ID = "0123456789abcdef01234567"


async def expect_error(awaitable: Any, status: int, code: str) -> ApiError:
    """Await a client call that must fail with this status and error code."""
    with pytest.raises(ApiError) as info:
        await awaitable
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


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


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]
