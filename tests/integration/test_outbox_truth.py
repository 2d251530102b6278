"""A push that cannot be sent says so: a configuration error (no APNs credentials, a
destination the SSRF guard refuses) makes the outbox row dead at the first attempt, with
its reason, a warning naming the destination and the ``dead`` state of
``tidings_outbox_pending``; the operator lists it and replays it once fixed
(docs/delivery.md, "Dead letters")."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from tests.conftest import TestServer
from tests.integration.delivery_fakes import FakeAPNs, eventually
from tests.integration.processes import cli_env, run_cli, run_cli_json
from tests.integration.test_delivery_push import with_device
from tidings.core import outbox
from tidings.domain.models import App
from tidings.store import outbox_claims

DEAD_GAUGE = re.compile(r'^tidings_outbox_pending\{state="dead"\} (\S+)$', re.M)


async def rows_of(server: TestServer, app: App) -> list[dict[str, object]]:
    async with server.core.db.read() as conn:
        rows = await outbox_claims.get_rows(conn, app_id=app.id)
    return [dict(r._mapping) for r in rows]


async def dead_rows(server: TestServer, app: App) -> list[dict[str, object]] | None:
    rows = await rows_of(server, app)
    dead = [r for r in rows if r["state"] == "dead"]
    return dead if dead and len(dead) == len(rows) else None


def cli_for(server: TestServer) -> dict[str, str]:
    """The operator's shell: the same data dir and database as the running server."""
    extra = {"TIDINGS_DATABASE_URL": server.settings.database_url}
    return cli_env(server.settings.data_dir, **{k: v for k, v in extra.items() if v})


async def test_push_without_credentials_is_dead_at_once_then_replayed(
    server: TestServer, apns: FakeAPNs, caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    """No APNs key: dead after one attempt (not retried), logged, counted, listed by
    `tidings outbox list --dead`; after `app update --apns-*`, `outbox replay` delivers it."""
    app = await server.new_app("no push credentials")
    _app, _alice, alice = await server.new_client(app, full_name="Alice")
    bob, token = await with_device(server, app)
    dialog = await alice.create_dialog("private", [bob.user.id])
    with caplog.at_level(logging.WARNING, logger="tidings.delivery"):
        await alice.send_message(dialog.id, "are you there?")
        dead = await eventually(lambda: dead_rows(server, app), what="the push is dead")
    assert len(dead) == 1
    row = dead[0]
    print(f"dead rows: {len(dead)}, attempts: {row['attempts']}, reason: {row['last_error']}")
    assert row["attempts"] == 1, "a configuration error is not retried"
    assert str(row["last_error"]).startswith("APNs not configured")
    warning = [r for r in caplog.records if r.name == "tidings.delivery" and "dead" in r.message]
    assert warning, "a warning names the dead delivery"
    text = warning[-1].getMessage()
    assert "configuration error" in text and token[:8] in text and "APNs not configured" in text

    async with httpx.AsyncClient(base_url=server.base_url) as http:

        async def dead_gauge() -> float | None:
            found = DEAD_GAUGE.search((await http.get("/metrics")).text)
            return float(found.group(1)) if found and float(found.group(1)) >= 1 else None

        assert await eventually(dead_gauge, what="tidings_outbox_pending{state=dead}") >= 1

    env = cli_for(server)
    listed = await run_cli_json(env, "outbox", "list", "--dead", "--app", str(app.id))
    assert [(r["id"], r["state"], r["kind"]) for r in listed] == [(row["id"], "dead", "apns")]
    assert listed[0]["last_error"].startswith("APNs not configured")

    # The operator fixes the app: where APNs is (this test's stand-in), then the key by CLI.
    await server.core.apps.update_app(
        app.id,
        config={"apns": {"url": apns.url, "sandbox_url": apns.url, "ca_file": apns.ca_file}},
    )
    key_file = tmp_path / "AuthKey.p8"
    key_file.write_text(apns.key_pem)
    updated = await run_cli_json(
        env,
        "app",
        "update",
        str(app.id),
        "--apns-key-file",
        str(key_file),
        "--apns-key-id",
        apns.key_id,
        "--apns-team-id",
        apns.team_id,
        "--apns-bundle",
        apns.topic,
    )
    assert updated["app_id"] == app.id
    replayed = await run_cli_json(env, "outbox", "replay", str(row["id"]))
    assert replayed == {"count": 1, "replayed": [row["id"]]}
    await eventually(lambda: apns.for_token(token) or None, what="the replayed push arrives")
    await eventually(lambda: _all_delivered(server, app), what="the replayed row is delivered")
    states = [r["state"] for r in await rows_of(server, app)]
    print(f"after replay: pushes received {len(apns.for_token(token))}, states {states}")
    assert len(apns.for_token(token)) == 1, "one replay, one push"
    code, _out, err = await run_cli(env, "outbox", "replay", str(row["id"]), "--json")
    assert code == 1 and "error: outbox_not_dead" in err, "a delivered row is not replayed"


async def _all_delivered(server: TestServer, app: App) -> bool | None:
    rows = await rows_of(server, app)
    return True if rows and all(r["state"] == "delivered" for r in rows) else None


async def test_refused_webhook_destination_is_dead_at_once(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A webhook URL the SSRF guard refuses (a non-http scheme) is dead after one attempt,
    and `outbox list` (all states) shows it with the reason."""
    app = await server.new_app("refused webhook")
    async with server.core.db.transaction() as conn:
        await outbox.enqueue(
            conn,
            app_id=app.id,
            kind="webhook",
            destination="ftp://127.0.0.1/hook",
            payload={"event": "test", "body": {}},
            idempotency_key=f"refused-{app.id}",
            now_ms=server.core.now_ms(),
        )
    with caplog.at_level(logging.WARNING, logger="tidings.delivery"):
        dead = await eventually(lambda: dead_rows(server, app), what="the webhook is dead")
    print(f"dead: {len(dead)}, attempts: {dead[0]['attempts']}, reason: {dead[0]['last_error']}")
    assert dead[0]["attempts"] == 1
    assert str(dead[0]["last_error"]).startswith("destination refused")
    assert any("ftp://127.0.0.1/hook" in r.getMessage() for r in caplog.records)
    listed = await run_cli_json(cli_for(server), "outbox", "list", "--app", str(app.id))
    assert [r["state"] for r in listed] == ["dead"]


async def test_fcm_push_without_a_service_account_is_dead_at_once(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """No FCM service account (none on the server, none on the app): dead after one
    attempt, reason `FCM not configured`, one warning naming the shortened token."""
    app = await server.new_app("no fcm")
    _app, _alice, alice = await server.new_client(app, full_name="Alice")
    bob, token = await with_device(server, app, platform="fcm")
    dialog = await alice.create_dialog("private", [bob.user.id])
    with caplog.at_level(logging.WARNING, logger="tidings.delivery"):
        await alice.send_message(dialog.id, "ping")
        dead = await eventually(lambda: dead_rows(server, app), what="the FCM push is dead")
    print(f"dead: {len(dead)}, attempts: {dead[0]['attempts']}, reason: {dead[0]['last_error']}")
    assert [(r["kind"], r["attempts"]) for r in dead] == [("fcm", 1)]
    assert str(dead[0]["last_error"]).startswith("FCM not configured")
    lines = [r.getMessage() for r in caplog.records if "configuration error" in r.getMessage()]
    assert len([line for line in lines if token[:8] in line]) == 1
