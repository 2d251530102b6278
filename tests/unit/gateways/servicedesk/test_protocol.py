"""The sans-I/O half of the service-desk gateway (wire spec §2, §2.1, §5)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_layers import WIRE, imports_of
from tidings.gateways.servicedesk import protocol
from tidings.gateways.servicedesk.protocol import (
    as_int,
    normalize_path,
    parse_commands,
    timestamp,
    without_nulls,
)


def test_protocol_module_is_pure() -> None:
    path = Path(protocol.__file__)
    for name in imports_of(path):
        root = name.split(".")[0]
        assert root != "asyncio" and root not in WIRE, name
        assert root != "tidings" or name.startswith("tidings.gateways.servicedesk.protocol")


def test_timestamps_have_no_fraction() -> None:
    """§2.1: exactly YYYY-MM-DDTHH:MM:SSZ, UTC."""
    assert timestamp(1_746_350_002_999) == "2025-05-04T09:13:22Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", timestamp(0))


def test_paths_are_case_insensitive_with_optional_slash() -> None:
    """§2."""
    assert normalize_path("/servicedeskapi/v1/GetTicketFeed/") == "/servicedeskapi/v1/getticketfeed"
    assert normalize_path("/ServiceDeskApi/v1/Avatar/12") == "/servicedeskapi/v1/avatar/12"
    assert normalize_path("/api/v1/dialogs") is None
    assert normalize_path("/servicedeskapiX/v1/x") is None


def test_nulls_are_omitted_everywhere() -> None:
    """§2.1: omit, don't null."""
    data = {"a": None, "b": [1, None, {"c": None, "d": 0}], "e": False}
    assert without_nulls(data) == {"b": [1, {"d": 0}], "e": False}


def test_commands_parse_and_unknown_keys_are_ignored() -> None:
    """§5: dispatch on ``type``; Android's ``__type`` is ignored; bad ones answered."""
    commands, errors = parse_commands(
        [
            {"command_id": "a", "type": 0, "params": {"__type": "CreateComment", "comment": "x"}},
            {"command_id": "b", "type": "1", "params": {"ticket_id": 5}},
            {"command_id": "c", "type": 3, "params": {}},
            {"type": 0},
            "junk",
        ]
    )
    assert [(c.command_id, c.type) for c in commands] == [("a", 0), ("b", 1)]
    assert errors == [{"command_id": "c", "error": {"text": "unknown command type", "code": 400}}]
    assert parse_commands(None) == ([], [])


def test_as_int() -> None:
    assert as_int(5) == 5 and as_int("-3") == -3
    assert as_int(True) is None and as_int("x") is None and as_int(None) is None
