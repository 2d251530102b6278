"""Settings: environment parsing, CLI overrides, and the generated docs table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tidings.settings import (
    VARIABLES,
    Settings,
    SettingsError,
    configuration_markdown,
    write_docs,
)

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
    with pytest.raises(SettingsError, match="TIDINGS_PORT='eighty': .*valid integer"):
        Settings.from_env({"TIDINGS_PORT": "eighty"})


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TIDINGS_LOG_FORMAT": "xml"}, "TIDINGS_LOG_FORMAT='xml': Input should be 'json' or"),
        ({"TIDINGS_AUTH_TIMEOUT": "-1"}, "TIDINGS_AUTH_TIMEOUT='-1': .*greater than or equal to 0"),
        ({"TIDINGS_PORT": "70000"}, "TIDINGS_PORT='70000': .*less than or equal to 65535"),
        ({"TIDINGS_SQLITE_DRIVER": "fast"}, "TIDINGS_SQLITE_DRIVER='fast'"),
        ({"TIDINGS_BUS_URL": "kafka://x"}, "TIDINGS_BUS_URL='kafka://x'"),
        ({"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "maybe"}, "TIDINGS_WEBHOOK_ALLOW_PRIVATE='maybe'"),
        (
            {"TIDINGS_DELIVERY_RETRY_MAX_MS": "10"},
            "TIDINGS_DELIVERY_RETRY_MAX_MS .10. is below TIDINGS_DELIVERY_RETRY_BASE_MS",
        ),
    ],
)
def test_an_invalid_value_names_its_variable_on_one_line(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named) as error:
        Settings.from_env(environ)
    assert "\n" not in str(error.value)


def test_every_bad_variable_is_named_at_once() -> None:
    env = {"TIDINGS_LOG_FORMAT": "xml", "TIDINGS_DELIVERY_BATCH": "0"}
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert "TIDINGS_LOG_FORMAT" in str(error.value)
    assert "TIDINGS_DELIVERY_BATCH" in str(error.value)


def test_values_are_parsed_and_normalised() -> None:
    settings = Settings.from_env(
        {
            "TIDINGS_WEBHOOK_ALLOW_PRIVATE": "1",
            "TIDINGS_LOG_LEVEL": "debug",
            "TIDINGS_XMPP_ACK_DELAY_MS": "200",
            "TIDINGS_NODE_ID": "node-a",
        }
    )
    assert settings.webhook_allow_private is True
    assert settings.log_level == "DEBUG"
    assert settings.xmpp_ack_delay_ms == 200
    assert settings.node_id == "node-a"
    assert Settings.from_env({}).node_id, "an empty node id becomes a random one"


def test_constructing_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests and embedders build Settings from keywords; only from_env reads variables."""
    monkeypatch.setenv("TIDINGS_PORT", "9999")
    assert Settings(port=0).port == 0
    assert Settings().port == 8080
    assert Settings.from_env().port == 9999


def test_changes_are_checked_and_the_original_is_kept() -> None:
    settings = Settings(login_rate=3)
    changed = settings.with_changes(catch_up_limit=2)
    assert (changed.catch_up_limit, changed.login_rate) == (2, 3)
    assert changed.node_id == settings.node_id
    assert settings.catch_up_limit == 10000
    with pytest.raises(SettingsError, match="TIDINGS_CATCH_UP_LIMIT=0"):
        settings.with_changes(catch_up_limit=0)
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1  # type: ignore[misc]


def test_serve_with_an_invalid_value_exits_with_one_line(tmp_path: Path) -> None:
    """``tidings serve`` refuses a bad value before binding anything: status 1, one line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update({"TIDINGS_DATA_DIR": str(tmp_path), "TIDINGS_LOG_FORMAT": "xml"})
    done = subprocess.run(
        [sys.executable, "-m", "tidings.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: invalid_setting: TIDINGS_LOG_FORMAT='xml': Input should be 'json' or 'text'"
    ]
    assert "Traceback" not in done.stderr


def test_every_variable_is_documented() -> None:
    """docs/configuration.md carries the generated table; regenerate it when this fails:
    ``python -m tidings.settings --write-docs docs/configuration.md``."""
    assert configuration_markdown() in DOCS.read_text()
    assert all(name.startswith("TIDINGS_") for name in VARIABLES)
    assert len(VARIABLES) == len(Settings.model_fields)
    for name, info in Settings.model_fields.items():
        assert info.description, f"{name} has no doc"


def test_writing_the_docs_keeps_the_prose(tmp_path: Path) -> None:
    doc = tmp_path / "configuration.md"
    doc.write_text("# Title\n\nBefore.\n\n| variable | old |\n| --- | --- |\n| x | y |\n\nAfter.\n")
    assert write_docs(doc) is True
    text = doc.read_text()
    assert text.startswith("# Title\n\nBefore.\n\n") and text.endswith("\n\nAfter.\n")
    assert configuration_markdown() in text and "| x | y |" not in text
    assert write_docs(doc) is False, "a current table is left alone"
