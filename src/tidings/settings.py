"""Every ``TIDINGS_*`` environment variable, typed and documented in one place.

The defaults run on one machine with nothing else installed: a SQLite file and
stored files under ``./var``, and an in-memory event bus. Point
``TIDINGS_DATABASE_URL`` at PostgreSQL and ``TIDINGS_BUS_URL`` at Redis to run
several nodes. ``docs/configuration.md`` is generated from :data:`VARIABLES`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

#: name -> (attribute, default as text, description). The single source of truth.
VARIABLES: dict[str, tuple[str, str, str]] = {
    "TIDINGS_DATA_DIR": ("data_dir", "./var", "Folder for the SQLite database and stored files."),
    "TIDINGS_DATABASE_URL": (
        "database_url",
        "",
        "SQLAlchemy URL. Empty means the SQLite file `<data dir>/tidings.db` (for any "
        "`sqlite` URL, `TIDINGS_SQLITE_DRIVER` picks how it is called); "
        "use `postgresql+asyncpg://user@host/db` in production.",
    ),
    "TIDINGS_SQLITE_DRIVER": (
        "sqlite_driver",
        "inline",
        "How SQLite is called: `inline` runs each statement on the event loop's thread "
        "(fast: statements take microseconds); `thread` uses aiosqlite's worker thread "
        "(a long query does not stall the loop, but every statement pays a thread hop).",
    ),
    "TIDINGS_BUS_URL": (
        "bus_url",
        "memory://",
        "Event bus: `memory://` (one process) or `redis://host:6379/0` (several nodes).",
    ),
    "TIDINGS_BUS_BACKLOG": (
        "bus_backlog",
        "10000",
        "Events a node holds, in order, while Redis is unreachable, and publishes when it "
        "is back. Past this, new events are dropped and every node catches its live "
        "sessions up from the store.",
    ),
    "TIDINGS_CATCH_UP_LIMIT": (
        "catch_up_limit",
        "10000",
        "Most messages a node reads back from the store after a bus outage to push to its "
        "live sessions; if more were missed, clients are told to resync.",
    ),
    "TIDINGS_HOST": ("host", "127.0.0.1", "Address the HTTP server binds to."),
    "TIDINGS_PORT": ("port", "8080", "HTTP port (REST, WebSocket, console). 0 picks a free one."),
    "TIDINGS_XMPP_PORT": ("xmpp_port", "5222", "XMPP c2s port; 0 disables it."),
    "TIDINGS_XMPP_DOMAIN": ("xmpp_domain", "localhost", "XMPP domain used in every JID."),
    "TIDINGS_XMPP_CERT": (
        "xmpp_cert",
        "",
        "PEM certificate (chain) for XMPP STARTTLS. Empty: a self-signed one is generated "
        "in the data folder (development only).",
    ),
    "TIDINGS_XMPP_KEY": ("xmpp_key", "", "PEM private key of `TIDINGS_XMPP_CERT`."),
    "TIDINGS_XMPP_ACK_DELAY_MS": (
        "xmpp_ack_delay_ms",
        "0",
        "Milliseconds before the XMPP gateway asks a client to confirm the messages it was "
        "sent (XEP-0198 `<r/>`, else an XEP-0199 ping); only confirmed ones count as "
        "delivered. 0: the request goes with every message, so after a dead connection only "
        "what the client read in its last moment arrives twice. More: one answer per client "
        "per delay in big rooms, and up to that much of messages sent again after a dead "
        "connection.",
    ),
    "TIDINGS_NODE_ID": ("node_id", "", "Name of this node in logs and presence. Empty: random."),
    "TIDINGS_SESSION_TTL": ("session_ttl", "86400", "Seconds a session token stays valid."),
    "TIDINGS_MAX_MESSAGE_LENGTH": (
        "max_message_length",
        "10000",
        "Most characters in one message body.",
    ),
    "TIDINGS_MAX_BODY_BYTES": (
        "max_body_bytes",
        "1048576",
        "Largest JSON request body, in bytes (uploads have their own limit).",
    ),
    "TIDINGS_MAX_UPLOAD_BYTES": (
        "max_upload_bytes",
        "52428800",
        "Largest uploaded file, in bytes.",
    ),
    "TIDINGS_MAX_CONTACTS": ("max_contacts", "300", "Most contacts (roster entries) per user."),
    "TIDINGS_LOGIN_RATE": (
        "login_rate",
        "10",
        "Failed logins allowed per account from one client address per login window; "
        "a correct password clears the count. Failures elsewhere never block the owner.",
    ),
    "TIDINGS_LOGIN_RATE_PER_ADDRESS": (
        "login_rate_per_address",
        "100",
        "Failed logins allowed per client address per login window (all accounts together).",
    ),
    "TIDINGS_LOGIN_WINDOW": (
        "login_window",
        "60",
        "Seconds over which login failures are counted. Limits are shared through Redis "
        "when `TIDINGS_BUS_URL` is Redis; a limited login gets 429 + Retry-After "
        "(XMPP: `<temporary-auth-failure/>`).",
    ),
    "TIDINGS_AUTH_TIMEOUT": (
        "auth_timeout",
        "60",
        "Seconds a connection has to authenticate: XMPP (TCP and WebSocket) must finish "
        "SASL, a Bayeux WebSocket must complete a handshake; then it is closed. 0: never.",
    ),
    "TIDINGS_HTTP_HEADER_TIMEOUT": (
        "http_header_timeout",
        "60",
        "Seconds for a request's headers to arrive (from connect, or from the first byte "
        "on a kept-alive connection); a late request gets 408 and the connection closes. "
        "0: never.",
    ),
    "TIDINGS_HTTP_BODY_TIMEOUT": (
        "http_body_timeout",
        "60",
        "Seconds a request body may stall between two reads before it gets 408 and the "
        "connection closes. 0: never.",
    ),
    "TIDINGS_HTTP_KEEPALIVE_TIMEOUT": (
        "http_keepalive_timeout",
        "5",
        "Seconds an idle kept-alive HTTP connection stays open between requests.",
    ),
    "TIDINGS_WS_SEND_QUEUE": (
        "ws_send_queue",
        "1000",
        "Events buffered per WebSocket before a slow client is disconnected.",
    ),
    "TIDINGS_PRESENCE_TIMEOUT": (
        "presence_timeout",
        "90",
        "Seconds after which a node that stopped refreshing its connections counts as gone.",
    ),
    "TIDINGS_DELIVERY_WORKERS": (
        "delivery_workers",
        "1",
        "Outbox delivery workers (push, webhooks) in this process; 0 runs none.",
    ),
    "TIDINGS_DELIVERY_MAX_ATTEMPTS": (
        "delivery_max_attempts",
        "12",
        "Tries of one push or webhook before it is dead-lettered.",
    ),
    "TIDINGS_DELIVERY_RETRY_BASE_MS": (
        "delivery_retry_base_ms",
        "1000",
        "First retry delay cap in ms; doubles per try (full jitter).",
    ),
    "TIDINGS_DELIVERY_RETRY_MAX_MS": (
        "delivery_retry_max_ms",
        "600000",
        "Longest delay between two tries of one delivery, in ms.",
    ),
    "TIDINGS_DELIVERY_POLL_MS": (
        "delivery_poll_ms",
        "500",
        "How often an idle worker looks for due deliveries, in ms.",
    ),
    "TIDINGS_DELIVERY_BATCH": (
        "delivery_batch",
        "100",
        "Deliveries a worker claims (and holds in memory) at once.",
    ),
    "TIDINGS_DELIVERY_LEASE_MS": (
        "delivery_lease_ms",
        "60000",
        "How long a claimed delivery stays claimed; a crashed worker's rows return after it.",
    ),
    "TIDINGS_DELIVERY_PER_DESTINATION": (
        "delivery_per_destination",
        "4",
        "Concurrent requests to one destination (webhook origin or device token).",
    ),
    "TIDINGS_WEBHOOK_ALLOW_PRIVATE": (
        "webhook_allow_private",
        "0",
        "1 lets webhooks and the service-desk auth call reach private and loopback"
        " addresses (tests, trusted networks).",
    ),
    "TIDINGS_APNS_URL": (
        "apns_url",
        "https://api.push.apple.com",
        "APNs provider API for production device tokens.",
    ),
    "TIDINGS_APNS_SANDBOX_URL": (
        "apns_sandbox_url",
        "https://api.sandbox.push.apple.com",
        "APNs provider API for development device tokens.",
    ),
    "TIDINGS_APNS_KEY_PATH": ("apns_key_path", "", "APNs token-auth key (.p8). Empty: no APNs."),
    "TIDINGS_APNS_KEY_ID": ("apns_key_id", "", "Key ID of the APNs .p8 key."),
    "TIDINGS_APNS_TEAM_ID": ("apns_team_id", "", "Apple developer team ID (JWT issuer)."),
    "TIDINGS_APNS_TOPIC": ("apns_topic", "", "Default apns-topic: the app's bundle ID."),
    "TIDINGS_FCM_CREDENTIALS": (
        "fcm_credentials",
        "",
        "Path to a Firebase service-account JSON file. Empty: no FCM.",
    ),
    "TIDINGS_FCM_URL": (
        "fcm_url",
        "https://fcm.googleapis.com",
        "FCM HTTP v1 API root; messages go to `/v1/projects/{project}/messages:send`.",
    ),
    "TIDINGS_FCM_TOKEN_URI": (
        "fcm_token_uri",
        "",
        "OAuth2 token endpoint. Empty: the service account's `token_uri`.",
    ),
    "TIDINGS_EVENT_LOOP": (
        "event_loop",
        "auto",
        "`auto` (uvloop when installed, else asyncio), `uvloop` or `asyncio`.",
    ),
    "TIDINGS_LOG_FORMAT": ("log_format", "json", "`json` (one object per line) or `text`."),
    "TIDINGS_LOG_LEVEL": ("log_level", "INFO", "Python logging level."),
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Immutable configuration of one tidings process."""

    data_dir: Path = Path("./var")
    database_url: str = ""
    sqlite_driver: str = "inline"
    bus_url: str = "memory://"
    bus_backlog: int = 10000
    catch_up_limit: int = 10000
    host: str = "127.0.0.1"
    port: int = 8080
    xmpp_port: int = 5222
    xmpp_domain: str = "localhost"
    xmpp_cert: str = ""
    xmpp_key: str = ""
    xmpp_ack_delay_ms: int = 0
    node_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    session_ttl: int = 86400
    max_message_length: int = 10000
    max_body_bytes: int = 1048576
    max_upload_bytes: int = 52428800
    max_contacts: int = 300
    login_rate: int = 10
    login_rate_per_address: int = 100
    login_window: int = 60
    auth_timeout: int = 60
    http_header_timeout: int = 60
    http_body_timeout: int = 60
    http_keepalive_timeout: int = 5
    ws_send_queue: int = 1000
    presence_timeout: int = 90
    delivery_workers: int = 1
    delivery_max_attempts: int = 12
    delivery_retry_base_ms: int = 1000
    delivery_retry_max_ms: int = 600000
    delivery_poll_ms: int = 500
    delivery_batch: int = 100
    delivery_lease_ms: int = 60000
    delivery_per_destination: int = 4
    webhook_allow_private: bool = False
    apns_url: str = "https://api.push.apple.com"
    apns_sandbox_url: str = "https://api.sandbox.push.apple.com"
    apns_key_path: str = ""
    apns_key_id: str = ""
    apns_team_id: str = ""
    apns_topic: str = ""
    fcm_credentials: str = ""
    fcm_url: str = "https://fcm.googleapis.com"
    fcm_token_uri: str = ""
    event_loop: str = "auto"
    log_format: str = "json"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the ``TIDINGS_*`` variables; keyword overrides (CLI flags) win."""
        environ = os.environ if environ is None else environ
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, object] = {}
        for name, (attr, default, _doc) in VARIABLES.items():
            raw = environ.get(name, default)
            if attr == "node_id" and not raw:
                continue
            values[attr] = _convert(raw, types[attr])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("data_dir"), str):
            values["data_dir"] = Path(str(values["data_dir"]))
        return cls(**values)  # type: ignore[arg-type]

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tidings.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"


def _convert(raw: str, kind: object) -> object:
    if kind in (bool, "bool"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind in (int, "int"):
        try:
            return int(raw)
        except ValueError as exc:
            raise ValueError(f"expected a whole number, got {raw!r}") from exc
    if kind in (Path, "Path"):
        return Path(raw)
    return raw


def configuration_markdown() -> str:
    """The table in ``docs/configuration.md``."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, (_attr, default, doc) in VARIABLES.items():
        lines.append(f"| `{name}` | `{default}` | {doc} |")
    return "\n".join(lines) + "\n"
