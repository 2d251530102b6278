""":class:`Outbound` over httpx, behind the SSRF guard.

One pooled client per process. Redirects are not followed (a redirect could
lead past the guard), and only the status line and headers are read: the body
of an answer is never needed, so a hostile service cannot make us buffer one.
The deadline covers the whole call, name lookup included: httpx's own timeouts
apply to each read, so a service dripping one byte at a time would otherwise
hold the request open indefinitely.
"""

from __future__ import annotations

import asyncio

import httpx

from tidings.outbound.base import Outbound, OutboundFailed
from tidings.outbound.ssrf import DestinationRefused, check_destination

USER_AGENT = "tidings-outbound"


class HttpxOutbound(Outbound):
    def __init__(self, *, user_agent: str = USER_AGENT) -> None:
        self.user_agent = user_agent
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Created on first use, so a process that never calls out opens nothing.
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                headers={"User-Agent": self.user_agent},
            )
        return self._client

    async def post_json(
        self, url: str, payload: dict[str, str], *, deadline: float, allow_private: bool
    ) -> int:
        try:
            async with asyncio.timeout(deadline):
                await check_destination(url, allow_private=allow_private)
                request = self._http().build_request(
                    "POST", url, json=payload, timeout=httpx.Timeout(deadline)
                )
                response = await self._http().send(request, stream=True)
                await response.aclose()
        except DestinationRefused as exc:
            raise OutboundFailed("refused", str(exc)) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise OutboundFailed("timeout", f"no answer within {deadline:g} s") from exc
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            raise OutboundFailed("unreachable", f"{type(exc).__name__}: {exc}") from exc
        return response.status_code

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
