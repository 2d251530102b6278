"""A lost database connection is a retryable 503, never a 500, and retried sends store
each message once (ARCHITECTURE: "the same id twice stores one message";
docs/operations.md, "Database hiccups").

- PostgreSQL backends terminated mid-burst: a real ``tidings serve`` process on a
  database of its own; an admin connection terminates every backend of that database
  several times while a sender posts 500 messages over the native REST API, retrying
  each with the same id until it is stored. Every answer is 201 or 503, the pool
  reconnects by itself, and history holds each message exactly once.
- PostgreSQL unreachable (a TCP proxy in front of it cut, then restored): every
  gateway answers 503 with ``Retry-After`` in its own error shape, and serves again
  once the database is back, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.integration.conftest import FreshDatabase
from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tidings.domain.ids import new_id

TOTAL = 500
SENDERS = 8
#: Terminate the server's backends when this many messages are stored (and once more
#: right after each, so a kill also lands on freshly reconnected connections).
KILL_AT = (50, 150, 250, 350, 450)
MAX_TRIES = 200


@dataclass
class Tally:
    stored: int = 0
    unavailable: int = 0
    connection_errors: int = 0
    retry_after_missing: int = 0
    terminated_backends: int = 0
    kills: int = 0
    unexpected: list[tuple[int, str]] = field(default_factory=list)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)


async def terminate_backends(admin: asyncpg.Connection, database: str) -> int:
    rows = await admin.fetch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    return sum(1 for r in rows if r[0])


async def send_until_stored(
    http: httpx.AsyncClient, dialog_id: str, message_id: str, body: str, tally: Tally
) -> None:
    """POST one message, retrying with the same id on 503 and connection errors."""
    for _ in range(MAX_TRIES):
        try:
            response = await http.post(
                f"/api/v1/dialogs/{dialog_id}/messages", json={"id": message_id, "body": body}
            )
        except httpx.TransportError:
            tally.connection_errors += 1
            await asyncio.sleep(0.05)  # a client's pause before it retries
            continue
        if response.status_code == 201:
            assert response.json()["id"] == message_id
            async with tally.progress:
                tally.stored += 1
                tally.progress.notify_all()
            return
        if response.status_code == 503:
            tally.unavailable += 1
            assert response.json()["error"]["code"] in ("store_unavailable", "unavailable")
            if not response.headers.get("retry-after", "").isdigit():
                tally.retry_after_missing += 1
            # Retry-After says 1 s; the test retries sooner to keep the burst dense.
            await asyncio.sleep(0.05)
            continue
        tally.unexpected.append((response.status_code, response.text[:300]))
        return
    tally.unexpected.append((0, f"{message_id} not stored after {MAX_TRIES} tries"))


async def killer(admin: asyncpg.Connection, database: str, tally: Tally) -> None:
    for threshold in KILL_AT:
        async with tally.progress:
            await tally.progress.wait_for(lambda t=threshold: tally.stored >= t)
        for _ in range(2):
            tally.terminated_backends += await terminate_backends(admin, database)
            tally.kills += 1
            await asyncio.sleep(0.02)  # the second kill lands on reconnected connections


async def history_of(http: httpx.AsyncClient, dialog_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor is not None:
            params["after_seq"] = cursor
        response = await http.get(f"/api/v1/dialogs/{dialog_id}/messages", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if not page["has_more"]:
            return items
        cursor = page["next_cursor"]


@pytest.mark.slow
@pytest.mark.postgres
async def test_terminated_backends_lose_nothing_and_duplicate_nothing(
    tmp_path: Any, fresh_postgres: FreshDatabase
) -> None:
    # A database of its own, so terminating its backends touches nothing else.
    admin, database, url = fresh_postgres
    env = cli_env(tmp_path, TIDINGS_DATABASE_URL=url, TIDINGS_DELIVERY_POLL_MS="50")
    app = await run_cli_json(env, "app", "create", "faults")
    for login in ("sender", "reader"):
        await run_cli_json(
            env, "user", "create", str(app["app_id"]), "--login", login, "--password", "secret123"
        )
    server = await ServerProcess(env).start()
    tally = Tally()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as anon:
            tokens = {}
            for login in ("sender", "reader"):
                response = await anon.post(
                    "/api/v1/sessions",
                    json={"app_id": app["app_id"], "login": login, "password": "secret123"},
                )
                assert response.status_code in (200, 201), response.text
                tokens[login] = response.json()["token"]
        sender = httpx.AsyncClient(
            base_url=server.url,
            timeout=30,
            headers={"Authorization": f"Bearer {tokens['sender']}"},
        )
        reader = httpx.AsyncClient(
            base_url=server.url,
            timeout=30,
            headers={"Authorization": f"Bearer {tokens['reader']}"},
        )
        async with sender, reader:
            reader_id = (await reader.get("/api/v1/users/me")).json()["id"]
            created = await sender.post(
                "/api/v1/dialogs", json={"type": "private", "occupant_ids": [reader_id]}
            )
            assert created.status_code in (200, 201), created.text
            dialog_id = created.json()["id"]

            ids = [new_id() for _ in range(TOTAL)]
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(TOTAL):
                queue.put_nowait(i)

            async def worker() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    await send_until_stored(sender, dialog_id, ids[i], f"m-{i}", tally)

            kill_task = asyncio.create_task(killer(admin, database, tally))
            try:
                async with asyncio.timeout(300):
                    await asyncio.gather(*(worker() for _ in range(SENDERS)))
            finally:
                kill_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await kill_task

            history = await history_of(reader, dialog_id)
        stored_ids = [m["id"] for m in history]
        bodies = [m["body"] for m in history]
        lost = len(set(ids) - set(stored_ids))
        duplicated = (len(stored_ids) - len(set(stored_ids))) + (len(bodies) - len(set(bodies)))
        print(
            f"\ndb faults: sent {TOTAL}, stored {tally.stored}, kills {tally.kills}, "
            f"backends terminated {tally.terminated_backends}, 503s seen {tally.unavailable}, "
            f"connection errors {tally.connection_errors}, unexpected {len(tally.unexpected)}, "
            f"history {len(history)}, lost {lost}, duplicated {duplicated}"
        )
        assert tally.unexpected == [], tally.unexpected[:5]
        assert tally.kills == 2 * len(KILL_AT) and tally.terminated_backends > 0
        assert tally.retry_after_missing == 0
        assert lost == 0 and duplicated == 0
        assert len(history) == TOTAL
        assert server.proc is not None and server.proc.returncode is None, "the server survived"
    finally:
        await server.stop()
        if tally.unexpected:
            print("".join(server.output[-60:]))


class PostgresProxy:
    """A TCP proxy in front of PostgreSQL that the test cuts (every connection closed,
    new ones refused) and restores on the same port: the database "goes away"."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> PostgresProxy:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._pipes.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()
        self._pipes.discard(sink)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for pipe in list(self._pipes):
            pipe.transport.abort()
        self._pipes.clear()

    async def close(self) -> None:
        await self.cut()
        for task in list(self._tasks):
            task.cancel()


