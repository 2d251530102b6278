"""Every ``TIDINGS_*`` environment variable, declared once: type, default, bounds, doc.

The defaults run on one machine with nothing else installed: a SQLite file and
stored files under ``./var``, and an in-memory event bus. Point
``TIDINGS_DATABASE_URL`` at PostgreSQL and ``TIDINGS_BUS_URL`` at Redis to run
several nodes.

Each field of :class:`Settings` is one variable (``TIDINGS_`` + its name in capitals);
pydantic-settings reads and checks it, so a typo in a value stops the process at
start with the variable named, rather than surfacing later as odd behaviour.
``docs/configuration.md`` carries the table :func:`configuration_markdown` renders from
these declarations (``python -m tidings.settings --write-docs docs/configuration.md``).

Constructing ``Settings(...)`` reads no environment: tests and embedders get the
declared defaults plus what they pass. :meth:`Settings.from_env` is what the CLI uses.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, get_args

from annotated_types import Ge, Le
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PREFIX = "TIDINGS_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

#: The environment :meth:`Settings.from_env` is reading; None: read none.
_environ: ContextVar[Mapping[str, str] | None] = ContextVar("tidings_environ", default=None)


class SettingsError(ValueError):
    """An invalid ``TIDINGS_*`` value; the message is one line naming each variable."""


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, over a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self.case_sensitive:
            return dict(self._environ)
        return {key.lower(): value for key, value in self._environ.items()}


class Settings(BaseSettings):
    """Immutable configuration of one tidings process."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, frozen=True, extra="forbid", validate_default=True
    )

    data_dir: Path = Field(
        Path("./var"), description="Folder for the SQLite database and stored files."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL. Empty means the SQLite file `<data dir>/tidings.db` (for any "
        "`sqlite` URL, `TIDINGS_SQLITE_DRIVER` picks how it is called); "
        "use `postgresql+asyncpg://user@host/db` in production.",
    )
    sqlite_driver: Literal["inline", "thread"] = Field(
        "inline",
        description="How SQLite is called: `inline` runs each statement on the event loop's "
        "thread (fast: statements take microseconds); `thread` uses aiosqlite's worker thread "
        "(a long query does not stall the loop, but every statement pays a thread hop).",
    )
    bus_url: str = Field(
        "memory://",
        pattern=r"^(memory|rediss?|unix)://",
        description="Event bus: `memory://` (one process) or `redis://host:6379/0` "
        "(several nodes).",
    )
    redis_namespace: str = Field(
        "tidings",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Names what this cluster keeps in Redis: the bus channel "
        "(`<namespace>:events`) and the rate limiter's keys (`<namespace>:rl:…`). Nodes of "
        "one cluster share it; two clusters on one Redis need different ones.",
    )
    bus_backlog: int = Field(
        10000,
        ge=1,
        description="Events a node holds, in order, while Redis is unreachable, and publishes "
        "when it is back. Past this, new events are dropped and every node catches its live "
        "sessions up from the store.",
    )
    catch_up_limit: int = Field(
        10000,
        ge=1,
        description="Most messages a node reads back from the store after a bus outage to push "
        "to its live sessions; if more were missed, clients are told to resync.",
    )
    host: str = Field("127.0.0.1", min_length=1, description="Address the HTTP server binds to.")
    port: int = Field(
        8080,
        ge=0,
        le=65535,
        description="HTTP port (REST, WebSocket, console). 0 picks a free one.",
    )
    xmpp_port: int = Field(5222, ge=0, le=65535, description="XMPP c2s port; 0 disables it.")
    xmpp_tls_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="XMPP c2s port where TLS starts at once (XEP-0368 direct TLS, ALPN "
        "`xmpp-client`; 5223 is usual); 0 disables it.",
    )
    xmpp_domain: str = Field(
        "localhost", min_length=1, description="XMPP domain used in every JID."
    )
    xmpp_cert: str = Field(
        "",
        description="PEM certificate (chain) for XMPP STARTTLS. Empty: a self-signed one is "
        "generated in the data folder (development only).",
    )
    xmpp_key: str = Field("", description="PEM private key of `TIDINGS_XMPP_CERT`.")
    xmpp_scram_iterations: int = Field(
        4096,
        ge=4096,
        le=600000,
        description="PBKDF2 iterations of the SCRAM-SHA-1/-256 keys stored when a password is "
        "set (RFC 5802, RFC 7677: at least 4096). More slows offline guessing from a copy of "
        "the database, and every SCRAM client's login by as much; existing keys keep their "
        "count until the next PLAIN login or password change.",
    )
    xmpp_push_jid: str = Field(
        "",
        max_length=1023,
        description="JID of the server's own XEP-0357 push component: an XMPP client that "
        "enables push to it with its APNs or FCM token (publish-options `platform`, `token`) "
        "gets the pushes the other gateways send, through the same device registry and "
        "outbox. Empty: `push.<TIDINGS_XMPP_DOMAIN>`. Other app servers are refused "
        "(there is no server-to-server XMPP).",
    )
    xmpp_ack_delay_ms: int = Field(
        0,
        ge=0,
        description="Milliseconds before the XMPP gateway asks a client to confirm the messages "
        "it was sent (XEP-0198 `<r/>`, else an XEP-0199 ping); only confirmed ones count as "
        "delivered. 0: the request goes with every message, so after a dead connection only "
        "what the client read in its last moment arrives twice. More: one answer per client "
        "per delay in big rooms, and up to that much of messages sent again after a dead "
        "connection.",
    )
    node_id: str = Field("", description="Name of this node in logs and presence. Empty: random.")
    session_ttl: int = Field(86400, ge=1, description="Seconds a session token stays valid.")
    max_message_length: int = Field(10000, ge=1, description="Most characters in one message body.")
    max_body_bytes: int = Field(
        1048576,
        ge=1024,
        description="Largest JSON request body, in bytes (uploads have their own limit).",
    )
    max_upload_bytes: int = Field(52428800, ge=1, description="Largest uploaded file, in bytes.")
    upload_slot_max_bytes: int = Field(
        10485760,
        ge=1,
        description="Largest file a client may ask an upload slot for (XEP-0363 HTTP File "
        "Upload), in bytes; advertised to clients as `max-file-size`.",
    )
    upload_quota_bytes: int = Field(
        1073741824,
        ge=0,
        description="Bytes of stored files a user may own before upload slots are refused "
        "(every file they own counts, whichever API stored it). 0: no quota.",
    )
    upload_slot_seconds: int = Field(
        300,
        ge=10,
        le=86400,
        description="Seconds an upload slot's PUT URL stays valid after it is handed out.",
    )
    upload_base_url: str = Field(
        "",
        description="Public base URL of the HTTP port that upload slots point to, e.g. "
        "`https://chat.example.com` behind a reverse proxy. Empty: "
        "`http://<TIDINGS_XMPP_DOMAIN>:<TIDINGS_PORT>`.",
    )
    avatar_max_bytes: int = Field(
        131072,
        ge=1,
        le=16777216,
        description="Largest avatar image, in bytes (an XMPP vCard PHOTO, XEP-0054/XEP-0153). "
        "Base64 inflates it by a third inside a stanza, which the XMPP stream caps at 256 KiB.",
    )
    max_contacts: int = Field(300, ge=0, description="Most contacts (roster entries) per user.")
    pep_max_payload_bytes: int = Field(
        131072,
        ge=1024,
        le=200_000,
        description="Largest item payload a user may publish to a personal eventing node "
        "(XEP-0163: avatars, nick, bookmarks, OMEMO keys), in bytes of XML; more gets "
        "`not-acceptable` with `payload-too-big`. Below the 256 KiB stanza limit.",
    )
    pep_max_items: int = Field(
        256,
        ge=1,
        le=10000,
        description="Most items one personal eventing node keeps (also the ceiling of a "
        "node's `pubsub#max_items`); the oldest go first.",
    )
    pep_max_nodes: int = Field(
        64,
        ge=1,
        le=10000,
        description="Most personal eventing nodes per user; publishing to one more gets "
        "`not-allowed` with `max-nodes-exceeded`.",
    )
    login_rate: int = Field(
        10,
        ge=1,
        description="Failed logins allowed per account from one client address per login "
        "window; a correct password clears the count. Failures elsewhere never block the owner.",
    )
    password_hash_memory_kib: int = Field(
        19456,
        ge=1024,
        le=4194304,
        description="Argon2id memory per password hash, in KiB. The default with "
        "`TIDINGS_PASSWORD_HASH_ITERATIONS=2` is OWASP's minimum for argon2id; go lower only "
        "for test runs, where hashing thousands of throwaway passwords would dominate. A "
        "stored hash keeps the cost it was made with, so a change applies to passwords set "
        "from then on.",
    )
    password_hash_iterations: int = Field(
        2, ge=1, le=20, description="Argon2id passes per password hash (see the memory above)."
    )
    login_rate_per_address: int = Field(
        100,
        ge=1,
        description="Failed logins allowed per client address per login window "
        "(all accounts together).",
    )
    login_window: int = Field(
        60,
        ge=1,
        description="Seconds over which login failures are counted. Limits are shared through "
        "Redis when `TIDINGS_BUS_URL` is Redis; a limited login gets 429 + Retry-After "
        "(XMPP: `<temporary-auth-failure/>`).",
    )
    auth_timeout: int = Field(
        60,
        ge=0,
        description="Seconds a connection has to authenticate: XMPP (TCP and WebSocket) must "
        "finish SASL, a Bayeux WebSocket must complete a handshake; then it is closed. "
        "0: never.",
    )
    http_header_timeout: int = Field(
        60,
        ge=0,
        description="Seconds for a request's headers to arrive (from connect, or from the "
        "first byte on a kept-alive connection); a late request gets 408 and the connection "
        "closes. 0: never.",
    )
    http_body_timeout: int = Field(
        60,
        ge=0,
        description="Seconds a request body may stall between two reads before it gets 408 "
        "and the connection closes. 0: never.",
    )
    http_keepalive_timeout: int = Field(
        5,
        ge=1,
        description="Seconds an idle kept-alive HTTP connection stays open between requests.",
    )
    ws_send_queue: int = Field(
        1000,
        ge=1,
        description="Events buffered per WebSocket before a slow client is disconnected.",
    )
    presence_timeout: int = Field(
        90,
        ge=1,
        description="Seconds after which a node that stopped refreshing its connections "
        "counts as gone.",
    )
    delivery_workers: int = Field(
        1,
        ge=0,
        description="Outbox delivery workers (push, webhooks) in this process; 0 runs none.",
    )
    delivery_max_attempts: int = Field(
        12, ge=1, description="Tries of one push or webhook before it is dead-lettered."
    )
    delivery_retry_base_ms: int = Field(
        1000,
        ge=1,
        description="First retry delay cap in ms; doubles per try (full jitter).",
    )
    delivery_retry_max_ms: int = Field(
        600000,
        ge=1,
        description="Longest delay between two tries of one delivery, in ms; at least "
        "`TIDINGS_DELIVERY_RETRY_BASE_MS`.",
    )
    delivery_poll_ms: int = Field(
        500,
        ge=1,
        description="How often an idle worker looks for due deliveries, in ms.",
    )
    delivery_batch: int = Field(
        100,
        ge=1,
        description="Deliveries a worker claims (and holds in memory) at once.",
    )
    delivery_lease_ms: int = Field(
        60000,
        ge=1,
        description="How long a claimed delivery stays claimed; a crashed worker's rows "
        "return after it.",
    )
    delivery_per_destination: int = Field(
        4,
        ge=1,
        description="Concurrent requests to one destination (webhook origin or device token).",
    )
    webhook_allow_private: bool = Field(
        False,
        description="1 lets webhooks and the service-desk auth call reach private and loopback"
        " addresses (tests, trusted networks).",
    )
    apns_url: str = Field(
        "https://api.push.apple.com",
        pattern=r"^https?://",
        description="APNs provider API for production device tokens.",
    )
    apns_sandbox_url: str = Field(
        "https://api.sandbox.push.apple.com",
        pattern=r"^https?://",
        description="APNs provider API for development device tokens.",
    )
    apns_key_path: str = Field("", description="APNs token-auth key (.p8). Empty: no APNs.")
    apns_key_id: str = Field("", description="Key ID of the APNs .p8 key.")
    apns_team_id: str = Field("", description="Apple developer team ID (JWT issuer).")
    apns_topic: str = Field("", description="Default apns-topic: the app's bundle ID.")
    fcm_credentials: str = Field(
        "", description="Path to a Firebase service-account JSON file. Empty: no FCM."
    )
    fcm_url: str = Field(
        "https://fcm.googleapis.com",
        pattern=r"^https?://",
        description="FCM HTTP v1 API root; messages go to `/v1/projects/{project}/messages:send`.",
    )
    fcm_token_uri: str = Field(
        "",
        description="OAuth2 token endpoint. Empty: the service account's `token_uri`.",
    )
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        "auto",
        description="`auto` (uvloop when installed, else asyncio), `uvloop` or `asyncio`.",
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`json` (one object per line) or `text`."
    )
    log_level: LogLevel = Field("INFO", description="Python logging level (any case).")
    access_log: bool = Field(
        True,
        description="One `tidings.access` log line per HTTP request: method, route, status, "
        "duration, app.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keywords first; then the environment, but only inside :meth:`from_env`."""
        environ = _environ.get()
        if environ is None:
            return (init_settings,)
        return (init_settings, _MappingSource(settings_cls, environ))

    @field_validator("node_id")
    @classmethod
    def _random_node_id(cls, value: str) -> str:
        return value or uuid.uuid4().hex[:12]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _retry_bounds(self) -> Settings:
        if self.delivery_retry_max_ms < self.delivery_retry_base_ms:
            raise ValueError(
                f"{PREFIX}DELIVERY_RETRY_MAX_MS ({self.delivery_retry_max_ms}) is below "
                f"{PREFIX}DELIVERY_RETRY_BASE_MS ({self.delivery_retry_base_ms})"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the ``TIDINGS_*`` variables; keyword overrides (CLI flags) win, None skips.

        Raises :class:`SettingsError` with one line naming every invalid variable.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        with _reading(os.environ if environ is None else environ):
            return cls._checked(given)

    @classmethod
    def _checked(cls, values: dict[str, Any]) -> Settings:
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some values changed, checked like the original."""
        return self._checked({**self.model_dump(), **changes})

    @property
    def scram_iterations(self) -> int:
        """`TIDINGS_XMPP_SCRAM_ITERATIONS` under the name the core uses (SCRAM is a SASL
        mechanism; the core names no gateway)."""
        return self.xmpp_scram_iterations

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tidings.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"


@contextmanager
def _reading(environ: Mapping[str, str]) -> Iterator[None]:
    token = _environ.set(environ)
    try:
        yield
    finally:
        _environ.reset(token)


def variable(attribute: str) -> str:
    return PREFIX + attribute.upper()


def describe(exc: ValidationError) -> str:
    """One line: ``TIDINGS_LOG_FORMAT='xml': Input should be 'json' or 'text'; ...``."""
    parts = []
    for error in exc.errors(include_url=False):
        where = error["loc"][0] if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        if where:
            parts.append(f"{variable(str(where))}={error['input']!r}: {message}")
        else:  # a check across variables names them in its message
            parts.append(message)
    return "; ".join(parts)


# --- the documentation table -------------------------------------------------------


def _default_text(info: FieldInfo) -> str:
    value = info.default
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Path) and not value.is_absolute():
        return f"./{value}"  # as a user would write it: relative to the working folder
    return str(value)


def _values_text(annotation: object, info: FieldInfo) -> str:
    """What a variable accepts, from its declaration: choices, bounds, or the type."""
    choices = get_args(annotation)
    if choices and all(isinstance(c, str) for c in choices):
        return ", ".join(f"`{c}`" for c in choices)
    if annotation is bool:
        return "`0` or `1`"
    if annotation is int:
        low = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
        high = next((m.le for m in info.metadata if isinstance(m, Le)), None)
        if low is not None and high is not None:
            return f"{low} to {high}"
        if low is not None:
            return f"integer ≥ {low}"
        return "integer"
    if annotation is Path:
        return "path"
    if any(getattr(m, "pattern", None) for m in info.metadata):
        return "URL"
    return "text"


def configuration_markdown() -> str:
    """The variable table in ``docs/configuration.md``, one row per declared variable."""
    lines = [
        "| variable | default | values | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for name, info in Settings.model_fields.items():
        values = _values_text(info.annotation, info)
        doc = info.description or ""
        lines.append(f"| `{variable(name)}` | `{_default_text(info)}` | {values} | {doc} |")
    return "\n".join(lines) + "\n"


#: name -> (attribute, default as text, description), derived from the declarations.
VARIABLES: dict[str, tuple[str, str, str]] = {
    variable(name): (name, _default_text(info), info.description or "")
    for name, info in Settings.model_fields.items()
}

_TABLE = re.compile(r"^\| variable \|.*?\n(?=\n|\Z)", re.DOTALL | re.MULTILINE)


def write_docs(path: Path) -> bool:
    """Replace the variable table in ``path`` (prose around it stays); True if it changed."""
    text = path.read_text()
    new, count = _TABLE.subn(lambda _: configuration_markdown(), text, count=1)
    if count != 1:
        raise SystemExit(f"{path}: no variable table found (a line starting '| variable |')")
    path.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tidings.settings", description="the TIDINGS_* variables"
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the variable table")
    group.add_argument("--write-docs", type=Path, metavar="FILE", help="update FILE's table")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(configuration_markdown())
    else:
        changed = write_docs(args.write_docs)
        print(f"{args.write_docs}: {'updated' if changed else 'already current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
