"""Profile tidings under the 1-1 chat load of scenario 2, or under logins, with py-spy.

py-spy is not a dependency (``.venv/bin/pip install py-spy``). Starts tidings like
``bench.run`` does, drives ``--rate`` chat messages/s through ``--pairs`` pairs,
samples the server for ``--seconds`` and prints the functions with the largest
inclusive and self share of samples (folded stacks are kept in ``--out``). With
``--logins N`` it samples N password logins instead (``--tokens``: session tokens).

    .venv/bin/python -m bench.profile_chat --rate 60 --seconds 15
    .venv/bin/python -m bench.profile_chat --logins 2000
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bench import servers as S
from bench import xmpp_load as X


def summarise(folded: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue  # a frame name with a line break in it (py-spy writes it as is)
        samples = int(count)
        total += samples
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1] for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    lines = [f"{total} samples", "", "| inclusive % | function |", "|---|---|"]
    lines += [f"| {100 * n / total:.1f} | `{f}` |" for f, n in inclusive.most_common(top)]
    lines += ["", "| self % | function |", "|---|---|"]
    lines += [f"| {100 * n / total:.1f} | `{f}` |" for f, n in own.most_common(top)]
    return "\n".join(lines)


def spy_on(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            "--rate",
            "200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def logins(count: int, tokens: bool, out: Path, top: int) -> None:
    """Sample the server while ``count`` clients log in (about 30 s of it at most)."""
    cores = "0" if (os.cpu_count() or 1) > 1 else ""
    server = (await S.start_tidings(count, [], core=cores))[0]
    try:
        accounts = server.token_accounts if tokens else server.accounts
        record = spy_on(server.pid, 30, out)
        started = asyncio.get_running_loop().time()
        clients = await X.connect_many("127.0.0.1", server.port, server.domain, accounts)
        elapsed = asyncio.get_running_loop().time() - started
        print(f"{len(clients)} logins in {elapsed:.1f} s: {len(clients) / elapsed:.0f}/s")
        record.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
        await asyncio.to_thread(record.wait)
        await X.close_all(clients)
    finally:
        server.stop()
    print(summarise(out, top))


async def main(rate: float, seconds: float, pairs: int, out: Path, top: int) -> None:
    cores = "0" if (os.cpu_count() or 1) > 1 else ""
    server = (await S.start_tidings(2 * pairs, [], core=cores))[0]
    try:
        clients = await X.connect_many(
            "127.0.0.1", server.port, server.domain, server.accounts, tls=True
        )
        couples = list(zip(clients[:pairs], clients[pairs:], strict=True))
        await X.chat_at_rate(couples, 20, 1.0)
        record = spy_on(server.pid, seconds, out)
        result = await X.chat_at_rate(couples, rate, seconds)
        print(result)
        await asyncio.to_thread(record.wait)
        await X.close_all(clients)
    finally:
        server.stop()
    print(summarise(out, top))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="py-spy profile of tidings under 1-1 chat")
    parser.add_argument("--rate", type=float, default=60)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path("/tmp/tidings-chat.folded"))
    parser.add_argument("--logins", type=int, default=0, help="profile N logins instead")
    parser.add_argument("--tokens", action="store_true", help="log in with session tokens")
    args = parser.parse_args()
    if args.logins:
        asyncio.run(logins(args.logins, args.tokens, args.out, args.top))
    else:
        asyncio.run(main(args.rate, args.seconds, args.pairs, args.out, args.top))
