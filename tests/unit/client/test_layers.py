"""The client reads the server's answer models without importing the server.

``tidings.client`` is what bots and benchmarks install beside their own code: it may
import the answer models (``tidings.api_schemas``) and the domain's values they
wrap, and nothing that builds or runs the server. The models' one definition is
shared: the REST gateway re-exports the very same classes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tidings.api_schemas as api_schemas
import tidings.client as client
from tests.unit.test_layers import imports_of
from tidings.gateways.rest import schemas as rest_schemas

SRC = Path(__file__).resolve().parents[3] / "src" / "tidings"
CLIENT_MAY_IMPORT = ("tidings.client", "tidings.api_schemas", "tidings.domain")


@pytest.mark.parametrize("path", sorted((SRC / "client").rglob("*.py")), ids=lambda p: p.name)
def test_client_imports_only_the_models(path: Path) -> None:
    bad = {
        name
        for name in imports_of(path)
        if name.startswith("tidings") and not name.startswith(CLIENT_MAY_IMPORT)
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_answer_models_import_only_the_domain() -> None:
    ours = {n for n in imports_of(SRC / "api_schemas.py") if n.startswith("tidings")}
    assert ours <= {"tidings.domain.models"}, ours


def test_importing_the_client_loads_no_server_module() -> None:
    """Checked in a fresh interpreter: the import graph, not only the source text."""
    probe = (
        "import sys, tidings.client\n"
        "bad = sorted(m for m in sys.modules if m.startswith('tidings.')"
        " and not m.startswith(('tidings.client', 'tidings.api_schemas', 'tidings.domain')))\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
    assert "fastapi" not in out.stdout


#: The REST answers; the rest of ``api_schemas`` are real-time frames.
REST_ANSWERS = [name for name in api_schemas.__all__ if hasattr(rest_schemas, name)]


def test_every_rest_answer_is_shared() -> None:
    assert set(api_schemas.__all__) - set(REST_ANSWERS) == {
        "ErrorFrame",
        "Event",
        "Hello",
        "ResyncDialog",
    }


@pytest.mark.parametrize("name", REST_ANSWERS)
def test_the_gateway_declares_the_same_classes(name: str) -> None:
    """One definition: what /openapi.json describes is what the client parses."""
    assert getattr(rest_schemas, name) is getattr(api_schemas, name)


def test_client_exports() -> None:
    assert sorted(client.__all__) == sorted(set(client.__all__))
    for name in client.__all__:
        assert getattr(client, name) is not None, name
