"""Async Python client for tidings' native API, used by bots, tests and benchmarks.

Calls return typed answers: the domain's values (``Dialog``, ``Message``, ``User``,
...) and the envelopes of ``tidings.api_schemas`` (``DialogList``, ``HistoryOut``,
...), re-exported here so callers need one import.
"""

from tidings.api_schemas import (
    DialogList,
    ErrorBody,
    ErrorFrame,
    Event,
    Hello,
    HistoryOut,
    NotificationsOut,
    PrivacyNames,
    ResyncDialog,
    SearchOut,
    SessionOut,
    UnreadOut,
)
from tidings.client.realtime import RealtimeConnection, RealtimeError
from tidings.client.rest import ApiError, TidingsClient
from tidings.domain.models import Contact, Dialog, FileInfo, Message, Presence, PrivacyList, User

__all__ = [
    "ApiError",
    "Contact",
    "Dialog",
    "DialogList",
    "ErrorBody",
    "ErrorFrame",
    "Event",
    "FileInfo",
    "Hello",
    "HistoryOut",
    "Message",
    "NotificationsOut",
    "Presence",
    "PrivacyList",
    "PrivacyNames",
    "RealtimeConnection",
    "RealtimeError",
    "ResyncDialog",
    "SearchOut",
    "SessionOut",
    "TidingsClient",
    "UnreadOut",
    "User",
]
