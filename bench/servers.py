"""The three servers under test, each from a throwaway config on a loopback port of its own.

Prosody and ejabberd run as ordinary background processes (never the system
services the Debian packages install), each from its Debian default configuration
(the constants below say what was changed and why), with STARTTLS required on every
server and the same self-signed certificate. Every server checks the password in
SASL PLAIN against what it stores by default: Prosody and ejabberd against SCRAM-SHA-1
keys (PBKDF2, 10,000 and 4,096 iterations), tidings against its SCRAM-SHA-256 keys
(4,096), falling back to argon2id only for accounts without them. tidings also
accepts a session token as the PLAIN password (a second, labelled row).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.xmpp_load import Account, Client

DOMAIN = "localhost"
MUC_DOMAIN = f"conference.{DOMAIN}"
PASSWORD = "bench-password-1"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc (no psutil needed)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def rss_bytes(pid: int) -> int:
    """Resident memory of a process tree (ejabberd runs under su and a shell)."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def cpu_seconds(pid: int) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for member in _tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


@dataclass
class Server:
    """A running server: where to connect, who may log in, which room holds whom."""

    name: str
    port: int
    domain: str = DOMAIN
    accounts: list[Account] = field(default_factory=list)
    rooms: dict[int, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    folder: Path | None = None
    core: str = ""
    #: Every server requires STARTTLS before SASL.
    tls: bool = True
    #: tidings only: the same users with a session token as the PLAIN password.
    token_accounts: list[Account] = field(default_factory=list)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def spawn(
        self, argv: list[str], env: dict[str, str] | None = None, user: str | None = None
    ) -> None:
        """Start ``argv`` pinned to ``core``; as ``user`` if given (and we are root)."""
        pin = ["taskset", "-c", self.core] if self.core and shutil.which("taskset") else []
        assert self.folder is not None
        entry = pwd.getpwnam(user) if user and os.geteuid() == 0 else None

        def prepare() -> None:
            _raise_fd_limit()
            if entry is not None:
                os.setgid(entry.pw_gid)
                os.setuid(entry.pw_uid)

        self.proc = subprocess.Popen(
            [*pin, *argv],
            env=env,
            stdout=open(self.folder / "out.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=prepare,
        )

    async def ready(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Wait until the port accepts; on failure show the server's output and stop it."""
        assert self.proc is not None
        try:
            await wait_port(self.port, self.proc, timeout)
        except BaseException:
            if self.folder is not None:
                for log in sorted(self.folder.rglob("*.log")):
                    print(f"--- {log}:\n{log.read_text(errors='replace')[-3000:]}")
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the processes this run started: the child and everything under it.

        ejabberdctl runs the Erlang VM through ``su``, which leaves our process
        group, so signalling the group alone would leave ``beam.smp`` running.
        """
        if self.proc is not None and self.proc.poll() is None:
            family = _tree(self.proc.pid)
            for pid in family:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and any(_alive(pid) for pid in family):
                self.proc.poll()
                time.sleep(0.1)
            for pid in family:
                if _alive(pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
            self.proc.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    async def register_peers(self, count: int, concurrency: int = 20) -> None:
        """Create ``count`` users by in-band registration (Prosody and ejabberd)."""
        gate = asyncio.Semaphore(concurrency)
        names = [f"u{i}" for i in range(count)]

        async def one(name: str) -> None:
            async with gate:
                await Client("127.0.0.1", self.port, self.domain).register(name, PASSWORD)

        await asyncio.gather(*(one(n) for n in names))
        self.accounts = [Account(n, PASSWORD, f"{n}@{self.domain}") for n in names]
        self.rooms = {}


def _throwaway(prefix: str, owner: str | None = None) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    folder.chmod(0o755)
    if owner and os.geteuid() == 0:
        entry = pwd.getpwnam(owner)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder


def _chown_tree(folder: Path, owner: str) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(owner)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)


# -- TLS ------------------------------------------------------------------------------------


def certificate(folder: Path) -> tuple[Path, Path]:
    """One self-signed EC P-256 certificate (tidings' development one) for every server,
    so the three pay the same handshake; the driver does not verify it."""
    from tidings.gateways.xmpp.certificates import dev_certificate

    return dev_certificate(folder, DOMAIN)


# -- Prosody --------------------------------------------------------------------------------

#: Debian's /etc/prosody/prosody.cfg.lua for 0.12, minus comments: its modules, its
#: traffic limits, its authentication (``internal_hashed``: SCRAM-SHA-1 keys at 10,000
#: iterations, which PLAIN is checked against) and its storage (``internal``: files).
#: Changed only where a throwaway server must: paths, ports, no s2s, the certificate,
#: in-band registration open for the driver's accounts, plus ``mam`` (1-1 archiving,
#: ``default_archive_policy = true``) and a MUC component with ``muc_mam``, as every
#: server in the run archives 1-1 and room messages.
PROSODY_CONFIG = """
daemonize = false
pidfile = "{folder}/prosody.pid"
data_path = "{folder}/data"
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
network_backend = "epoll"
log = {{ {{ levels = {{ min = "warn" }}, to = "file", filename = "{folder}/prosody.log" }} }}
modules_enabled = {{
    "disco"; "roster"; "saslauth"; "tls"; "blocklist"; "bookmarks"; "carbons";
    "dialback"; "limits"; "pep"; "private"; "smacks"; "vcard4"; "vcard_legacy";
    "csi_simple"; "invites"; "invites_adhoc"; "invites_register"; "ping"; "register";
    "time"; "uptime"; "version"; "admin_adhoc"; "admin_shell"; "posix";
    "mam";
}}
limits = {{ c2s = {{ rate = "10kb/s"; }}; s2sin = {{ rate = "30kb/s"; }}; }}
authentication = "internal_hashed"
{storage}
ssl = {{ certificate = "{cert}"; key = "{key}"; }}
c2s_require_encryption = true
allow_registration = true
registration_invite_only = false
default_archive_policy = true
archive_expires_after = "1w"
VirtualHost "{domain}"
Component "{muc}" "muc"
    modules_enabled = {{ "muc_mam" }}
    muc_room_locking = false
    restrict_room_creation = false
    muc_room_default_presence_broadcast = {{ moderator = true }}
    muc_log_by_default = true
    muc_log_all_rooms = true
    muc_room_default_history_length = 0
"""

#: Prosody's documented SQL storage, SQLite through LuaDBI (the second Prosody row).
PROSODY_SQL = 'storage = "sql"\nsql = { driver = "SQLite3", database = "prosody.sqlite" }'


async def start_prosody(core: str = "", sql: bool = False) -> Server:
    folder = _throwaway("prosody")
    (folder / "data").mkdir()
    cert, key = certificate(folder)
    port = free_port()
    (folder / "prosody.cfg.lua").write_text(
        PROSODY_CONFIG.format(
            folder=folder,
            port=port,
            domain=DOMAIN,
            muc=MUC_DOMAIN,
            cert=cert,
            key=key,
            storage=PROSODY_SQL if sql else "-- storage: internal (files), the default",
        )
    )
    _chown_tree(folder, "prosody")
    name = "Prosody (SQLite)" if sql else "Prosody"
    server = Server(name, port, folder=folder, core=core)
    # As the prosody user: started as root, prosody refuses (mod_posix) at random.
    server.spawn(["prosody", "--config", str(folder / "prosody.cfg.lua"), "-F"], user="prosody")
    await server.ready()
    return server


# -- ejabberd -------------------------------------------------------------------------------

#: Debian's /etc/ejabberd/ejabberd.yml for 23.01: its c2s listener (STARTTLS required,
#: the ``normal`` shaper of 3,000 B/s with a 20,000 B burst), its password format
#: (``scram``: PLAIN is checked against SCRAM-SHA-1 keys at 4,096 iterations), Mnesia
#: storage, and its modules, minus those that need a listener or service a throwaway
#: server does not have (BOSH, HTTP API, MQTT, STUN, push). Changed: paths, the port,
#: the certificate, registration open for the driver, and ``mod_mam`` (``default:
#: always``) since every server in the run archives; rooms archive (``mam: true`` is
#: already Debian's room default).
EJABBERD_CONFIG = """
hosts: ["{domain}"]
loglevel: warning
log_rotate_count: 0
certfiles: ["{pem}"]
registration_timeout: infinity
auth_password_format: scram
shaper:
  normal:
    rate: 3000
    burst_size: 20000
  fast: 100000
shaper_rules:
  max_user_sessions: 10
  max_user_offline_messages: 5000
  c2s_shaper:
    normal: all
acl:
  loopback:
    ip: ["127.0.0.0/8"]
access_rules:
  local:
    allow: all
  c2s:
    allow: all
  register:
    allow: all
listen:
  - port: {port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: c2s_shaper
    access: c2s
    starttls_required: true
modules:
  mod_adhoc: {{}}
  mod_avatar: {{}}
  mod_blocking: {{}}
  mod_caps: {{}}
  mod_carboncopy: {{}}
  mod_client_state: {{}}
  mod_disco: {{}}
  mod_last: {{}}
  mod_offline:
    access_max_user_messages: max_user_offline_messages
  mod_ping: {{}}
  mod_privacy: {{}}
  mod_private: {{}}
  mod_pubsub:
    plugins: [flat, pep]
  mod_register:
    access: register
    ip_access: all
  mod_roster:
    versioning: true
  mod_stream_mgmt:
    resend_on_timeout: if_offline
  mod_vcard:
    search: false
  mod_vcard_xupdate: {{}}
  mod_version: {{}}
{mam}
  mod_muc:
    host: "{muc}"
    access: all
    access_create: all
    access_persistent: all
    max_users: 5000
    history_size: 0
    default_room_options:
      max_users: 5000
      mam: {room_mam}
      presence_broadcast: [moderator]
"""


async def start_ejabberd(core: str = "", archive: bool = True) -> Server:
    folder = _throwaway("ejabberd")
    for sub in ("spool", "logs"):
        (folder / sub).mkdir()
    cert, key = certificate(folder)
    pem = folder / "ejabberd.pem"
    pem.write_text(cert.read_text() + key.read_text())
    pem.chmod(0o600)
    port = free_port()
    mam = "  mod_mam:\n    db_type: mnesia\n    default: always\n" if archive else ""
    (folder / "ejabberd.yml").write_text(
        EJABBERD_CONFIG.format(
            domain=DOMAIN,
            port=port,
            muc=MUC_DOMAIN,
            mam=mam,
            room_mam=str(archive).lower(),
            pem=pem,
        )
    )
    (folder / "ejabberdctl.cfg").write_text("ERL_MAX_PORTS=200000\nERL_PROCESSES=1000000\n")
    _chown_tree(folder, "ejabberd")
    name = "ejabberd" + ("" if archive else " (no archive)")
    server = Server(name, port, folder=folder, core=core)
    server.spawn(
        [
            "ejabberdctl",
            "--node",
            f"bench{port}@localhost",
            "--config-dir",
            str(folder),
            "--config",
            str(folder / "ejabberd.yml"),
            "--ctl-config",
            str(folder / "ejabberdctl.cfg"),
            "--spool",
            str(folder / "spool"),
            "--logs",
            str(folder / "logs"),
            "foreground",
        ],
        # As the ejabberd user ourselves: ejabberdctl would otherwise go through su,
        # whose PAM limits put the VM back at 1,024 open files.
        env={**os.environ, "HOME": str(folder)},
        user="ejabberd",
    )
    await server.ready(timeout=90)
    return server


# -- tidings --------------------------------------------------------------------------------


async def prepare_tidings(
    data_dir: Path, users: int, groups: list[int], database_url: str = ""
) -> tuple[list[Account], list[Account], dict[int, str], int]:
    """Create an app, ``users`` users and a group dialog per size; the accounts log in
    with the password, the token accounts with a session token each.

    Goes through the core (so every row and index is the real thing: each user gets
    SCRAM keys with a salt of its own), with one precomputed argon2id hash for all
    users: they share a password, and hashing it per user would spend minutes on
    nothing the benchmark measures (a PLAIN login is checked against the SCRAM keys).
    """
    import tidings.core.users as users_module
    from tidings.bus import MemoryBus
    from tidings.core.hub import Core
    from tidings.core.passwords import hash_password
    from tidings.domain.models import Actor
    from tidings.files import MemoryFileStorage
    from tidings.settings import Settings
    from tidings.store.database import Database
    from tidings.store.migrate import migrate

    settings = Settings(data_dir=data_dir, database_url=database_url)
    db = Database(settings.effective_database_url)
    await migrate(db)
    bus = MemoryBus()
    await bus.start()
    core = Core(settings, db, bus, MemoryFileStorage())
    shared = await hash_password(PASSWORD)

    async def same_hash(_password: str, **_cost: int) -> str:
        return shared

    original = users_module.hash_password
    users_module.hash_password = same_hash  # type: ignore[assignment]
    try:
        app = await core.apps.create_app(f"bench-{os.getpid()}-{time.time_ns()}")
        accounts, token_accounts, ids = [], [], []
        for i in range(users):
            user = await core.users.create_user(app.id, login=f"u{i}", password=PASSWORD)
            session = await core.auth.create_session(app.id, user.id)
            local = f"{user.id}-{app.id}"
            bare = f"{local}@{settings.xmpp_domain}"
            accounts.append(Account(local, PASSWORD, bare))
            token_accounts.append(Account(local, session.token, bare))
            ids.append(user.id)
        rooms = {}
        for size in groups:
            owner = Actor(app.id, ids[0])
            dialog = await core.dialogs.create_dialog(
                owner, "group", occupant_ids=ids[1:size], name=f"bench {size}"
            )
            rooms[size] = f"{app.id}_{dialog.id}@muc.{settings.xmpp_domain}"
    finally:
        users_module.hash_password = original  # type: ignore[assignment]
        await bus.close()
        await db.close()
    return accounts, token_accounts, rooms, app.id


async def start_tidings(
    users: int,
    groups: list[int],
    *,
    core: str = "",
    database_url: str = "",
    bus_url: str = "",
    processes: int = 1,
    label: str = "tidings",
    settings: dict[str, str] | None = None,
) -> list[Server]:
    """``tidings serve`` (``processes`` of them, sharing database and bus when > 1)."""
    folder = _throwaway("tidings")
    accounts, token_accounts, rooms, _app = await prepare_tidings(
        folder, users, groups, database_url
    )
    servers = []
    for index in range(processes):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
        env.update(
            TIDINGS_DATA_DIR=str(folder),
            TIDINGS_LOG_LEVEL="WARNING",
            TIDINGS_LOG_FORMAT="text",
            TIDINGS_DATABASE_URL=database_url,
        )
        if bus_url:
            env["TIDINGS_BUS_URL"] = bus_url
        env.update(settings or {})  # e.g. {"TIDINGS_XMPP_ACK_DELAY_MS": "50"}
        server = Server(
            label,
            port,
            accounts=accounts,
            token_accounts=token_accounts,
            rooms=rooms,
            folder=folder,
            core=core,
        )
        if processes > 1:
            server.name = f"{label} node {index + 1}"
        server.spawn(
            [
                sys.executable,
                "-m",
                "tidings.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--xmpp-port",
                str(port),
            ],
            env=env,
        )
        servers.append(server)
        try:
            await server.ready()
        except BaseException:
            for started in reversed(servers):
                started.stop()
            raise
    for server in servers[1:]:
        server.folder = None  # the first one removes the shared folder
    return servers
