"""The one-method interface the core calls out through, and how it fails.

A failure is one exception with a ``reason`` the caller can report without
knowing the HTTP library: ``refused`` (the SSRF guard said no, or the URL is not
http(s)), ``timeout`` (no complete answer within the deadline) or ``unreachable``
(connection refused, reset, DNS failure, malformed answer).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

Reason = Literal["refused", "timeout", "unreachable"]


class OutboundFailed(Exception):
    """The destination gave no HTTP answer we may use."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Outbound(ABC):
    """POSTs JSON to a URL chosen by an app's operator."""

    @abstractmethod
    async def post_json(
        self, url: str, payload: dict[str, str], *, deadline: float, allow_private: bool
    ) -> int:
        """POST ``payload`` as JSON; return the answer's status code.

        The whole call (name lookup, connect, request, status line) fits in
        ``deadline`` seconds. ``allow_private`` lets the URL reach private, loopback
        and link-local addresses. Raises :class:`OutboundFailed`, never an
        exception of the HTTP library.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release pooled connections."""
