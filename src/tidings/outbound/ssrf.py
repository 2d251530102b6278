"""The SSRF guard: a URL chosen by an app must not reach our own network.

An app's operator types the webhook URL and the service-desk auth URL; without
this check a URL such as ``http://169.254.169.254/`` or ``http://localhost:5432/``
would make the server probe its own infrastructure. Every address the host name resolves to must be
public (``ipaddress``'s ``is_global``) unless private destinations are allowed,
by the operator (``TIDINGS_WEBHOOK_ALLOW_PRIVATE``) or for one app
(``{"allow_private_destinations": true}`` in its config).

The check resolves the name itself and the HTTP client resolves it again, so a
name whose DNS answer changes between the two (rebinding) is not stopped here;
an egress firewall is the complete answer to that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class DestinationRefused(Exception):
    """The URL is malformed, not http(s), or resolves to a non-public address."""


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Raise :class:`DestinationRefused` unless ``url`` may be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused(f"not an http(s) URL: {url[:200]!r}")
    if parts.username or parts.password:
        raise DestinationRefused("credentials in a destination URL are not allowed")
    if allow_private:
        return
    host = parts.hostname
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise DestinationRefused(f"cannot resolve {host!r}: {exc}") from exc
    addresses = {str(info[4][0]) for info in infos}
    private = sorted(a for a in addresses if not is_public_address(a))
    if not addresses or private:
        raise DestinationRefused(f"{host!r} resolves to a non-public address {private[:3]}")