@pytest.mark.postgres
async def test_database_down_is_503_in_every_gateways_shape_until_it_is_back(
    tmp_path: Any, fresh_postgres: FreshDatabase
) -> None:
    """Each gateway maps the store's one "connection lost" error onto its own error
    shape, with Retry-After: native ``{"error": {code}}``, ConnectyCube ``{"errors"}``,
    service desk ``{"error": {code, text}}`` (the SDK retries a 503, pyrus wire §12),
    GMS ``{code, phrase, exception}`` (gms wire §1.5), console an HTML page."""
    url = fresh_postgres.url
    target = urlsplit(url)
    proxy = await PostgresProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    proxied = url.replace(f"@{target.hostname}:{target.port}", f"@127.0.0.1:{proxy.port}", 1)
    if target.port is None:
        proxied = url.replace(f"@{target.hostname}/", f"@127.0.0.1:{proxy.port}/", 1)
    env = cli_env(tmp_path, TIDINGS_DATABASE_URL=url)
    app = await run_cli_json(env, "app", "create", "outage")
    app_id = app["app_id"]
    await run_cli_json(
        env, "user", "create", str(app_id), "--login", "ann", "--password", "secret123"
    )
    await run_cli_json(
        env, "agent", "create", str(app_id), "--email", "ivy@example.com",
        "--password", "secret123", "--name", "Ivy",
    )  # fmt: skip
    server = await ServerProcess({**env, "TIDINGS_DATABASE_URL": proxied}).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            login = {"app_id": app_id, "login": "ann", "password": "secret123"}
            token = (await http.post("/api/v1/sessions", json=login)).json()["token"]
            cb = await http.post(
                "/connectycube/session.json",
                json={
                    "application_id": app_id,
                    "auth_key": app["auth_key"],
                    "user": {"login": "ann", "password": "secret123"},
                },
            )
            assert cb.status_code == 201, cb.text
            cb_token = cb.json()["session"]["token"]
            console = await http.post(
                "/console/login", data={"email": "ivy@example.com", "password": "secret123"}
            )
            assert console.status_code == 303, console.text
            assert "tidings_console" in http.cookies  # sent with every /console request
            desk = {"app_id": app["desk_app_id"], "instance_id": str(uuid.uuid4()), "version": 2}

            async def ask() -> dict[str, httpx.Response]:
                return {
                    "native": await http.get(
                        "/api/v1/dialogs", headers={"Authorization": f"Bearer {token}"}
                    ),
                    "connectycube": await http.get(
                        "/connectycube/chat/Dialog.json", headers={"CB-Token": cb_token}
                    ),
                    "servicedesk": await http.post("/servicedeskapi/v1/gettickets", json=desk),
                    "gms": await http.get(
                        "/genesys/1/service/callback/demo", headers={"apikey": app["auth_key"]}
                    ),
                    "console": await http.get("/console/inbox"),
                }

            before = await ask()
            assert all(r.status_code < 500 for r in before.values()), {
                k: (r.status_code, r.text[:200]) for k, r in before.items()
            }
            await proxy.cut()
            down = await ask()
            statuses = {k: r.status_code for k, r in down.items()}
            print(f"\ndatabase down: {statuses}")
            assert set(statuses.values()) == {503}, {k: r.text[:300] for k, r in down.items()}
            assert all(r.headers.get("retry-after", "").isdigit() for r in down.values())
            assert down["native"].json()["error"]["code"] == "store_unavailable"
            assert down["connectycube"].json()["errors"]["base"]
            assert down["servicedesk"].json()["error"]["code"] == "store_unavailable"
            assert "text" in down["servicedesk"].json()["error"]
            assert down["gms"].json()["code"] == 503 and "exception" in down["gms"].json()
            assert down["console"].headers["content-type"].startswith("text/html")
            await proxy.start()
            again = await ask()
            assert {k: r.status_code for k, r in again.items()} == {
                k: r.status_code for k, r in before.items()
            }
    finally:
        await server.stop()
        await proxy.close()


