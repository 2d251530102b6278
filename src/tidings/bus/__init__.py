"""The event bus: domain events from core services to every node's gateways."""

from tidings.bus.base import (
    DEFAULT_CHANNEL,
    Bus,
    Handler,
    ResumeHandler,
    create_bus,
    decode_event,
    encode_event,
)
from tidings.bus.memory import MemoryBus
from tidings.bus.redis import RedisBus

__all__ = [
    "DEFAULT_CHANNEL",
    "Bus",
    "Handler",
    "MemoryBus",
    "RedisBus",
    "ResumeHandler",
    "create_bus",
    "decode_event",
    "encode_event",
]
