"""`tidings export APP_ID > app.jsonl` and `tidings import < app.jsonl`: an app moves to
another server (README, "Operator CLI") with its users, dialogs and messages; its people
sign in there with the same passwords."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TestServer
from tests.integration.conftest import FreshDatabase
from tests.integration.processes import TIDINGS, ServerProcess, cli_env, run_cli, run_cli_json
from tidings.client import TidingsClient


async def run_import(env: dict[str, str], data: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *TIDINGS, "import", "--json", env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(data.encode()), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def env_of(server: TestServer) -> dict[str, str]:
    extra = {"TIDINGS_DATABASE_URL": server.settings.database_url}
    return cli_env(server.settings.data_dir, **{k: v for k, v in extra.items() if v})


async def test_export_then_import_on_a_new_server(server: TestServer, tmp_path: Path) -> None:
    """Export a live app (three messages in a dialog), import it into an empty data dir,
    serve it: Alice signs in with her password and reads the same three messages."""
    app = await server.new_app("moving")
    _app, alice, alice_client = await server.new_client(app, full_name="Alice")
    _app, bob, _bob_client = await server.new_client(app, full_name="Bob")
    dialog = await alice_client.create_dialog("private", [bob.id])
    texts = ["one", "two", "three"]
    for body in texts:
        await alice_client.send_message(dialog.id, body)

    code, out, err = await run_cli(env_of(server), "export", str(app.id))
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    header, records = lines[0], lines[1:]
    tables: dict[str, int] = {}
    for record in records:
        tables[record["table"]] = tables.get(record["table"], 0) + 1
    print(f"exported rows per table: {tables}")
    assert header["format"] == "tidings-app-export" and header["app_id"] == app.id
    assert tables["apps"] == 1 and tables["users"] == 2 and tables["messages"] == 3
    assert "sessions" not in tables, "sign-ins stay behind"
    assert {r["row"]["app_id"] for r in records if "app_id" in r["row"]} == {app.id}

    target = cli_env(tmp_path / "new")
    code, out, err = await run_import(target, out)
    assert code == 0, err
    assert json.loads(out)["rows"]["messages"] == 3
    code, _out, err = await run_import(target, "\n".join(json.dumps(x) for x in lines))
    assert code == 1 and "error: import_conflict" in err, "importing twice clashes, cleanly"
    code, _out, err = await run_import(target, '{"not": "an export"}\n')
    assert code == 1 and "error: invalid_input" in err

    moved = await ServerProcess(target).start()
    try:
        async with TidingsClient(moved.url) as client:
            await client.login(app.id, alice.login, "correct horse")
            history = await client.history(dialog.id)
    finally:
        await moved.stop()
    assert sorted(m.body for m in history.items) == sorted(texts)
    code, _out, err = await run_cli(env_of(server), "export", "999999")
    assert code == 1 and "error: app_not_found" in err


@pytest.mark.postgres
async def test_import_into_postgresql_keeps_ids_and_new_rows_follow(
    tmp_path: Path, fresh_postgres: FreshDatabase
) -> None:
    """Imported ids are kept, and PostgreSQL's serials move past them: the next user
    created there gets a fresh id instead of a clash."""
    source = cli_env(tmp_path / "source")
    app = await run_cli_json(source, "app", "create", "Desk")
    first = await run_cli_json(
        source, "user", "create", str(app["app_id"]), "--login", "ann", "--password", "secret123"
    )
    code, exported, err = await run_cli(source, "export", str(app["app_id"]))
    assert code == 0, err
    target = cli_env(tmp_path / "target", TIDINGS_DATABASE_URL=fresh_postgres.url)
    code, out, err = await run_import(target, exported)
    assert code == 0, err
    print(f"imported: {out.strip()}")
    second = await run_cli_json(
        target, "user", "create", str(app["app_id"]), "--login", "ben", "--password", "secret123"
    )
    assert second["id"] > first["id"]
    listed: list[dict[str, Any]] = await run_cli_json(target, "user", "list", str(app["app_id"]))
    assert sorted(u["login"] for u in listed) == ["ann", "ben"]
    assert [a["app_id"] for a in await run_cli_json(target, "app", "list")] == [app["app_id"]]
