"""Run ``tidings`` as separate processes, as an operator would, and stop them afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

TIDINGS = [sys.executable, "-m", "tidings.cli"]
LISTENING = re.compile(rb"tidings listening on (http://\S+)")


#: Processes of this test run share a Redis namespace that no other run uses, so
#: parallel runs (and pytest-xdist workers) on one Redis never see each other's events.
RUN_REDIS_NAMESPACE = f"tidings-test-{secrets.token_hex(4)}"


def cli_env(data_dir: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update(
        {
            "TIDINGS_DATA_DIR": str(data_dir),
            "TIDINGS_LOG_FORMAT": "text",
            "TIDINGS_REDIS_NAMESPACE": RUN_REDIS_NAMESPACE,
            # Cheap argon2id for throwaway passwords, as in-process servers (conftest).
            "TIDINGS_PASSWORD_HASH_MEMORY_KIB": "1024",
            "TIDINGS_PASSWORD_HASH_ITERATIONS": "1",
            **variables,
        }
    )
    return env


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *TIDINGS, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def run_cli_json(env: dict[str, str], *args: str) -> Any:
    code, out, err = await run_cli(env, *args, "--json")
    assert code == 0, f"tidings {' '.join(args)} failed: {err}"
    return json.loads(out)


class ServerProcess:
    """``tidings serve --port 0``; ``url`` is read from the line it prints once bound."""

    def __init__(self, env: dict[str, str], *extra: str) -> None:
        self.env = env
        self.extra = extra
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.output: list[str] = []

    async def start(self, timeout: float = 30) -> ServerProcess:  # noqa: ASYNC109
        self.proc = await asyncio.create_subprocess_exec(
            *TIDINGS,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--xmpp-port",
            "0",
            *self.extra,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        seen = b""
        async with asyncio.timeout(timeout):
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"server exited before listening:\n{seen.decode()}")
                seen += line
                match = LISTENING.search(line)
                if match:
                    self.url = match.group(1).decode()
                    break
        asyncio.get_running_loop().create_task(self._drain())
        return self

    async def _drain(self) -> None:
        """Keep reading so the server never blocks on a full pipe; keep the tail for errors."""
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.output.append(line.decode(errors="replace"))
            del self.output[:-200]

    async def stop(self) -> int:
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            return await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()
