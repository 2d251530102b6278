"""Settings: environment parsing, CLI overrides, and the generated docs table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.settings import VARIABLES, Settings, configuration_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults_need_nothing_installed() -> None:
    settings = Settings.from_env({})
    assert settings.bus_url == "memory://"
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("/var/tidings.db")
    assert settings.files_dir == Path("var/files")


def test_environment_and_overrides() -> None:
    env = {"TIDINGS_PORT": "9000", "TIDINGS_DATA_DIR": "/srv/t", "TIDINGS_BUS_URL": "redis://x"}
    settings = Settings.from_env(env, port=0)
    assert settings.port == 0, "a CLI flag wins over the environment"
    assert settings.data_dir == Path("/srv/t") and settings.bus_url == "redis://x"


def test_a_bad_number_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="whole number"):
        Settings.from_env({"TIDINGS_PORT": "eighty"})


def test_every_variable_is_documented() -> None:
    """docs/configuration.md carries the generated table; regenerate it when this fails."""
    assert configuration_markdown() in DOCS.read_text()
    assert all(name.startswith("TIDINGS_") for name in VARIABLES)
