"""The ConnectyCube SDK's parameter encoding, parsed (connectycube-wire §2.3). Sans-I/O.

The SDK does not use ``URLSearchParams``: nested objects become bracketed keys
(``date_sent[gt]=1``), top-level arrays repeated ``key[]=`` pairs, deeper arrays
one comma-joined, string-sorted value (``type[in]=2%2C3``), and ``users.getV2``
puts ``[]`` on every array. The same encoding travels in GET query strings and
in DELETE bodies. :func:`parse_params` turns any of these into nested dicts and
lists of strings; the helpers read values the way the SDK may have sent them
(list or comma string, ``1``/``true``, unix seconds, ISO or a JS ``Date`` string).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

#: Comparison suffixes of a field filter, as in ``date_sent[gt]``.
OPERATORS = ("lt", "lte", "gt", "gte", "ne", "in", "nin", "all", "ctn", "start_with", "or")
MAX_PAIRS = 1000
MAX_DEPTH = 4

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class ParamsError(ValueError):
    """The encoded parameters cannot be read (too many, too deep, mixed shapes)."""


def split_pairs(raw: str) -> list[tuple[str, str]]:
    """``a=1&b=2`` into decoded pairs; ``+`` is a space (forms), ``%2B`` a plus."""
    pairs = []
    for part in raw.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key.replace("+", " ")), unquote(value.replace("+", " "))))
        if len(pairs) > MAX_PAIRS:
            raise ParamsError(f"at most {MAX_PAIRS} parameters")
    return pairs


def parse_params(raw: str | bytes) -> dict[str, Any]:
    """Nested parameters from a query string or form body."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    out: dict[str, Any] = {}
    for key, value in split_pairs(raw):
        match = _KEY.match(key)
        if match is None:
            out[key] = value
            continue
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        if len(path) > MAX_DEPTH + 1:
            raise ParamsError(f"parameter {key!r} is nested too deeply")
        _put(out, path, value, key)
    return out


def _put(target: dict[str, Any], path: list[str], value: str, key: str) -> None:
    node: Any = target
    for i, name in enumerate(path):
        last = i == len(path) - 1
        is_append = i + 1 < len(path) and path[i + 1] == "" and i + 1 == len(path) - 1
        if name == "":
            raise ParamsError(f"cannot read parameter {key!r}")
        if not isinstance(node, dict):
            raise ParamsError(f"parameter {key!r} mixes a value and an object")
        if is_append:
            existing = node.setdefault(name, [])
            if not isinstance(existing, list):
                raise ParamsError(f"parameter {key!r} mixes a value and a list")
            existing.append(value)
            return
        if last:
            node[name] = value
            return
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise ParamsError(f"parameter {key!r} mixes a value and an object")
        node = child


def as_list(value: Any) -> list[str]:
    """A list sent as an array, a repeated key or one comma-joined string (``"1, 2"``)."""
    if value is None:
        return []
    if isinstance(value, list):
        items: list[str] = []
        for v in value:
            items.extend(as_list(v))
        return items
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if not isinstance(value, str):
        raise ParamsError("expected a list")
    return [v.strip() for v in value.split(",") if v.strip()]


def as_int_list(value: Any, field: str) -> list[int]:
    out = []
    for item in as_list(value):
        try:
            out.append(int(item))
        except ValueError:
            raise ParamsError(f"{field} must hold integers") from None
    return out


def as_int(value: Any, field: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ParamsError(f"{field} must be an integer") from None


def as_bool(value: Any, default: bool = False) -> bool:
    """``1``/``true``/``True`` are true, ``0``/``false``/empty false (the SDK sends all)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().lower() in ("1", "true", "yes", "on")


_JS_DATE = re.compile(
    r"^\w{3} (\w{3}) (\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-])(\d{2})(\d{2})"
)
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def as_time_ms(value: Any, field: str) -> int:
    """Unix seconds (int, float or digits), an ISO-8601 string or JS ``Date.toString()``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value * 1000)
    if not isinstance(value, str) or not value.strip():
        raise ParamsError(f"{field} must be a time")
    text = value.strip()
    try:
        return int(float(text) * 1000)
    except ValueError:
        pass
    match = _JS_DATE.match(text)
    if match:
        month, day, year, hh, mm, ss, sign, oh, om = match.groups()
        if month not in _MONTHS:
            raise ParamsError(f"{field} must be a time")
        stamp = datetime(
            int(year), _MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss), tzinfo=UTC
        )
        offset = (int(oh) * 60 + int(om)) * 60 * (1 if sign == "+" else -1)
        return int((stamp.timestamp() - offset) * 1000)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParamsError(f"{field} must be unix seconds or an ISO-8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """One condition: ``field`` ``op`` ``value`` (``op`` is ``eq`` for a bare ``field=v``)."""

    field: str
    op: str
    value: Any


def field_filters(params: dict[str, Any], fields: tuple[str, ...]) -> list[FieldFilter]:
    """The filters on ``fields`` in ``params``; unknown operators are refused."""
    out = []
    for name in fields:
        if name not in params:
            continue
        value = params[name]
        if isinstance(value, dict):
            for op, operand in value.items():
                if op not in OPERATORS:
                    raise ParamsError(f"unknown operator {op!r} on {name}")
                out.append(FieldFilter(name, op, operand))
        else:
            out.append(FieldFilter(name, "eq", value))
    return out


def matches(actual: Any, flt: FieldFilter) -> bool:
    """Whether a value passes a filter, comparing as numbers when both sides are."""
    op = flt.op
    if op in ("in", "nin", "all"):
        wanted = as_list(flt.value)
        have = [str(a) for a in actual] if isinstance(actual, list) else [str(actual)]
        if op == "all":
            return all(w in have for w in wanted)
        hit = any(h in wanted for h in have)
        return hit if op == "in" else not hit
    if op == "ctn":
        return str(flt.value).lower() in str(actual or "").lower()
    if op == "start_with":
        return str(actual or "").lower().startswith(str(flt.value).lower())
    left, right = _comparable(actual, flt.value)
    if op in ("eq", "or"):
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {
            "lt": left < right,
            "lte": left <= right,
            "gt": left > right,
            "gte": left >= right,
        }[op]
    except TypeError:
        return False


def _comparable(actual: Any, wanted: Any) -> tuple[Any, Any]:
    if actual is None:
        return None, wanted
    try:
        return float(actual), float(wanted)
    except (TypeError, ValueError):
        return str(actual), str(wanted)
