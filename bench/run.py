"""tidings, Prosody and ejabberd on the same load in the same run; tables, ratios and plots.

    .venv/bin/python -m bench.run --quick     # a few minutes (make bench-quick)
    .venv/bin/python -m bench.run             # the full run (make bench)

Absolute numbers on a shared 2-core machine are noise; ratios within one run are
not, which is why every scenario runs all servers back to back with the same
driver. Servers are pinned to core 0 and the driver to core 1 (when there are two).
Results go to ``bench/results/<quick|full>-<date>.md`` with PNG plots beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import servers as S
from bench import xmpp_load as X

RESULTS = Path(__file__).resolve().parent / "results"
POSTGRES_ADMIN = os.environ.get(
    "TIDINGS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Plan:
    quick: bool
    runs: int
    idle: list[int]
    pairs: int
    rates: list[int]
    seconds: float
    fan_sizes: list[int]
    fan_messages: dict[int, int]
    history_rows: list[int]
    servers: list[str]


def plan(quick: bool, only: list[str] | None) -> Plan:
    everyone = ["tidings", "Prosody", "Prosody (SQLite)", "ejabberd", "ejabberd (no archive)"]
    if quick:
        return Plan(
            True,
            3,
            [1000],
            50,
            [50, 75, 100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2400, 3200],
            2.0,
            [100, 1000],
            {100: 10, 1000: 3},
            [1_000_000],
            only or everyone,
        )
    return Plan(
        False,
        5,
        [1000, 5000, 10000],
        100,
        [50, 75, 100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2400, 3200, 4800, 6400],
        5.0,
        [100, 1000],
        {100: 50, 1000: 20},
        [1_000_000, 10_000_000],
        only or everyone,
    )


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB RAM"
    versions = []
    for package in ("prosody", "ejabberd"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True
            ).stdout
            versions.append(f"{package} {out}")
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} × {cpu}, {mem}, {platform.platform()}, Python "
        f"{platform.python_version()}; {', '.join(versions)}; load average at start "
        f"{load[0]:.1f} (other work shares this machine)"
    )


# -- servers ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(name: str, users: int, groups: list[int]) -> AsyncIterator[S.Server]:
    """One server from a throwaway config with ``users`` accounts (pinned to core 0)."""
    pin = "0" if (os.cpu_count() or 1) > 1 else ""
    if name == "tidings":
        started = await S.start_tidings(users, groups, core=pin)
    elif name.startswith("Prosody"):
        started = [await S.start_prosody(pin, sql="SQLite" in name)]
    else:
        started = [await S.start_ejabberd(pin, archive="no archive" not in name)]
    server = started[0]
    try:
        if name != "tidings":
            await server.register_peers(users)
        yield server
    finally:
        for each in reversed(started):
            each.stop()


async def join_rooms(server: S.Server, clients: list[X.Client], size: int) -> str:
    """The room for ``size`` members: tidings has it already; the peers need each to join."""
    if server.name.startswith("tidings"):
        return server.rooms[size]
    room = f"bench{size}-{time.time_ns()}@{S.MUC_DOMAIN}"
    gate = asyncio.Semaphore(50)

    async def join(index: int, client: X.Client) -> None:
        async with gate:
            await client.join_room(room, f"n{index}")

    await clients[0].join_room(room, "n0")  # the creator first: it becomes the owner
    await asyncio.gather(*(join(i, c) for i, c in enumerate(clients[1:size], 1)))
    return room


def connect(server: S.Server, accounts: list[X.Account]) -> Awaitable[list[X.Client]]:
    return X.connect_many("127.0.0.1", server.port, server.domain, accounts, tls=server.tls)


# -- scenarios ----------------------------------------------------------------------------


async def idle(
    server: S.Server, count: int, runs: int, accounts: list[X.Account] | None = None
) -> dict[str, Any]:
    """RSS delta per connection (first run: a fresh server) and logins per second, with
    the password (or ``accounts``: tidings' session tokens)."""
    per_conn, rates = [], []
    for _ in range(runs):
        await asyncio.sleep(1)
        before = S.rss_bytes(server.pid)
        started = time.perf_counter()
        clients = await connect(server, (accounts or server.accounts)[:count])
        rates.append(count / (time.perf_counter() - started))
        await asyncio.sleep(2)
        per_conn.append((S.rss_bytes(server.pid) - before) / count)
        assert len(clients) == count
        await X.close_all(clients)
    return {"kib_per_conn": per_conn[0] / 1024, "connect_rate": X.summary(rates)}


async def chat(server: S.Server, p: Plan) -> dict[str, Any]:
    """Increase the offered rate until delivery falls behind or loses; then latency at 50 %."""
    clients = await connect(server, server.accounts[: 2 * p.pairs])
    pairs = list(zip(clients[: p.pairs], clients[p.pairs :], strict=True))
    curve, best = [], 0.0
    try:
        await X.chat_at_rate(pairs, 20, 1.0)  # warm-up
        for rate in p.rates:
            result = await X.chat_at_rate(pairs, rate, p.seconds)
            curve.append(asdict(result))
            print(
                f"  {server.name} {rate}/s -> {result.delivered_rate:.0f}/s "
                f"p50 {result.p50_ms:.1f} ms p99 {result.p99_ms:.1f} ms lost {result.lost}",
                flush=True,
            )
            if not result.sustained:
                break
            best = result.delivered_rate
        half = max(10.0, best / 2)
        p50s, p99s = [], []
        for _ in range(p.runs):
            result = await X.chat_at_rate(pairs, half, p.seconds)
            assert result.lost == 0, f"{server.name} lost {result.lost} messages at {half:.0f}/s"
            p50s.append(result.p50_ms)
            p99s.append(result.p99_ms)
    finally:
        await X.close_all(clients)
    return {
        "best": best,
        "half": half,
        "p50": X.summary(p50s),
        "p99": X.summary(p99s),
        "curve": curve,
    }


async def fan(server: S.Server, p: Plan) -> dict[str, Any]:
    clients = await connect(server, server.accounts[: max(p.fan_sizes)])
    out: dict[str, Any] = {}
    try:
        for size in p.fan_sizes:
            room = await join_rooms(server, clients, size)
            await X.fan_out(clients[0], clients[:size], room, 1)  # warm-up
            latencies, last = await X.fan_out(
                clients[0], clients[:size], room, p.fan_messages[size]
            )
            out[str(size)] = {
                "p50": X.percentile(latencies, 0.5),
                "p99": X.percentile(latencies, 0.99),
                "last_p50": X.percentile(last, 0.5),
            }
            print(f"  {server.name} fan-out {size}: {out[str(size)]}", flush=True)
    finally:
        await X.close_all(clients)
    return out


async def history(rows: int, database_url: str | None, runs: int) -> dict[str, tuple[float, float]]:
    """bench/history_depth.py in its own process; its table parsed back."""
    argv = [
        sys.executable,
        str(Path(__file__).with_name("history_depth.py")),
        "--rows",
        str(rows),
        "--runs",
        str(runs),
    ]
    if database_url:
        argv += ["--database-url", database_url]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert proc.returncode == 0, f"history_depth failed: {out.decode()[-2000:]}"
    found = {}
    for line in out.decode().splitlines():
        match = re.match(r"\| (.+?) \| ([\d.]+) \| ([\d.]+) \|", line)
        if match:
            found[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return found


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str | None]:
    """A throwaway database on the local PostgreSQL (None when there is none)."""
    import asyncpg

    name = f"bench_{os.getpid()}_{time.time_ns() % 10**8}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        yield None
        return
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def private_redis() -> AsyncIterator[str | None]:
    """Our own redis-server: the shared one carries other test servers' bus channel."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = S.free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited on
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await S.wait_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


#: Messages/s at which scale-out measures server CPU per message (well below saturation).
SCALE_CPU_RATE = 100


async def scale_out(p: Plan) -> dict[str, Any]:
    """Same 1-1 load on tidings as 1 and as 2 processes (PostgreSQL + Redis bus).

    With two, senders log in to node 1 and receivers to node 2, so every message
    crosses the bus. Both processes share core 0 on a 2-core machine, so this shows
    the cost of the bus more than the gain of a second core.
    """
    out: dict[str, Any] = {}
    async with postgres_database() as db_url, private_redis() as bus_url:
        if db_url is None or bus_url is None:
            return {"skipped": "PostgreSQL or redis-server missing"}
        for processes in (1, 2):
            nodes = await S.start_tidings(
                2 * p.pairs,
                [],
                core="0",
                database_url=db_url,
                bus_url=bus_url,
                processes=processes,
                label=f"tidings ×{processes}",
            )
            try:
                first, last = nodes[0], nodes[-1]
                senders = await connect(first, first.accounts[: p.pairs])
                receivers = await connect(last, last.accounts[p.pairs : 2 * p.pairs])
                pairs = list(zip(senders, receivers, strict=True))
                best, curve = 0.0, []
                await X.chat_at_rate(pairs, 20, 1.0)
                for rate in p.rates:
                    result = await X.chat_at_rate(pairs, rate, p.seconds)
                    curve.append(asdict(result))
                    print(
                        f"  tidings ×{processes} {rate}/s -> {result.delivered_rate:.0f}/s "
                        f"lost {result.lost}",
                        flush=True,
                    )
                    if not result.sustained:
                        break
                    best = result.delivered_rate
                # Server CPU per message at one fixed rate both node counts sustain.
                before = sum(S.cpu_seconds(node.pid) for node in nodes)
                fixed = await X.chat_at_rate(pairs, SCALE_CPU_RATE, p.seconds)
                used = sum(S.cpu_seconds(node.pid) for node in nodes) - before
                cpu_per_1000 = 1000 * used / max(1, fixed.delivered)
                print(f"  tidings ×{processes} CPU s per 1,000 messages {cpu_per_1000:.2f}")
                out[str(processes)] = {"best": best, "curve": curve, "cpu_per_1000": cpu_per_1000}
                await X.close_all(senders + receivers)
            finally:
                for node in reversed(nodes):
                    node.stop()
    return out


# -- report -------------------------------------------------------------------------------


def ratio(value: float, base: float, higher_is_better: bool) -> str:
    if not base or value != value or base != base or not value:
        return "–"
    return f"{(value / base) if higher_is_better else (value / base):.2f}×"


def capped(r: dict[str, Any]) -> str:
    """ "≥" when even the highest offered rate was sustained: the server was not the limit."""
    curve = r.get("curve") or []
    last = curve[-1] if curve else None
    full = (
        last is not None and last["lost"] == 0 and last["delivered_rate"] >= 0.9 * last["offered"]
    )
    return "≥ " if full else ""


def spread(s: dict[str, float], unit: str = "", digits: int = 1) -> str:
    return f"{s['median']:.{digits}f}{unit} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def report(p: Plan, res: dict[str, Any], started: float, path: Path) -> str:
    lines = [f"# Benchmark ({'quick' if p.quick else 'full'} mode), {datetime.date.today()}", ""]
    lines += [f"Machine: {machine()}.", ""]
    lines += [
        "Driver: `bench/xmpp_load.py` (one asyncio process, own XMPP client, pinned to core 1; "
        "servers pinned to core 0). Every server requires STARTTLS (one self-signed P-256 "
        "certificate for all) and is logged in to with SASL PLAIN and the password. "
        "tidings: SQLite, memory bus; PLAIN checked against its SCRAM-SHA-256 keys (4,096 "
        "iterations); the *session token* row logs in with a token as the password. "
        "Prosody 0.12: Debian's default configuration (`internal_hashed`, SCRAM-SHA-1 at "
        "10,000 iterations; default file storage; `mod_limits` at 10 kB/s per connection) "
        "plus mod_mam and mod_muc_mam; the *SQLite* row adds Prosody's SQL storage. "
        "ejabberd 23.01: Debian's default (`auth_password_format: scram`, SCRAM-SHA-1 at "
        "4,096; Mnesia; the `normal` shaper of 3,000 B/s per connection) plus mod_mam "
        "(`default: always`, rooms `mam: true`); the no-archive row drops mod_mam. "
        "The per-connection limits are the peers' defaults and were left in place: with "
        f"{p.pairs} senders they cap ejabberd near {p.pairs * 3000 // 130:,} msg/s and "
        f"Prosody near {p.pairs * 10240 // 130:,} msg/s (a chat stanza is about 130 bytes with TLS "
        "framing); tidings has no per-connection XMPP rate limit. Ratios are "
        "server ÷ tidings (for latency and memory lower is better, for rates higher is "
        f"better). Medians of {p.runs} runs, spread as (min–max).",
        "",
    ]
    if "driver" in res:
        lines += [
            f"Driver ceiling: {res['driver']:.0f} chat stanzas/s formatted, written and "
            "parsed back through a loopback echo socket, on one core.",
            "",
        ]
    if "idle" in res:
        n = p.idle[-1]
        lines += [
            f"## 1. Idle connections (N = {n})",
            "",
            "| server | KiB per connection | ratio | logins/s (spread) | ratio |",
            "|---|---|---|---|---|",
        ]
        base = res["idle"].get("tidings", {})
        base_rate = base.get("connect_rate", {}).get("median", 0)
        for name, r in res["idle"].items():
            # The token row reuses a server that already held N connections: its memory
            # delta says nothing about a fresh one.
            memory = (
                "– | –"
                if name.endswith("(session token)")
                else f"{r['kib_per_conn']:.1f} | "
                f"{ratio(r['kib_per_conn'], base.get('kib_per_conn', 0), False)}"
            )
            lines.append(
                f"| {name} | {memory} | "
                f"{spread(r['connect_rate'], '', 0)} | "
                f"{ratio(r['connect_rate']['median'], base_rate, True)} |"
            )
        lines.append("")
    if "chat" in res:
        lines += [
            f"## 2. 1-1 chat ({p.pairs} pairs, {p.seconds:.0f} s per offered rate)",
            "",
            "| server | highest sustained delivered msg/s | ratio | rate at 50 % | p50 ms "
            "(spread) | p99 ms (spread) | p99 ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        base = res["chat"].get("tidings", {})
        for name, r in res["chat"].items():
            lines.append(
                f"| {name} | {capped(r)}{r['best']:.0f} | "
                f"{ratio(r['best'], base.get('best', 0), True)} | "
                f"{r['half']:.0f} | {spread(r['p50'])} | {spread(r['p99'])} | "
                f"{ratio(r['p99']['median'], base.get('p99', {}).get('median', 0), False)} |"
            )
        lines += [
            "",
            "Sustained: every message arrived exactly once and the delivered rate "
            "kept within 90 % of the offered rate. Plot: "
            f"`{path.stem}-chat.png` (p50/p99 vs offered load).",
            "",
        ]
    if "fan" in res:
        lines += [
            "## 3. Group fan-out (closed loop: one message at a time)",
            "",
            "| server | members | p50 ms per delivery | p99 ms | p99 ratio | "
            "p50 ms until the last member |",
            "|---|---|---|---|---|---|",
        ]
        base = res["fan"].get("tidings", {})
        for name, r in res["fan"].items():
            for size, v in r.items():
                b = base.get(size, {}).get("p99", 0)
                lines.append(
                    f"| {name} | {size} | {v['p50']:.1f} | {v['p99']:.1f} | "
                    f"{ratio(v['p99'], b, False)} | {v['last_p50']:.1f} |"
                )
        lines.append("")
    if "history" in res:
        lines += [
            "## 4. History page of 50 (tidings only; `bench/history_depth.py`)",
            "",
            "| backend | messages | query | p50 ms | p99 ms |",
            "|---|---|---|---|---|",
        ]
        for key, table in res["history"].items():
            for query, (p50, p99) in table.items():
                lines.append(f"| {key} | {query} | {p50:.2f} | {p99:.2f} |")
        lines.append("")
    if "scale" in res:
        lines += ["## 5. Scale-out: tidings on PostgreSQL + Redis bus", ""]
        scale = res["scale"]
        if "skipped" in scale:
            lines.append(f"Skipped: {scale['skipped']}.")
        else:
            one = scale.get("1", {}).get("best", 0)
            one_cpu = scale.get("1", {}).get("cpu_per_1000", 0)
            lines += [
                "| processes | highest sustained delivered msg/s | ratio vs 1 | server CPU s "
                f"per 1,000 messages at {SCALE_CPU_RATE} msg/s (all nodes) | ratio vs 1 |",
                "|---|---|---|---|---|",
            ]
            for n, r in scale.items():
                cpu = r.get("cpu_per_1000", 0)
                lines.append(
                    f"| {n} | {r['best']:.0f} | {ratio(r['best'], one, True)} | {cpu:.2f} | "
                    f"{ratio(cpu, one_cpu, False)} |"
                )
            lines += [
                "",
                "With 2 processes senders are on node 1 and receivers on node 2 (every "
                "message crosses Redis); both share core 0 here.",
                "",
            ]
        lines.append("")
    for error in res.get("errors", []):
        lines.append(f"Not measured: {error}")
    lines.append(f"Total wall time {(time.time() - started) / 60:.1f} min.")
    return "\n".join(lines) + "\n"


def plot(res: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (pip install -e '.[bench]'): no plots")
        return
    if "chat" not in res:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for index, (name, r) in enumerate(res["chat"].items()):
        xs = [c["offered"] for c in r["curve"]]
        color = f"C{index}"
        ax.plot(xs, [c["p50_ms"] for c in r["curve"]], marker="o", color=color, label=f"{name} p50")
        ax.plot(
            xs,
            [c["p99_ms"] for c in r["curve"]],
            marker="x",
            ls="--",
            color=color,
            label=f"{name} p99",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (messages/s)")
    ax.set_ylabel("end-to-end latency (ms)")
    ax.set_title("1-1 chat: latency vs offered load")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path.with_name(f"{path.stem}-chat.png"), dpi=110)
    plt.close(fig)


# -- main ---------------------------------------------------------------------------------


async def driver_ceiling(seconds: float = 2.0) -> float:
    """How many chat stanzas/s the driver formats, sends and parses on its own."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"<?xml version='1.0'?><stream:stream xmlns:stream='s'>")
        while data := await reader.read(65536):
            writer.write(data)
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = X.Client("127.0.0.1", port, "x")
    client.reader, client.writer = await asyncio.open_connection("127.0.0.1", port)
    client._parser = X.StreamParser(client._deliver)  # noqa: SLF001
    client._reader_task = asyncio.get_running_loop().create_task(client._read_loop())  # noqa: SLF001
    tally = X.Tally()
    client.on_message = tally.handler(0)
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(500):
            client.send_raw(
                f"<message to='a@x' type='chat' id='m{sent}'><body>{X.body(sent)}</body></message>"
            )
            sent += 1
        await client.writer.drain()
        await asyncio.sleep(0)
    await tally.wait_for(sent, 10)
    rate = len(tally.seen) / (time.perf_counter() - started)
    await client.close()
    server.close()
    return rate


async def main(p: Plan, scenarios: list[str], out: Path | None) -> Path:
    if (os.cpu_count() or 1) > 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})
    started = time.time()
    res: dict[str, Any] = {"driver": await driver_ceiling()}
    print(f"driver ceiling {res['driver']:.0f} stanzas/s", flush=True)
    users = max([*p.idle, max(p.fan_sizes), 2 * p.pairs])
    for name in p.servers:
        wanted = [s for s in scenarios if s in ("idle", "chat", "fan")]
        if "no archive" in name:
            wanted = [s for s in wanted if s == "chat"]
        if not wanted:
            continue
        print(f"== {name}", flush=True)
        try:
            async with running(name, users, p.fan_sizes) as server:
                if "idle" in wanted:
                    res.setdefault("idle", {})[name] = await idle(server, p.idle[-1], p.runs)
                    print(f"  idle: {res['idle'][name]}", flush=True)
                    if server.token_accounts:
                        label = f"{name} (session token)"
                        res["idle"][label] = await idle(
                            server, p.idle[-1], p.runs, server.token_accounts
                        )
                        print(f"  idle, session tokens: {res['idle'][label]}", flush=True)
                if "chat" in wanted:
                    res.setdefault("chat", {})[name] = await chat(server, p)
                if "fan" in wanted:
                    res.setdefault("fan", {})[name] = await fan(server, p)
        except AssertionError:
            raise  # a lost or doubled message is a finding, never skipped over
        except Exception as exc:  # one server that fails to start must not void the run
            res.setdefault("errors", []).append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"  {name} failed: {exc!r}", flush=True)
    if "history" in scenarios:
        res["history"] = {}
        for rows in p.history_rows:
            print(f"== history {rows} sqlite", flush=True)
            res["history"][f"SQLite | {rows:,}"] = await history(rows, None, 50)
            async with postgres_database() as url:
                if url:
                    print(f"== history {rows} postgresql", flush=True)
                    res["history"][f"PostgreSQL | {rows:,}"] = await history(rows, url, 50)
    if "scale" in scenarios:
        print("== scale-out", flush=True)
        res["scale"] = await scale_out(p)
    RESULTS.mkdir(exist_ok=True)
    path = out or RESULTS / f"{'quick' if p.quick else 'full'}-{datetime.date.today()}.md"
    path.write_text(report(p, res, started, path))
    path.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str))
    plot(res, path)
    print(path.read_text())
    return path


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scenarios", default="idle,chat,fan,history,scale")
    parser.add_argument("--servers", help="comma-separated subset, e.g. tidings,ejabberd")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    only = args.servers.split(",") if args.servers else None
    # SIGTERM (make interrupted, timeout) unwinds like Ctrl-C, so every server is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    asyncio.run(main(plan(args.quick, only), args.scenarios.split(","), args.out))


if __name__ == "__main__":
    cli()
