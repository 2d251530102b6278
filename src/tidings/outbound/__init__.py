"""Outbound HTTP: the calls the core makes to services an app's operator names.

The core decides *whether* to call and what an answer means; this package does
the wire I/O behind one small interface (:class:`Outbound`), so the core imports
no HTTP library. Every destination passes the SSRF guard (:mod:`.ssrf`), which
webhooks use too.
"""

from tidings.outbound.base import Outbound, OutboundFailed
from tidings.outbound.http import HttpxOutbound

__all__ = ["HttpxOutbound", "Outbound", "OutboundFailed"]
