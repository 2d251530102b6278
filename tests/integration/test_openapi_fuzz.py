"""schemathesis fuzzes every operation of /openapi.json: no input may cause a 500.

The operations are fuzzed in groups of paths, one test item per group, so parallel
test workers share the run instead of one of them carrying all of it. Every path
belongs to exactly one group (or is deliberately left out), which
``test_fuzz_groups_cover_every_path`` checks against the live document, so a new
route cannot go unfuzzed.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

#: Fuzzed nowhere: the run's own session must survive it (logout, delete account).
EXCLUDED = ("/api/v1/sessions/current", "/api/v1/users/me")

#: Group name -> a regex over /openapi.json paths (``re.search``, as schemathesis's
#: ``--include-path-regex`` applies it). Sized from the per-operation times of the
#: junit reports so that each group takes 14-19 s at the default example count.
GROUPS = {
    "dialogs": r"^/api/v1/dialogs(/\{dialog_id\})?$|^/api/v1/unread$",
    "dialog-state-search": (
        r"^/api/v1/dialogs/\{dialog_id\}/"
        r"(subscription|members|notifications|read|delivered|typing)$"
        r"|^/api/v1/search$"
    ),
    "messages": r"^/api/v1/dialogs/\{dialog_id\}/messages(/\{message_id\})?$",
    "contacts-privacy": r"^/api/v1/(contacts|privacy)(/|$)",
    "sessions-users-ops": r"^/api/v1/(sessions|users)(/|$)|^/(health|ready|metrics)$",
    "files-push": r"^/api/v1/(files|devices|push)(/|$)",
}

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def group_of(path: str) -> list[str]:
    """The groups whose regex matches ``path`` (exactly one for a covered path)."""
    return [name for name, regex in GROUPS.items() if re.search(regex, path)]


async def openapi_paths(server) -> dict[str, list[str]]:
    """Each path of the live document with its upper-case methods."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        spec = (await http.get("/openapi.json")).json()
    return {
        path: [method.upper() for method in item if method in METHODS]
        for path, item in spec["paths"].items()
    }


async def test_fuzz_groups_cover_every_path(server) -> None:
    """Every path of /openapi.json is fuzzed by exactly one group, or is one of the
    deliberate exclusions; and no group is empty."""
    paths = await openapi_paths(server)
    assert set(EXCLUDED) <= set(paths), "an excluded path no longer exists: drop it"
    unplaced = {p: group_of(p) for p in paths if p not in EXCLUDED and len(group_of(p)) != 1}
    assert not unplaced, f"paths in no group or in several (add them to GROUPS): {unplaced}"
    for name in GROUPS:
        assert any(group_of(p) == [name] for p in paths if p not in EXCLUDED), f"{name} is empty"


def fuzzed_operations(report: Path) -> set[str]:
    """The operations a junit report lists, as ``"GET /path"``."""
    cases = ET.parse(report).getroot().iter("testcase")
    return {" ".join(case.attrib["name"].split()[:2]) for case in cases}


@pytest.mark.slow
@pytest.mark.parametrize("group", list(GROUPS))
async def test_no_server_error_for_any_generated_request(server, tmp_path, group: str) -> None:
    """Issue 'Done when': schemathesis against /openapi.json finds no server error.

    Runs as a logged-in user who owns a dialog and a message, so generated requests
    reach the code behind authentication, not only the 401 path.
    """
    app, _user, client = await server.new_client()
    _, other, _ = await server.new_client(app)
    dialog = await client.create_dialog("group", [other.id], name="fuzzed")
    await client.send_message(dialog.id, "seed message")
    report = tmp_path / "junit.xml"
    excluded = [arg for path in EXCLUDED for arg in ("--exclude-path", path)]
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        os.environ.get("TIDINGS_FUZZ_EXAMPLES", "12"),
        "--header",
        f"Authorization: Bearer {client.token}",
        "--include-path-regex",
        GROUPS[group],
        *excluded,
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--seed",
        "1",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"schemathesis found failures:\n{text[-6000:]}"
    # schemathesis fuzzed exactly the operations this group stands for.
    paths = await openapi_paths(server)
    expected = {
        f"{method} {path}"
        for path, methods in paths.items()
        if path not in EXCLUDED and group_of(path) == [group]
        for method in methods
    }
    assert fuzzed_operations(report) == expected, text[-3000:]
