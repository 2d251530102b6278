"""The npm ``cometd`` client (with ``cometd-nodejs-client``) against /genesys/cometd.

bayeux-server §9 tests 1 and 2: handshake, subscribe ``/t/**``, publish to
``/t/a``, receive on self and on a second client, publish ack without data,
clean disconnect — over WebSocket and over long-polling only.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1] / "js" / "cometd"


def _need_node() -> None:
    if shutil.which("node") is None or not (HERE / "node_modules" / "cometd").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("node or tests/js/cometd/node_modules missing (run make test)")
        pytest.skip("node or tests/js/cometd/node_modules missing")


@pytest.mark.parametrize("transport", ["websocket", "long-polling"])
async def test_cometd_js_round_trip(server, transport: str) -> None:
    _need_node()
    app = await server.new_app("cometd js")
    proc = await asyncio.create_subprocess_exec(
        "node",
        "conformance.mjs",
        server.base_url + "/genesys/cometd",
        transport,
        app.auth_key,
        cwd=HERE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, (out + err).decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["ok"] is True
    assert result["transportA"] == transport
    assert result["received"] == {"a": {"text": "hi"}, "b": {"text": "hi"}}
    assert result["publishAck"] == {"successful": True, "hasData": False}
    assert result["deliveryHasId"] is False
    assert result["metaSubscribe"] == "403:/meta/x:Subscription denied"
    assert result["statusA"] == "disconnected"
