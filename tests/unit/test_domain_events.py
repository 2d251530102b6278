"""Every domain event is declared in one place, documented, listed in
docs/architecture.md ("Domain events"), and survives the bus's JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest

from tidings.domain import events
from tidings.domain.events import Event, GatewayRelay, event_types
from tidings.gateways.bayeux import relay

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
SAMPLES: dict[type, object] = {
    str: "x",
    int: 7,
    bool: True,
    "int | None": 3,
    "dict[str, Any]": {"k": ["v", 1]},
    "list[list[Any]]": [[1, "Message.Text"]],
}


def sample(cls: type[Event]) -> Event:
    """An instance of ``cls`` with a plain value in every field."""
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {"app_id": 1, "recipients": (2, 3)}
    for field in dataclasses.fields(cls):
        if field.name in values or field.name == "everyone":
            continue
        hint = hints[field.name]
        values[field.name] = SAMPLES.get(hint, SAMPLES.get(str(hint).replace("typing.", ""), {}))
    return cls(**values)  # type: ignore[arg-type]


def test_every_event_is_declared_in_the_domain() -> None:
    types = event_types()
    assert len(types) >= 14
    for name, cls in types.items():
        assert cls.__module__ == events.__name__, f"{name} is declared in {cls.__module__}"


@pytest.mark.parametrize(
    "cls", sorted(event_types().values(), key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_event_is_documented_listed_and_round_trips(cls: type[Event]) -> None:
    assert cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("), "no docstring"
    assert cls.name != Event.name, "no event name"
    assert f"`{cls.__name__}` (`{cls.name}`)" in DOC.read_text(), "not in docs/architecture.md"
    event = sample(cls)
    back = Event.from_dict(json.loads(json.dumps(event.to_dict())))
    assert back == event and type(back) is cls


def test_event_names_are_unique() -> None:
    names = [cls.name for cls in event_types().values()]
    assert len(names) == len(set(names))


def test_bayeux_relays_round_trip_and_ignore_other_gateways() -> None:
    """docs/architecture.md: a relay is read only by the gateway it names."""
    notes = [
        relay.CometPublished(app_id=4, channel="/chat/room", data={"text": "hi"}),
        relay.CometSessionWanted(client_id="c1", node="node-b"),
        relay.CometSessionMoved(client_id="c1", node="node-b", session={"id": "c1"}),
    ]
    for note in notes:
        wire = json.loads(json.dumps(relay.to_event(note).to_dict()))
        assert relay.from_event(Event.from_dict(wire)) == note
    other = GatewayRelay(app_id=4, gateway="other", topic="published", payload={})
    assert relay.from_event(other) is None
    broken = GatewayRelay(app_id=4, gateway=relay.GATEWAY, topic="published", payload={})
    assert relay.from_event(broken) is None
