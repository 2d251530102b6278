"""Gateways: each translates one wire protocol onto the core's services.

Every gateway package exports one object the server builds, mounts and runs the
same way, a :class:`Gateway`: ``routes()`` are its HTTP and WebSocket routes
(added to the app in a fixed order, since a path like ``/genesys/cometd`` must
meet its own gateway before a wider one), ``start()`` and ``stop()`` bracket its
life in the server's lifespan. A gateway is built before the core exists, so it
is handed ``core_of``, a function returning the running core; the stateless ones
start and stop nothing.

This module is the one place every gateway may import besides its own package.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, runtime_checkable

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Returns the running server's core (it exists only once the lifespan has begun).
CoreOf = Callable[[], "Core"]


@runtime_checkable
class Gateway(Protocol):
    """What the server needs of a gateway (see the module's docstring)."""

    #: A short name for logs and errors ("xmpp", "gms", ...).
    name: str

    def routes(self) -> Sequence[BaseRoute]:
        """The gateway's routes, mounted as they are, in this order."""
        ...

    async def start(self) -> None:
        """Start what runs beside requests (listeners, tasks, bus subscriptions).
        Raising leaves nothing of this gateway running."""
        ...

    async def stop(self) -> None:
        """Stop what ``start`` started; called once, in reverse start order."""
        ...


class Stateless:
    """Base of a gateway with routes only: nothing to start or stop."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class Startable(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


G = TypeVar("G", bound=Startable)


class Running(Generic[G]):
    """Base of a gateway whose working part exists only while the server runs.

    ``start`` builds it with :meth:`build` (the core exists by then) and starts it;
    ``gateway`` is ``None`` before and after, which routes take as "try again
    later"; ``stop`` stops it once, however often it is called.
    """

    gateway: G | None = None

    async def build(self) -> G:
        raise NotImplementedError

    async def start(self) -> None:
        gateway = await self.build()
        await gateway.start()
        self.gateway = gateway

    async def stop(self) -> None:
        gateway, self.gateway = self.gateway, None
        if gateway is not None:
            await gateway.stop()


__all__ = ["CoreOf", "Gateway", "Running", "Stateless"]
