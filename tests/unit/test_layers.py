"""The house rules of ARCHITECTURE.md and STYLE.md, checked on the import graph.

- The core knows no wire format: ``tidings.core`` imports no web framework, no
  gateway, no console.
- Gateways translate and the core decides: a gateway never imports ``store`` or
  another gateway.
- Sans-I/O protocol modules import only the standard library and pure helpers.
- The core's code never names a gateway's protocol (Pyrus, Bayeux, XMPP, ...).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tidings"
WIRE = ("fastapi", "starlette", "uvicorn", "websockets", "httpx", "xml", "lxml", "defusedxml")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    return sorted((SRC / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_no_wire_format_and_no_gateway(path: Path) -> None:
    bad = {
        name
        for name in imports_of(path)
        if name.split(".")[0] in WIRE
        or name.startswith(("tidings.gateways", "tidings.console", "tidings.server"))
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("gateways"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_gateways_do_not_reach_the_store_or_each_other(path: Path) -> None:
    own = path.relative_to(SRC / "gateways").parts[0]
    bad = set()
    for name in imports_of(path):
        if name.startswith("tidings.store"):
            bad.add(name)
        if name.startswith("tidings.gateways.") and name.split(".")[2] != own:
            bad.add(name)
    assert not bad, f"{path} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "path",
    [
        SRC / "gateways" / "realtime" / "protocol.py",
        SRC / "text.py",
        SRC / "jsonbody.py",
        SRC / "gcra.py",
    ],
    ids=lambda p: p.name,
)
def test_protocol_modules_are_pure(path: Path) -> None:
    allowed_prefixes = ("tidings.text", "tidings.jsonbody", "tidings.gcra")
    for name in imports_of(path):
        root = name.split(".")[0]
        assert root != "asyncio" and root not in WIRE, f"{path.name} imports {name}"
        if root == "tidings":
            assert name.startswith(allowed_prefixes), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules("outbound"), ids=lambda p: p.name)
def test_outbound_http_stands_below_the_core(path: Path) -> None:
    """The core calls out through ``tidings.outbound``; it must not call back up."""
    for name in imports_of(path):
        if name.startswith("tidings."):
            assert name.startswith("tidings.outbound"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_domain_imports_nothing_of_ours(path: Path) -> None:
    """ARCHITECTURE.md "Layers run one way": the vocabulary is the bottom layer."""
    for name in imports_of(path):
        if name.startswith("tidings"):
            assert name.startswith("tidings.domain"), f"{path.name} imports {name}"


INFRASTRUCTURE = ("store", "bus", "files")
BELOW_THE_CORE = ("tidings.domain", "tidings.observability") + tuple(
    f"tidings.{folder}" for folder in INFRASTRUCTURE
)


@pytest.mark.parametrize(
    "path",
    [p for folder in INFRASTRUCTURE for p in modules(folder)],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_infrastructure_imports_only_the_domain(path: Path) -> None:
    """``store/``, ``bus/`` and ``files/`` sit under ``core/``: nothing of theirs
    imports a service, a gateway or the server, so no folder circle exists."""
    own = path.relative_to(SRC).parts[0]
    for name in imports_of(path):
        if not name.startswith("tidings"):
            continue
        assert name.startswith(BELOW_THE_CORE), f"{path} imports {name}"
        folder = name.split(".")[1]
        if folder in INFRASTRUCTURE and folder != own:
            # One infrastructure package may not lean on another (the store is not
            # the bus), except through the domain.
            raise AssertionError(f"{path} imports {name}")


#: Names of the protocols the gateways speak: the core's code never says them.
GATEWAY_WORDS = ("pyrus", "bayeux", "cometd", "genesys", "xmpp", "connectycube")
#: Known exception, to be removed with its cause: the store module


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes of the module, its classes and functions."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def code_words(path: Path) -> list[str]:
    """Every identifier and string literal of a module's code (docstrings and comments
    are prose, free to cite the spec a rule comes from)."""
    tree = ast.parse(path.read_text(), str(path))
    prose = _docstrings(tree)
    words: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in prose:
                words.append(node.value)
        elif isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            words.append(node.name)
        elif isinstance(node, ast.arg):
            words.append(node.arg)
        elif isinstance(node, ast.keyword) and node.arg:
            words.append(node.arg)
        elif isinstance(node, ast.alias):
            words.extend((node.name, node.asname or ""))
        elif isinstance(node, ast.ImportFrom) and node.module:
            words.append(node.module)
    return words


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_knows_no_gateway_vocabulary(path: Path) -> None:
    """ARCHITECTURE.md "Gateways translate, the core decides": a wire rule lives in its
    gateway, so no identifier or string of the core names a gateway's protocol."""
    words = code_words(path)
    bad = sorted({w for w in words if any(g in w.lower() for g in GATEWAY_WORDS)})
    assert not bad, f"{path.name} speaks a gateway's language: {bad}"


def test_the_vocabulary_check_sees_code_but_not_prose(tmp_path: Path) -> None:
    """The check above must catch names and strings, and leave docstrings alone."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Follows the Pyrus spec."""\n'
        "def f(xmpp_jid):\n"
        '    """As Bayeux says."""\n'
        '    return {"app": "ConnectyCube"}\n'
    )
    words = [w for w in code_words(sample) if any(g in w.lower() for g in GATEWAY_WORDS)]
    assert sorted(words) == ["ConnectyCube", "xmpp_jid"]
