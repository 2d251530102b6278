"""Profile tidings under the 1-1 chat load of scenario 2 with py-spy.

py-spy is not a dependency (``.venv/bin/pip install py-spy``). Starts tidings like
``bench.run`` does, drives ``--rate`` chat messages/s through ``--pairs`` pairs,
samples the server for ``--seconds`` and prints the functions with the largest
inclusive and self share of samples (folded stacks are kept in ``--out``).

    .venv/bin/python -m bench.profile_chat --rate 60 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
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


async def main(rate: float, seconds: float, pairs: int, out: Path, top: int) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    cores = "0" if (os.cpu_count() or 1) > 1 else ""
    server = (await S.start_tidings(2 * pairs, [], core=cores))[0]
    try:
        clients = await X.connect_many(
            "127.0.0.1", server.port, server.domain, server.accounts, tls=True
        )
        couples = list(zip(clients[:pairs], clients[pairs:], strict=True))
        await X.chat_at_rate(couples, 20, 1.0)
        record = subprocess.Popen(  # noqa: ASYNC220 - runs beside the load, waited below
            [
                spy,
                "record",
                "--pid",
                str(server.pid),
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
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.pairs, args.out, args.top))
