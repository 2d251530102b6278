"""The event bus: how a domain event reaches every node's gateways.

Core services publish after commit; each node subscribes once and fans events
out to the connections it holds. Events always cross the bus as JSON, even in
memory, so an event that Redis could not carry fails in tests where it was made.

Handlers run one at a time, in publish order, on the bus's single dispatcher
task: a slow handler delays the events behind it, so handlers should only hand
events over (to a connection's queue, say) rather than do I/O themselves.

A bus that can lose events (Redis, when a connection drops) says so afterwards:
it calls the handlers registered with :meth:`Bus.on_resume` with the time from
which this node may have missed events, so gateways can catch their live
sessions up from the store, which has every committed message.
"""

from __future__ import annotations

import itertools
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Self

from tidings.domain.events import Event

Handler = Callable[[Event], Awaitable[None]]
#: Called with ``since_ms``: wall-clock ms from which this node may have missed events.
ResumeHandler = Callable[[int], Awaitable[None]]

#: The Redis channel every node shares unless told otherwise.
DEFAULT_CHANNEL = "tidings:events"

log = logging.getLogger("tidings.bus")


class Bus(ABC):
    """Publish events to every subscriber of every node, in order.

    Use as ``async with create_bus(url) as bus:`` or call :meth:`start` and
    :meth:`close` yourself. Subscribing works before or after :meth:`start`.
    """

    def __init__(self) -> None:
        self._handlers: dict[int, Handler] = {}
        self._resume_handlers: dict[int, ResumeHandler] = {}
        self._tokens = itertools.count()

    @abstractmethod
    async def start(self) -> None:
        """Connect and start the dispatcher; events published earlier are not seen."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send ``event`` to every node, this one included.

        Raises ``TypeError``/``ValueError`` at once if the event is not JSON-able,
        and ``RuntimeError`` if the bus is not running; never because a broker is
        unreachable (the write that caused the event is committed already).
        """

    @abstractmethod
    async def close(self) -> None:
        """Stop dispatching and release connections; safe to call twice."""

    async def ping(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Raise if the bus cannot carry events now (``/ready`` asks); in-process: never."""

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for every event; the returned function undoes this.

        The same handler subscribed twice is called twice, and each unsubscribe
        function removes only its own registration (calling it again is a no-op).
        """
        token = next(self._tokens)
        self._handlers[token] = handler

        def unsubscribe() -> None:
            self._handlers.pop(token, None)

        return unsubscribe

    def on_resume(self, handler: ResumeHandler) -> Callable[[], None]:
        """Call ``handler(since_ms)`` whenever this node may have missed events.

        That is after the bus got its subscription back, after this node had to
        drop events it could not publish, and when another node says it dropped
        some. ``since_ms`` is a wall-clock time in ms: events published from then
        on may not have reached this node's handlers. Resume handlers run on the
        dispatcher, before any event received after the gap, and never cross the
        wire. The memory bus loses nothing, so it never calls them.

        Registration works like :meth:`subscribe`: the returned function undoes it.
        """
        token = next(self._tokens)
        self._resume_handlers[token] = handler

        def unregister() -> None:
            self._resume_handlers.pop(token, None)

        return unregister

    async def _resume(self, since_ms: int) -> None:
        """Run every resume handler; one that raises is logged and skipped."""
        for handler in tuple(self._resume_handlers.values()):
            try:
                await handler(since_ms)
            except Exception:
                log.exception("bus resume handler %r failed", handler)

    async def _dispatch(self, event: Event) -> None:
        """Run every handler; one that raises is logged and skipped, not fatal."""
        # A copy, because handlers may subscribe or unsubscribe while we iterate.
        for handler in tuple(self._handlers.values()):
            try:
                await handler(event)
            except Exception:
                log.exception(
                    "bus handler %r failed on %s",
                    handler,
                    event.name,
                    extra={"event_type": event.name},
                )

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def encode_event(event: Event) -> str:
    """The wire form of ``event``: compact JSON, strict (no NaN) for other languages."""
    return json.dumps(event.to_dict(), separators=(",", ":"), allow_nan=False)


def decode_event(data: str | bytes) -> Event:
    return Event.from_dict(json.loads(data))


def create_bus(
    url: str,
    *,
    channel: str = DEFAULT_CHANNEL,
    client_name: str | None = None,
    backlog: int | None = None,
) -> Bus:
    """The bus named by ``TIDINGS_BUS_URL``: ``memory://`` or ``redis://host:port/db``.

    ``channel``, ``client_name`` (shown by Redis ``CLIENT LIST``) and ``backlog``
    (events held while Redis is unreachable) apply to Redis only. Imports are
    local so a memory-only process never loads the Redis client.
    """
    scheme, sep, _ = url.partition("://")
    if sep and scheme == "memory":
        from tidings.bus.memory import MemoryBus

        return MemoryBus()
    if sep and scheme in ("redis", "rediss", "unix"):
        from tidings.bus.redis import RedisBus

        options = {} if backlog is None else {"backlog": backlog}
        return RedisBus(url, channel=channel, client_name=client_name, **options)
    raise ValueError(f"unsupported bus URL {url!r}: use memory:// or redis://host:port/db")
