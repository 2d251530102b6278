"""The operator CLI. Its forms are a contract that scripts and docs rely on:

    tidings serve [--host H] [--port P] [--xmpp-port P] [--data-dir DIR]
    tidings migrate [--data-dir DIR]
    tidings app create NAME [--json]
    tidings app update APP_ID [--auth-url URL] [--webhook-url URL] [--json]
    tidings app list [--json]
    tidings user create APP_ID --login L --password P [--full-name N] [--role R] [--json]
    tidings agent create APP_ID --email E --password P --name N [--json]

With ``--json`` a command prints exactly one JSON object (or list) on stdout.
Errors go to stderr as ``error: <code>: <message>`` with exit status 1 (2 for
usage errors).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from tidings.settings import Settings


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
    bus = create_bus(settings.bus_url)
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
    }


def _user_json(user: Any) -> dict[str, Any]:
    data = dataclasses.asdict(user)
    return {k: data[k] for k in ("id", "app_id", "login", "full_name", "email", "role")}


def _print(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, sort_keys=True))
    elif isinstance(result, list):
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
        data_dir=args.data_dir, host=args.host, port=args.port, xmpp_port=args.xmpp_port
    )
    try:
        run_event_loop(serve(settings), settings.event_loop)
    except KeyboardInterrupt:
        pass
    return 0


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


def cmd_app_update(args: argparse.Namespace) -> int:
    async def action(core: Any) -> Any:
        # Service-desk settings (docs/servicedesk.md) are merged into the app's config.
        desk = {
            key: getattr(args, key)
            for key in ("welcome_message", "chat_title", "agent_name", "agent_avatar_id")
            if getattr(args, key, None) is not None
        }
        return await core.apps.update_app(
            args.app_id, auth_url=args.auth_url, webhook_url=args.webhook_url, config=desk or None
        )

    _print(_app_json(asyncio.run(_with_core(_settings(args), action))), args.json)
    return 0


def cmd_app_list(args: argparse.Namespace) -> int:
    apps = asyncio.run(_with_core(_settings(args), lambda core: core.apps.list_apps()))
    _print([_app_json(a) for a in apps], args.json)
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
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="serve every gateway")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8080; 0 = any free)")
    serve.add_argument("--xmpp-port", type=int, help="XMPP port (default 5222; 0 disables)")
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
    update.set_defaults(func=cmd_app_update)
    app.add_parser("list", parents=[common, as_json], help="list apps").set_defaults(
        func=cmd_app_list
    )

    user = sub.add_parser("user", help="users").add_subparsers(dest="user_command", required=True)
    ucreate = user.add_parser("create", parents=[common, as_json], help="create a user")
    ucreate.add_argument("app_id", type=int)
    ucreate.add_argument("--login", required=True)
    ucreate.add_argument("--password", required=True)
    ucreate.add_argument("--full-name")
    ucreate.add_argument("--role", default="user", choices=["user", "agent", "admin"])
    ucreate.set_defaults(func=cmd_user_create)

    agent = sub.add_parser("agent", help="support agents").add_subparsers(
        dest="agent_command", required=True
    )
    acreate = agent.add_parser("create", parents=[common, as_json], help="create an agent")
    acreate.add_argument("app_id", type=int)
    acreate.add_argument("--email", required=True)
    acreate.add_argument("--password", required=True)
    acreate.add_argument("--name", required=True)
    acreate.set_defaults(func=cmd_agent_create)
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
