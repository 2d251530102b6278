"""The SDK's parameter encoding (connectycube-wire §2.3), parsed without a server."""

from __future__ import annotations

import pytest

from tidings.gateways.connectycube.query import (
    FieldFilter,
    ParamsError,
    as_bool,
    as_int_list,
    as_list,
    as_time_ms,
    field_filters,
    matches,
    parse_params,
)


def test_bracketed_keys_become_nested_objects() -> None:
    """§2.3 rule 1: ``date_sent[gt]=…`` and ``extensions[location]=Sun%20bar``."""
    parsed = parse_params("date_sent[gt]=1700000000&extensions[location]=Sun%20bar&limit=50")
    assert parsed == {
        "date_sent": {"gt": "1700000000"},
        "extensions": {"location": "Sun bar"},
        "limit": "50",
    }


def test_top_level_arrays_repeat_the_key() -> None:
    """§2.3 rule 2: ``ids[]=1&ids[]=3``."""
    assert parse_params("ids[]=1&ids[]=3") == {"ids": ["1", "3"]}


def test_nested_arrays_arrive_comma_joined() -> None:
    """§2.3 rule 2: ``type[in]=2%2C3`` stays one value; :func:`as_list` splits it."""
    parsed = parse_params("type[in]=2%2C3")
    assert parsed == {"type": {"in": "2,3"}}
    assert as_list(parsed["type"]["in"]) == ["2", "3"]


def test_array_mode_of_get_v2() -> None:
    """§2.3 rule 3: ``users.getV2`` sends ``id[in][]=101&id[in][]=102``."""
    assert parse_params("id[in][]=101&id[in][]=102&limit=10") == {
        "id": {"in": ["101", "102"]},
        "limit": "10",
    }


def test_percent_encoding_of_reserved_characters_and_plus() -> None:
    """§2.3 rule 5: ``+`` is sent as ``%2B``; a bare ``+`` in a form body is a space."""
    assert parse_params("q=a%2Bb%20c%26d&r=x+y") == {"q": "a+b c&d", "r": "x y"}


def test_delete_body_force() -> None:
    """§2.3: DELETE bodies carry the same encoding: ``force=1``."""
    assert parse_params(b"force=1") == {"force": "1"}
    assert as_bool(parse_params(b"force=1")["force"]) is True


def test_empty_query_and_trailing_question_mark() -> None:
    """§2.1: ``GET /chat/Dialog.json?`` has an empty query."""
    assert parse_params("") == {}


def test_mixed_shapes_and_depth_are_refused() -> None:
    with pytest.raises(ParamsError):
        parse_params("a=1&a[b]=2")
    with pytest.raises(ParamsError):
        parse_params("a[b][c][d][e][f]=1")
    with pytest.raises(ParamsError):
        parse_params("&".join(f"k{i}=1" for i in range(1002)))


def test_lists_from_every_shape_the_sdk_uses() -> None:
    """§5.2: occupants as an array, as ``"102, 103"`` or as one number."""
    assert as_int_list([102, 103], "ids") == [102, 103]
    assert as_int_list("102, 103", "ids") == [102, 103]
    assert as_int_list(104, "ids") == [104]
    with pytest.raises(ParamsError):
        as_int_list("a, b", "ids")


def test_times_unix_iso_and_js_date_string() -> None:
    """§2.3 rule 6: unix seconds, ISO-8601 and ``Date.toString()``."""
    assert as_time_ms("1700000000", "t") == 1_700_000_000_000
    assert as_time_ms(1700000000, "t") == 1_700_000_000_000
    assert as_time_ms("2023-11-14T22:13:20.000Z", "t") == 1_700_000_000_000
    js = "Tue Nov 14 2023 23:13:20 GMT+0100 (Central European Standard Time)"
    assert as_time_ms(js, "t") == 1_700_000_000_000
    with pytest.raises(ParamsError):
        as_time_ms("yesterday", "t")


def test_field_filters_and_matching() -> None:
    """§5.4: ``field`` and ``field[op]`` filters."""
    filters = field_filters(
        parse_params("sender_id=5&date_sent[gt]=10&message[ctn]=Hi&other=1"),
        ("sender_id", "date_sent", "message"),
    )
    assert filters == [
        FieldFilter("sender_id", "eq", "5"),
        FieldFilter("date_sent", "gt", "10"),
        FieldFilter("message", "ctn", "Hi"),
    ]
    assert matches(5, filters[0]) and matches(11, filters[1]) and not matches(10, filters[1])
    assert matches("oh hi there", filters[2])
    assert matches(3, FieldFilter("type", "in", "2,3"))
    assert matches(4, FieldFilter("type", "nin", "2,3"))
    assert matches("alice", FieldFilter("login", "start_with", "Al"))
    with pytest.raises(ParamsError):
        field_filters({"date_sent": {"near": "1"}}, ("date_sent",))
