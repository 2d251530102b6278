"""Messages per second over the native WebSocket, with end-to-end latency.

Starts ``tidings serve --port 0`` in its own process (SQLite in a temporary
folder by default, or ``--database-url``), creates users with the CLI, pairs them
in private dialogs, and has every sender send ``--messages`` messages through
``/api/v1/ws`` as fast as acks allow, while the receivers count what arrives.
Prints throughput (stored and delivered messages/s) and p50/p99 latency from
send to receipt. Numbers, not assertions: run it, read it, compare.

    .venv/bin/python bench/ws_throughput.py --pairs 20 --messages 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.processes import ServerProcess, cli_env, run_cli_json  # noqa: E402

from tidings.client import RealtimeConnection, TidingsClient  # noqa: E402


async def run(pairs: int, messages: int, database_url: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as data_dir:
        extra = {"TIDINGS_DATABASE_URL": database_url} if database_url else {}
        env = cli_env(Path(data_dir), TIDINGS_LOG_LEVEL="WARNING", **extra)
        app = await run_cli_json(env, "app", "create", "bench")
        server = await ServerProcess(env).start()
        try:
            return await _drive(server.url, env, app["app_id"], pairs, messages)
        except Exception:
            print("".join(server.output[-60:]), file=sys.stderr)
            raise
        finally:
            await server.stop()


async def _drive(url: str, env: dict, app_id: int, pairs: int, messages: int) -> dict[str, float]:
    users = []
    for i in range(pairs * 2):
        await run_cli_json(
            env, "user", "create", str(app_id), "--login", f"u{i}", "--password", "benchmark1"
        )
        client = TidingsClient(url)
        await client.login(app_id, f"u{i}", "benchmark1")
        users.append(client)
    dialogs = []
    for i in range(pairs):
        receiver_id = (await users[2 * i + 1].me()).id
        dialogs.append((await users[2 * i].create_dialog("private", [receiver_id])).id)
    senders = [await RealtimeConnection.connect(u.ws_url, u.token) for u in users[0::2]]
    receivers = [await RealtimeConnection.connect(u.ws_url, u.token) for u in users[1::2]]
    latencies: list[float] = []

    async def send_all(ws: RealtimeConnection, dialog_id: str) -> None:
        for n in range(messages):
            await ws.send_message(dialog_id, f"{time.perf_counter()}|{n}")

    async def receive_all(ws: RealtimeConnection) -> None:
        for _ in range(messages):
            event = await ws.next_event("message.created", timeout=60)
            sent_at = float(event.data["message"]["body"].split("|")[0])
            latencies.append(time.perf_counter() - sent_at)

    started = time.perf_counter()
    await asyncio.gather(
        *(send_all(ws, d) for ws, d in zip(senders, dialogs, strict=True)),
        *(receive_all(ws) for ws in receivers),
    )
    elapsed = time.perf_counter() - started
    for ws in senders + receivers:
        await ws.close()
    for client in users:
        await client.aclose()
    latencies.sort()
    total = pairs * messages
    assert len(latencies) == total, "every message arrived exactly once"
    return {
        "messages": total,
        "seconds": elapsed,
        "per_second": total / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--messages", type=int, default=200, help="per sender")
    parser.add_argument("--database-url", help="e.g. postgresql+asyncpg://postgres@127.0.0.1/x")
    args = parser.parse_args()
    result = asyncio.run(run(args.pairs, args.messages, args.database_url))
    backend = "postgresql" if args.database_url else "sqlite"
    print("| backend | pairs | messages | msg/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {backend} | {args.pairs} | {result['messages']} | {result['per_second']:.0f} "
        f"| {result['p50_ms']:.1f} | {result['p99_ms']:.1f} |"
    )


if __name__ == "__main__":
    main()
