"""The operator CLI. Its forms are a contract that scripts and docs rely on:

    tidings serve [--host H] [--port P] [--xmpp-port P] [--xmpp-tls-port P] [--data-dir DIR]
    tidings migrate [--data-dir DIR]
    tidings app create NAME [--json]
    tidings --version
    tidings app update APP_ID [--auth-url URL] [--webhook-url URL] [--webhook-secret S]
                              [--gms-services NAME[,NAME]] [--apns-key-file F] [--apns-key-id K]
                              [--apns-team-id T] [--apns-bundle B] [--apns-environment E]
                              [--fcm-service-account F] [--canned-replies F.json]
                              [--operator|--no-operator] [--json]
    tidings app list [--json]
    tidings app delete APP_ID [--json]
    tidings user create APP_ID --login L --password P [--full-name N] [--role R] [--json]
    tidings user list APP_ID [--json]
    tidings user deactivate|delete APP_ID USER_ID [--json]
    tidings user set-password APP_ID USER_ID --password P [--json]
    tidings agent create APP_ID --email E --password P --name N [--json]
    tidings agent list APP_ID [--json]
    tidings agent delete APP_ID USER_ID [--json]
    tidings export APP_ID > app.jsonl
    tidings import [--json] < app.jsonl
    tidings outbox list [--dead] [--app APP_ID] [--json]
    tidings outbox replay ID [ID...] | --all-dead [--json]

With ``--json`` a command prints exactly one JSON object (or list) on stdout.
Errors go to stderr as ``error: <code>: <message>`` with exit status 1 (2 for
usage errors).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from tidings import __version__
from tidings.settings import Settings

#: Enough of an address to sign in with: one @, a dot in the domain, no spaces.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(data_dir=getattr(args, "data_dir", None))


async def _with_core(settings: Settings, action: Callable[[Any], Awaitable[Any]]) -> Any:
    """Open the store (migrated), run one core action, close everything."""
    from tidings.bus import create_bus
    from tidings.core.hub import Core
    from tidings.files import LocalFileStorage
    from tidings.store.database import Database
    from tidings.store.migrate import migrate

    db = Database(
        settings.effective_database_url, pool_size=2, sqlite_driver=settings.sqlite_driver
    )
    bus = create_bus(settings.bus_url, channel=f"{settings.redis_namespace}:events")
    try:
        await migrate(db)
        await bus.start()
        core = Core(settings, db, bus, LocalFileStorage(settings.files_dir))
        return await action(core)
    finally:
        await bus.close()
        await db.close()


def _app_json(app: Any) -> dict[str, Any]:
    return {
        "app_id": app.id,
        "name": app.name,
        "auth_key": app.auth_key,
        "auth_secret": app.auth_secret,
        "desk_app_id": app.desk_app_id,
        "auth_url": app.auth_url,
        "webhook_url": app.webhook_url,
        "settings": _settings_json(app.config),
    }


def _settings_json(config: dict[str, Any]) -> dict[str, Any]:
    """What ``app update`` set, with every secret shown only as set or not."""
    apns = _section(config, "apns")
    account = _section(_section(config, "fcm"), "credentials")
    return {
        "gms_services": _section(config, "gms").get("callback_services"),
        "operator": config.get("operator") is True,
        "webhook_secret_set": bool(config.get("webhook_secret")),
        "canned_replies": len(config.get("canned_replies") or []),
        "apns": {
            "key_id": apns.get("key_id"),
            "team_id": apns.get("team_id"),
            "bundle": apns.get("topic"),
            "environment": apns.get("environment"),
            "key_set": bool(apns.get("key") or apns.get("key_path")),
        },
        "fcm": {
            "project_id": account.get("project_id"),
            "client_email": account.get("client_email"),
        },
        **{
            key: config.get(key)
            for key in ("welcome_message", "chat_title", "agent_name", "agent_avatar_id")
            if key in config
        },
    }


def _user_json(user: Any) -> dict[str, Any]:
    data = dataclasses.asdict(user)
    return {k: data[k] for k in ("id", "app_id", "login", "full_name", "email", "role")}


def _print(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, sort_keys=True))
    elif isinstance(result, list):
        if not result:
            print("(none)")
        for item in result:
            print("  ".join(f"{k}={v}" for k, v in item.items()))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


def run_event_loop(main: Coroutine[Any, Any, None], choice: str) -> None:
    """Run the server on uvloop when it is installed (``uvicorn[standard]`` brings it).

    uvloop's loop is written in C on libuv: the server's own work per message
    (callbacks, socket writes, timers) costs less than on asyncio's selector loop.
    ``asyncio.run`` is used when uvloop is missing or ``TIDINGS_EVENT_LOOP=asyncio``.
    """
    if choice not in ("auto", "uvloop", "asyncio"):
        raise SystemExit(f"TIDINGS_EVENT_LOOP is auto, uvloop or asyncio, not {choice!r}")
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise SystemExit("TIDINGS_EVENT_LOOP=uvloop but uvloop is not installed") from None
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def cmd_serve(args: argparse.Namespace) -> int:
    from tidings.server import serve

    settings = Settings.from_env(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        xmpp_port=args.xmpp_port,
        xmpp_tls_port=args.xmpp_tls_port,
    )
    busy = busy_port(settings)
    if busy:
        print(f"error: port_in_use: {busy}", file=sys.stderr)
        return 1
    try:
        run_event_loop(serve(settings), settings.event_loop)
    except KeyboardInterrupt:
        pass
    return 0


def busy_port(settings: Settings) -> str | None:
    """A one-line reason if the HTTP or XMPP port cannot be bound, checked before start-up
    so a taken port is one clear line, not a traceback from deep inside the server."""
    import socket

    ports = (
        ("HTTP", settings.port, "--port, TIDINGS_PORT or `make run PORT=...`"),
        ("XMPP", settings.xmpp_port, "--xmpp-port, TIDINGS_XMPP_PORT or `make run XMPP_PORT=...`"),
        ("XMPP direct TLS", settings.xmpp_tls_port, "--xmpp-tls-port or TIDINGS_XMPP_TLS_PORT"),
    )
    for what, port, how in ports:
        if port == 0:
            continue
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As the server binds: SO_REUSEADDR, so only a listening socket is in the way.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((settings.host, port))
            except OSError as exc:
                reason = exc.strerror or str(exc)
                return f"cannot listen for {what} on {settings.host}:{port} ({reason}); use {how}"
    return None


def cmd_migrate(args: argparse.Namespace) -> int:
    from tidings.store.database import Database
    from tidings.store.migrate import migrate

    settings = _settings(args)

    async def run() -> None:
        db = Database(
            settings.effective_database_url, pool_size=1, sqlite_driver=settings.sqlite_driver
        )
        try:
            await migrate(db)
        finally:
            await db.close()

    asyncio.run(run())
    print("database is at the newest schema", file=sys.stderr)
    return 0


def cmd_app_create(args: argparse.Namespace) -> int:
    app = asyncio.run(_with_core(_settings(args), lambda core: core.apps.create_app(args.name)))
    _print(_app_json(app), args.json)
    return 0


def _config_changes(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """The app config sections the flags change, each merged into what is there."""
    changes: dict[str, Any] = {
        key: getattr(args, key)
        for key in ("welcome_message", "chat_title", "agent_name", "agent_avatar_id")
        if getattr(args, key, None) is not None
    }
    if args.webhook_secret is not None:
        changes["webhook_secret"] = args.webhook_secret or None
    if args.operator is not None:
        changes["operator"] = args.operator
    if args.gms_services is not None:
        names = [n.strip() for n in args.gms_services.split(",") if n.strip()]
        if not names or any(not n.replace("-", "").replace("_", "").isalnum() for n in names):
            raise ValueError("--gms-services is NAME[,NAME], letters, digits, - and _")
        changes["gms"] = {**_section(config, "gms"), "callback_services": names}
    apns = {
        field: value
        for field, value in (
            ("key_id", args.apns_key_id),
            ("team_id", args.apns_team_id),
            ("topic", args.apns_bundle),
            ("environment", args.apns_environment),
        )
        if value is not None
    }
    if args.apns_key_file is not None:
        apns["key"] = _read_file(args.apns_key_file, "--apns-key-file")
        if "PRIVATE KEY" not in apns["key"]:
            raise ValueError("--apns-key-file is not a PEM private key (the .p8 file)")
    if apns:
        changes["apns"] = {**_section(config, "apns"), **apns}
    if args.fcm_service_account is not None:
        try:
            account = json.loads(_read_file(args.fcm_service_account, "--fcm-service-account"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"--fcm-service-account is not JSON: {exc}") from None
        missing = [
            k
            for k in ("client_email", "private_key", "project_id", "token_uri")
            if not isinstance(account, dict) or not account.get(k)
        ]
        if missing:
            raise ValueError(f"--fcm-service-account lacks {', '.join(missing)}")
        changes["fcm"] = {**_section(config, "fcm"), "credentials": account}
    if args.canned_replies is not None:
        changes["canned_replies"] = _canned_replies(args.canned_replies) or None
    return changes


def _canned_replies(path: str) -> list[dict[str, str]]:
    """The file's ``[{"title", "body"}, ...]``, checked as the admin panel checks it."""
    from tidings.core.canned_replies import check_canned_replies
    from tidings.domain.errors import InvalidInput

    try:
        entries = json.loads(_read_file(path, "--canned-replies"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"--canned-replies is not JSON: {exc}") from None
    try:
        return check_canned_replies(entries)
    except InvalidInput as exc:
        raise ValueError(f"--canned-replies: {exc.message}") from None


def _section(config: dict[str, Any], key: str) -> dict[str, Any]:
    """``config[key]`` if it is a dict, else an empty one."""
    value = config.get(key)
    return value if isinstance(value, dict) else {}


def _read_file(path: str, flag: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise ValueError(f"{flag}: cannot read {path}: {exc.strerror}") from None


def cmd_app_update(args: argparse.Namespace) -> int:
    for flag, url in (("--auth-url", args.auth_url), ("--webhook-url", args.webhook_url)):
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"{flag} must be an http:// or https:// URL")

    async def action(core: Any) -> Any:
        app = await core.apps.get_app(args.app_id)
        config = _config_changes(args, app.config)
        return await core.apps.update_app(
            args.app_id,
            auth_url=args.auth_url,
            webhook_url=args.webhook_url,
            config=config or None,
        )

    _print(_app_json(asyncio.run(_with_core(_settings(args), action))), args.json)
    return 0


def cmd_app_list(args: argparse.Namespace) -> int:
    apps = asyncio.run(_with_core(_settings(args), lambda core: core.apps.list_apps()))
    _print([_app_json(a) for a in apps], args.json)
    return 0


def cmd_app_delete(args: argparse.Namespace) -> int:
    async def action(core: Any) -> Any:
        return await core.apps.delete_app(args.app_id)

    removed = asyncio.run(_with_core(_settings(args), action))
    _print({"app_id": args.app_id, "deleted": True, "rows": removed}, args.json)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """One JSON object per line on stdout: a header, then every row of the app."""
    from tidings.store import app_data

    async def action(core: Any) -> Any:
        await core.apps.get_app(args.app_id)
        header = {
            "format": app_data.FORMAT,
            "format_version": app_data.FORMAT_VERSION,
            "tidings": __version__,
            "app_id": args.app_id,
        }
        out = sys.stdout
        out.write(json.dumps(header, sort_keys=True) + "\n")
        count = 0
        async with core.db.read() as conn:
            async for record in app_data.export_app(conn, args.app_id):
                out.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
                count += 1
        out.flush()
        return count

    count = asyncio.run(_with_core(_settings(args), action))
    print(f"exported {count} rows of app {args.app_id}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Rows written by ``tidings export``, read from stdin, inserted in one transaction."""
    from sqlalchemy.exc import IntegrityError

    from tidings.domain.errors import Conflict, InvalidInput
    from tidings.store import app_data

    lines = (line for line in sys.stdin if line.strip())
    try:
        header = json.loads(next(lines, "null"))
        records = [json.loads(line) for line in lines]
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the input is not JSON lines: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != app_data.FORMAT:
        raise InvalidInput("the input does not start with a `tidings export` header")
    if header.get("format_version") != app_data.FORMAT_VERSION:
        raise InvalidInput(f"export format {header.get('format_version')} is not supported")

    async def action(core: Any) -> Any:
        try:
            async with core.db.transaction() as conn:
                return await app_data.import_rows(conn, records)
        except IntegrityError as exc:
            raise Conflict(
                f"app {header.get('app_id')}'s rows clash with rows already here "
                "(import into a database without them)",
                code="import_conflict",
            ) from exc

    try:
        counts = asyncio.run(_with_core(_settings(args), action))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    _print({"app_id": header.get("app_id"), "rows": counts}, args.json)
    return 0


def cmd_user_list(args: argparse.Namespace, role: str | None = None) -> int:
    from tidings.domain.models import Actor

    async def action(core: Any) -> Any:
        await core.apps.get_app(args.app_id)
        actor = Actor(args.app_id, 0, "admin")
        found: list[Any] = []
        while True:  # pages of 500 until one comes back short
            page = await core.users.list_users(actor, limit=500, offset=len(found))
            found.extend(page)
            if len(page) < 500:
                return found

    users = asyncio.run(_with_core(_settings(args), action))
    _print([_user_json(u) for u in users if role is None or u.role == role], args.json)
    return 0


def _user_action(args: argparse.Namespace, what: str, role: str | None = None) -> int:
    """``delete``, ``deactivate`` or ``set-password`` of one user (of ``role``, if given)."""
    from tidings.domain.errors import InvalidInput, NotFound
    from tidings.domain.models import Actor

    async def action(core: Any) -> Any:
        actor = Actor(args.app_id, 0, "admin")
        user = await core.users.get_user(actor, args.user_id)
        if role is not None and user.role != role:
            raise NotFound(f"user {args.user_id} is not an {role}", code=f"{role}_not_found")
        if what == "delete":
            await core.users.delete_user(actor, args.user_id)
            return {"id": args.user_id, "deleted": True}
        if what == "set-password":
            await core.users.update_user(actor, args.user_id, password=args.password)
            return {**_user_json(user), "password_set": True}
        if what != "deactivate":
            raise InvalidInput(f"unknown action {what}")
        await core.users.deactivate_user(actor, args.user_id)  # `set-password` undoes it
        return {**_user_json(user), "deactivated": True}

    _print(asyncio.run(_with_core(_settings(args), action)), args.json)
    return 0


def cmd_outbox_list(args: argparse.Namespace) -> int:
    from tidings.store import outbox as outbox_store

    states = ("dead",) if args.dead else ("queued", "sending", "dead")

    async def action(core: Any) -> Any:
        async with core.db.read() as conn:
            return await outbox_store.list_rows(
                conn, states=states, app_id=args.app, limit=args.limit
            )

    rows = asyncio.run(_with_core(_settings(args), action))
    _print([_outbox_json(r) for r in rows], args.json)
    return 0


def _outbox_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "app_id": row.app_id,
        "kind": row.kind,
        "destination": row.destination,
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_ms": row.created_ms,
        "updated_ms": row.updated_ms,
    }


def cmd_outbox_replay(args: argparse.Namespace) -> int:
    from tidings.domain.errors import InvalidInput, NotFound
    from tidings.store import outbox as outbox_store

    if bool(args.ids) == bool(args.all_dead):
        raise InvalidInput("give the ids to replay or --all-dead, not both")

    async def action(core: Any) -> Any:
        async with core.db.transaction() as conn:
            ids = await outbox_store.replay_dead(
                conn, now_ms=core.now_ms(), ids=None if args.all_dead else list(args.ids)
            )
        if args.ids and not ids:
            raise NotFound("none of these outbox rows is dead", code="outbox_not_dead")
        return ids

    ids = asyncio.run(_with_core(_settings(args), action))
    _print({"replayed": ids, "count": len(ids)}, args.json)
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    async def action(core: Any) -> Any:
        return await core.users.create_user(
            args.app_id,
            login=args.login,
            password=args.password,
            full_name=args.full_name,
            role=args.role,
        )

    _print(_user_json(asyncio.run(_with_core(_settings(args), action))), args.json)
    return 0


def cmd_agent_create(args: argparse.Namespace) -> int:
    from tidings.domain.errors import InvalidInput

    if not EMAIL.fullmatch(args.email):
        raise InvalidInput(
            f"--email {args.email!r} is not an email address (name@example.com)", field="email"
        )

    async def action(core: Any) -> Any:
        return await core.users.create_user(
            args.app_id,
            login=args.email,
            password=args.password,
            full_name=args.name,
            email=args.email,
            role="agent",
        )

    _print(_user_json(asyncio.run(_with_core(_settings(args), action))), args.json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data folder (default $TIDINGS_DATA_DIR or ./var)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print one JSON object")

    parser = argparse.ArgumentParser(prog="tidings", description="tidings chat server")
    parser.add_argument("--version", action="version", version=f"tidings {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="serve every gateway")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8080; 0 = any free)")
    serve.add_argument("--xmpp-port", type=int, help="XMPP port (default 5222; 0 disables)")
    serve.add_argument(
        "--xmpp-tls-port", type=int, help="XMPP direct TLS port (XEP-0368; default 0: off)"
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", parents=[common], help="upgrade the database schema").set_defaults(
        func=cmd_migrate
    )

    app = sub.add_parser("app", help="applications (tenants)").add_subparsers(
        dest="app_command", required=True
    )
    create = app.add_parser("create", parents=[common, as_json], help="create an app")
    create.add_argument("name")
    create.set_defaults(func=cmd_app_create)
    update = app.add_parser("update", parents=[common, as_json], help="change an app")
    update.add_argument("app_id", type=int)
    update.add_argument("--auth-url", help="external authorization URL ('' clears)")
    update.add_argument("--webhook-url", help="new-reply webhook URL ('' clears)")
    update.add_argument("--welcome-message", help="service desk: first message users see")
    update.add_argument("--chat-title", help="service desk: chat window title")
    update.add_argument("--agent-name", help="service desk: default support agent name")
    update.add_argument("--agent-avatar-id", type=int, help="service desk: avatar file id")
    update.add_argument("--webhook-secret", help="service desk: webhook signing secret")
    update.add_argument(
        "--gms-services", metavar="NAME[,NAME]", help="GMS: callback services (enables GMS)"
    )
    update.add_argument("--apns-key-file", metavar="FILE", help="APNs: the .p8 key (PEM)")
    update.add_argument("--apns-key-id", help="APNs: the key's id")
    update.add_argument("--apns-team-id", help="APNs: the Apple team id")
    update.add_argument("--apns-bundle", help="APNs: the app's bundle id (apns-topic)")
    update.add_argument(
        "--apns-environment", choices=["production", "development"], help="APNs: which gateway"
    )
    update.add_argument("--fcm-service-account", metavar="FILE", help="FCM: service account JSON")
    update.add_argument(
        "--canned-replies",
        metavar="FILE.json",
        help='console: canned replies, [{"title": ..., "body": ...}] (replaces them; [] removes)',
    )
    update.add_argument(
        "--operator",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="its admins see and create every app in the admin panel",
    )
    update.set_defaults(func=cmd_app_update)
    app.add_parser("list", parents=[common, as_json], help="list apps").set_defaults(
        func=cmd_app_list
    )
    adelete = app.add_parser("delete", parents=[common, as_json], help="delete an app and its data")
    adelete.add_argument("app_id", type=int)
    adelete.set_defaults(func=cmd_app_delete)

    user = sub.add_parser("user", help="users").add_subparsers(dest="user_command", required=True)
    ucreate = user.add_parser("create", parents=[common, as_json], help="create a user")
    ucreate.add_argument("app_id", type=int)
    ucreate.add_argument("--login", required=True)
    ucreate.add_argument("--password", required=True)
    ucreate.add_argument("--full-name")
    ucreate.add_argument("--role", default="user", choices=["user", "agent", "admin"])
    ucreate.set_defaults(func=cmd_user_create)
    ulist = user.add_parser("list", parents=[common, as_json], help="list an app's users")
    ulist.add_argument("app_id", type=int)
    ulist.set_defaults(func=cmd_user_list)
    for name, helptext in (
        ("deactivate", "end a user's sessions and lock the password"),
        ("delete", "delete a user"),
        ("set-password", "set a user's password (reactivates)"),
    ):
        one = user.add_parser(name, parents=[common, as_json], help=helptext)
        one.add_argument("app_id", type=int)
        one.add_argument("user_id", type=int)
        if name == "set-password":
            one.add_argument("--password", required=True)
        one.set_defaults(func=lambda a, what=name: _user_action(a, what))

    agent = sub.add_parser("agent", help="support agents").add_subparsers(
        dest="agent_command", required=True
    )
    acreate = agent.add_parser("create", parents=[common, as_json], help="create an agent")
    acreate.add_argument("app_id", type=int)
    acreate.add_argument("--email", required=True)
    acreate.add_argument("--password", required=True)
    acreate.add_argument("--name", required=True)
    acreate.set_defaults(func=cmd_agent_create)
    alist = agent.add_parser("list", parents=[common, as_json], help="list an app's agents")
    alist.add_argument("app_id", type=int)
    alist.set_defaults(func=lambda a: cmd_user_list(a, role="agent"))
    adel = agent.add_parser("delete", parents=[common, as_json], help="delete an agent")
    adel.add_argument("app_id", type=int)
    adel.add_argument("user_id", type=int)
    adel.set_defaults(func=lambda a: _user_action(a, "delete", role="agent"))

    export = sub.add_parser(
        "export", parents=[common], help="write an app's data as JSON lines to stdout"
    )
    export.add_argument("app_id", type=int)
    export.set_defaults(func=cmd_export)
    sub.add_parser(
        "import", parents=[common, as_json], help="read `tidings export` output from stdin"
    ).set_defaults(func=cmd_import)

    outbox = sub.add_parser("outbox", help="pushes and webhooks waiting or dead").add_subparsers(
        dest="outbox_command", required=True
    )
    olist = outbox.add_parser("list", parents=[common, as_json], help="rows not delivered")
    olist.add_argument("--dead", action="store_true", help="only dead letters")
    olist.add_argument("--app", type=int, help="only this app's rows")
    olist.add_argument("--limit", type=int, default=1000)
    olist.set_defaults(func=cmd_outbox_list)
    replay = outbox.add_parser("replay", parents=[common, as_json], help="queue dead rows again")
    replay.add_argument("ids", type=int, nargs="*", metavar="ID")
    replay.add_argument("--all-dead", action="store_true", help="every dead row")
    replay.set_defaults(func=cmd_outbox_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from tidings.domain.errors import DomainError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: invalid_setting: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
