"""What an operator sees (docs/operations.md, "Health, readiness and metrics"):
route labels from the matched route template on every gateway, one access-log line per
HTTP request, JSON log lines without ANSI colour codes, ``/health`` for liveness and
``/ready`` with the version and the database's and the bus's status."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import TestServer
from tests.helpers import wait_until
from tests.integration.conftest import FreshDatabase
from tests.integration.processes import ServerProcess, cli_env, run_cli_json
from tests.integration.redis_server import RedisServer, free_port
from tests.integration.test_db_faults import PostgresProxy
from tidings import __version__

COUNT = re.compile(r"^tidings_http_requests_total\{(?P<labels>.*)\} (?P<n>\S+)$", re.M)


def route_counts(metrics: str) -> dict[str, float]:
    """Requests per route label, over every method and status."""
    counts: dict[str, float] = {}
    for found in COUNT.finditer(metrics):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group("labels")))
        counts[labels["route"]] = counts.get(labels["route"], 0) + float(found.group("n"))
    return counts


async def test_every_gateway_labels_requests_with_its_route_template(server: TestServer) -> None:
    """/genesys, /connectycube (a mount) and /api/v1 requests count under their full
    route template, prefix included; none of them under ``unmatched``."""
    app = await server.new_app("labels")
    _app, _user, client = await server.new_client(app)
    chat, callback = "/genesys/2/chat", "/genesys/1/service/callback"
    requests = [
        ("POST", f"{chat}/chat-svc/abc123/refresh", chat + "/{service_name}/{chat_id}/refresh"),
        ("POST", f"{chat}/chat-svc/abc123/refresh/", chat + "/{service_name}/{chat_id}/refresh"),
        ("GET", f"{callback}/cb-svc/xyz", callback + "/{name}/{callback_id}"),
        ("GET", "/connectycube/blobs/some-ref.json", "/connectycube/blobs/{ref}.json"),
        ("GET", "/api/v1/users/me", "/api/v1/users/me"),
    ]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        before = route_counts((await http.get("/metrics")).text)
        statuses = []
        for method, path, _template in requests:
            headers = {"Authorization": f"Bearer {client.token}"} if "/api/" in path else {}
            headers["apikey"] = app.auth_key
            answer = await http.request(method, path, headers=headers)
            statuses.append(answer.status_code)
        after = route_counts((await http.get("/metrics")).text)
    print(f"statuses: {statuses}")
    assert all(s < 500 for s in statuses)
    expected: dict[str, int] = {}
    for _method, _path, template in requests:
        expected[template] = expected.get(template, 0) + 1
    for template, n in expected.items():
        assert after.get(template, 0) - before.get(template, 0) == n, template
    assert after.get("unmatched", 0) == before.get("unmatched", 0), "nothing unmatched"
    assert not [r for r in after if r.startswith(("/blobs", "/2/chat", "/1/service"))]


async def test_one_access_log_line_per_request_with_route_status_and_app(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """``tidings.access``: method, route template, status, duration in ms, app id."""
    app = await server.new_app("access log")
    _app, _user, client = await server.new_client(app)
    with caplog.at_level(logging.INFO, logger="tidings.access"):
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            me = await http.get(
                "/api/v1/users/me", headers={"Authorization": f"Bearer {client.token}"}
            )
            missing = await http.get("/no/such/page")
    assert me.status_code == 200 and missing.status_code == 404
    lines = [r for r in caplog.records if r.name == "tidings.access"]
    print(f"access lines: {len(lines)}")
    mine = [r for r in lines if getattr(r, "route", "") == "/api/v1/users/me"]
    assert len(mine) == 1
    line: Any = mine[0]
    assert (line.method, line.status, line.app_id) == ("GET", 200, app.id)
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    assert f"app={app.id}" in line.getMessage()
    unknown: Any = [r for r in lines if getattr(r, "status", 0) == 404][-1]
    assert (unknown.route, unknown.app_id) == ("unmatched", None)


async def test_json_logs_have_no_ansi_codes_and_carry_access_lines(tmp_path: Any) -> None:
    """A real ``tidings serve`` with JSON logs: every line parses, none holds an escape
    code or uvicorn's ``color_message``, and requests produce ``tidings.access`` lines."""
    env = cli_env(tmp_path, TIDINGS_LOG_FORMAT="json")
    server = await ServerProcess(env).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/health")).status_code == 200

        def access_lines() -> list[dict[str, Any]] | None:
            parsed = [json.loads(line) for line in server.output if line.startswith("{")]
            found = [p for p in parsed if p["logger"] == "tidings.access"]
            return found or None

        access = await wait_until(access_lines, 10, what="an access line")
    finally:
        await server.stop()
    lines = [line for line in server.output if line.strip()]
    print(f"log lines: {len(lines)}, access lines: {len(access)}")
    assert lines and all(line.startswith("{") for line in lines)
    assert not [line for line in lines if "\x1b" in line or "\\u001b" in line]
    assert not [line for line in lines if "color_message" in line]
    assert access[0]["route"] == "/health" and access[0]["status"] == 200


@pytest.mark.postgres
async def test_ready_reports_database_and_bus_and_health_stays_up(
    tmp_path: Any, fresh_postgres: FreshDatabase
) -> None:
    """/ready: 200 with the version while PostgreSQL and Redis answer; 503 naming the
    database when it is cut off, then the bus when Redis dies; /health stays 200."""
    url = fresh_postgres.url
    target = urlsplit(url)
    proxy = await PostgresProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    netloc = f"{target.hostname}:{target.port}" if target.port else f"{target.hostname}"
    proxied = url.replace(f"@{netloc}", f"@127.0.0.1:{proxy.port}", 1)
    redis = RedisServer(free_port())
    await redis.start()
    env = cli_env(tmp_path, TIDINGS_DATABASE_URL=proxied, TIDINGS_BUS_URL=redis.url)
    await run_cli_json({**env, "TIDINGS_DATABASE_URL": url}, "app", "create", "ready")
    server = await ServerProcess(env).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            ready = await http.get("/ready")
            assert ready.status_code == 200, ready.text
            body = ready.json()
            assert body["version"] == __version__
            assert (body["database"]["status"], body["bus"]["status"]) == ("ok", "ok")

            await proxy.cut()
            down = await http.get("/ready")
            health = await http.get("/health")
            print(f"database cut: /ready {down.status_code} {down.text}")
            assert down.status_code == 503
            assert down.json()["database"]["status"] == "down"
            assert down.json()["bus"]["status"] == "ok"
            assert health.status_code == 200 and health.json()["status"] == "ok"
            assert health.json()["version"] == __version__

            await proxy.start()  # the same port again: the database is back
            back = await wait_until(
                lambda: _ready(http, 200), 30, what="/ready once the database is back"
            )
            assert back["database"]["status"] == "ok"

            await redis.kill()
            bus_down = await http.get("/ready")
            print(f"redis killed: /ready {bus_down.status_code} {bus_down.text}")
            assert bus_down.status_code == 503
            assert bus_down.json()["bus"]["status"] == "down"
            assert (await http.get("/health")).status_code == 200
    finally:
        await server.stop()
        await proxy.close()
        await redis.kill()


async def _ready(http: httpx.AsyncClient, status: int) -> dict[str, Any] | None:
    answer = await http.get("/ready")
    return answer.json() if answer.status_code == status else None
