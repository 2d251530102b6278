"""Browser tests' shared parts: where the playwright-core harness and Chromium are,
and how a test runs one flow script and reads its steps.

A flow (``tests/js/console/*.mjs``) drives Debian's Chromium through a page and
prints one JSON line last: ``{"ok": bool, "error": str, "steps": [{"name": …}, …]}``.
:func:`run_flow` runs it with the environment the test gives and returns that object
with its steps by name (``result["steps"]["signed_in"]``), or fails the test with
what the script printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "js" / "console"
CHROMIUM = os.environ.get("TIDINGS_CHROMIUM", "/usr/bin/chromium")


def require_browser() -> str:
    """Node, the pinned npm packages and Chromium; skip on a laptop, fail under CI."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node")
    if not (HARNESS / "node_modules" / "playwright-core").is_dir():
        missing.append("tests/js/console/node_modules (run scripts/install-test-deps.sh)")
    if not Path(CHROMIUM).exists():
        missing.append(f"chromium at {CHROMIUM} (apt-get install chromium)")
    if missing:
        message = "browser test needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert node is not None
    return node


async def run_flow(script: Path, env: dict[str, str], limit: float = 150) -> dict[str, Any]:
    """Run ``script`` with node (``env`` on top of ours, ``CHROMIUM`` and ``HARNESS`` set)
    and return its result, steps by name; a script that fails, hangs or prints no result fails
    the test with its output. ``limit`` (seconds) only turns a hang into a failure."""
    node = require_browser()
    proc = await asyncio.create_subprocess_exec(
        node,
        str(script),
        env={**os.environ, "CHROMIUM": CHROMIUM, "HARNESS": str(HARNESS), **env},
        cwd=HARNESS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert out, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["ok"], f"{result.get('error')}\n{err.decode()[-2000:]}"
    result["steps"] = {step["name"]: step for step in result["steps"]}
    return result
