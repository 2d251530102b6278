"""The one JSON reader: depth and size limits, errors every gateway can map."""

from __future__ import annotations

import pytest

from tidings import jsonbody
from tidings.jsonbody import MAX_DEPTH, MalformedJson, TooDeep, TooLarge


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 2_000, 100_000])
def test_too_deep_is_a_value_error_with_a_code(depth: int) -> None:
    """Past Python's recursion limit json.loads raises RecursionError (not ValueError);
    the reader turns every depth past the limit into the same TooDeep."""
    with pytest.raises(TooDeep) as error:
        jsonbody.loads(nested(depth), max_bytes=None)
    assert isinstance(error.value, ValueError)
    assert (error.value.code, error.value.status) == ("too_deep", 400)


def test_objects_count_as_levels_too() -> None:
    deep = '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)
    with pytest.raises(TooDeep):
        jsonbody.loads(deep)
    ok = '{"a":' * MAX_DEPTH + "[]" + "}" * MAX_DEPTH
    with pytest.raises(TooDeep):
        jsonbody.loads(ok)  # the [] is level MAX_DEPTH + 1
    assert jsonbody.loads('{"a":' * (MAX_DEPTH - 1) + "[]" + "}" * (MAX_DEPTH - 1))


def test_the_limit_itself_is_accepted() -> None:
    value = jsonbody.loads(nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == []


def test_size_counts_utf8_bytes() -> None:
    assert jsonbody.loads('"' + "é" * 10 + '"', max_bytes=22) == "é" * 10
    with pytest.raises(TooLarge) as error:
        jsonbody.loads('"' + "é" * 10 + '"', max_bytes=21)
    assert error.value.status == 413
    with pytest.raises(TooLarge):
        jsonbody.loads(b"[" + b"1," * 1000 + b"1]", max_bytes=100)


@pytest.mark.parametrize(
    "data", [b"", b"{", b"\xff\xfe", "[NaN]", "Infinity", "1" * 5000, b'{"a": }', "[1,]"]
)
def test_malformed_input(data: bytes | str) -> None:
    with pytest.raises(MalformedJson) as error:
        jsonbody.loads(data)
    assert (error.value.code, error.value.status) == ("malformed_json", 400)


def test_ordinary_values_pass_through() -> None:
    assert jsonbody.loads(b'{"a": [1, {"b": "c"}], "d": null}') == {
        "a": [1, {"b": "c"}],
        "d": None,
    }
    assert jsonbody.loads("3") == 3