async def test_retried_sends_with_one_client_id_store_one_message(server: Any) -> None:
    """The retry a client makes after a 503 or a lost answer: the native API's ``id``
    and a ConnectyCube message's ``_id`` (connectycube wire §11, "Idempotency") each
    store one message however often the same send is repeated."""
    app, alice, alice_token = await server.new_user()
    _, bob, bob_token = await server.new_user(app)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        native = {"Authorization": f"Bearer {alice_token}"}
        dialog = await http.post(
            "/api/v1/dialogs", json={"type": "private", "occupant_ids": [bob.id]}, headers=native
        )
        dialog_id = dialog.json()["id"]
        native_id, cube_id = new_id(), new_id()
        for _ in range(3):
            sent = await http.post(
                f"/api/v1/dialogs/{dialog_id}/messages",
                json={"id": native_id, "body": "native retry"},
                headers=native,
            )
            assert sent.status_code == 201 and sent.json()["id"] == native_id
        session = await http.post(
            "/connectycube/session.json",
            json={
                "application_id": app.id,
                "auth_key": app.auth_key,
                "user": {"login": alice.login, "password": "correct horse"},
            },
        )
        cube = {"CB-Token": session.json()["session"]["token"]}
        for _ in range(3):
            sent = await http.post(
                "/connectycube/chat/Message.json",
                json={"chat_dialog_id": dialog_id, "message": "cube retry", "_id": cube_id},
                headers=cube,
            )
            assert sent.status_code == 201, sent.text
            assert sent.json()["_id"] == cube_id
        history = await http.get(
            f"/api/v1/dialogs/{dialog_id}/messages",
            headers={"Authorization": f"Bearer {bob_token}"},
        )
        bodies = [m["body"] for m in history.json()["items"]]
    print(f"\nretried sends: 6 requests, {len(bodies)} stored")
    assert bodies == ["native retry", "cube retry"]
