"""Logs and metrics: how an operator sees what one tidings process is doing.

Metrics live in a dedicated :data:`REGISTRY`, not prometheus_client's global
one, so importing tidings never touches someone else's registry and a test
process that starts several servers still defines each metric exactly once
(the module is imported once; servers share the counters).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

HTTP_REQUESTS = Counter(
    "tidings_http_requests",
    "HTTP requests answered, by route template (not raw path, to bound cardinality).",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "tidings_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    registry=REGISTRY,
)
MESSAGES_SENT = Counter(
    "tidings_messages_sent",
    "Chat messages accepted, through any gateway.",
    registry=REGISTRY,
)
WS_CONNECTIONS = Gauge(
    "tidings_ws_connections",
    "WebSocket connections open on this process.",
    registry=REGISTRY,
)
EVENTS_PUBLISHED = Counter(
    "tidings_events_published",
    "Domain events published on the bus by this process, by event name.",
    ["type"],
    registry=REGISTRY,
)
LOGIN_FAILURES = Counter(
    "tidings_login_failures",
    "Rejected logins (wrong credentials or rate limited).",
    registry=REGISTRY,
)


#: The app a request turned out to serve, filled in while it runs (see :func:`note_app`).
_REQUEST_APP: ContextVar[list[int] | None] = ContextVar("tidings_request_app", default=None)


def begin_request() -> list[int]:
    """A holder :func:`note_app` fills for the request running in this context."""
    holder: list[int] = []
    _REQUEST_APP.set(holder)
    return holder


def note_app(app_id: int) -> None:
    """Record which app the current HTTP request serves, for its access-log line.

    Called where an app is resolved (a session token, an apikey); a no-op outside
    a request, so the core can call it without knowing about HTTP.
    """
    holder = _REQUEST_APP.get()
    if holder is not None and not holder:
        holder.append(app_id)


def render_metrics() -> tuple[bytes, str]:
    """The ``/metrics`` body and its content type, in Prometheus text format."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# Attributes every LogRecord has; anything else on a record came from ``extra=``.
# ``color_message`` is uvicorn's copy of the message with ANSI colour codes: never shipped.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers: ts, level, logger, msg, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: a log line must never fail because an extra is odd.
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A line for humans at a terminal, with any extras appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if not extras:
            return line
        first, newline, rest = line.partition("\n")
        pairs = " ".join(f"{k}={v!r}" for k, v in extras.items())
        return f"{first} [{pairs}]{newline}{rest}"


_FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}


def configure_logging(fmt: str, level: str) -> None:
    """Send every log record to stderr in ``fmt`` ("json" or "text") from ``level`` up.

    Calling it again replaces the handler it installed, and leaves other
    handlers (pytest's, for instance) alone.
    """
    try:
        formatter = _FORMATTERS[fmt]()
    except KeyError:
        raise ValueError(f"log format must be 'json' or 'text', not {fmt!r}") from None
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_tidings", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler._tidings = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
