"""Async Python client for tidings' native API, used by bots, tests and benchmarks."""

from tidings.client.realtime import RealtimeConnection, RealtimeError
from tidings.client.rest import ApiError, TidingsClient

__all__ = ["ApiError", "RealtimeConnection", "RealtimeError", "TidingsClient"]
