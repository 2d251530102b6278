"""The ConnectyCube SDK's parameter encoding, parsed (connectycube-wire §2.3). Sans-I/O.

The SDK does not use ``URLSearchParams``: nested objects become bracketed keys
(``date_sent[gt]=1``), top-level arrays repeated ``key[]=`` pairs, deeper arrays
one comma-joined, string-sorted value (``type[in]=2%2C3``), and ``users.getV2``
puts ``[]`` on every array. The same encoding travels in GET query strings and
in DELETE bodies. :func:`parse_params` turns any of these into nested dicts and
lists of strings; the helpers read values the way the SDK may have sent them
(list or comma string, ``1``/``true``, unix seconds, ISO or a JS ``Date`` string).
:func:`list_query` turns a list endpoint's parameters into the core's typed
:class:`~tidings.domain.list_queries.ListQuery`, refusing what the endpoint does not list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote

from tidings.domain.list_queries import Condition, FieldName, ListQuery, Op, Scalar, Sort

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


# -- list queries ----------------------------------------------------------------

#: ``int``: integers; ``key``: exact text (ids, types); ``text``: free text (also
#: ``ctn``/``start_with``); ``time``: a time shown in whole seconds; ``tags``: a
#: comma-joined list of tags.
WireKind = Literal["int", "key", "text", "time", "tags"]

_WIRE_OPS: dict[str, frozenset[str]] = {
    "int": frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "nin", "or"}),
    "key": frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "nin", "or"}),
    "text": frozenset({"eq", "ne", "in", "nin", "or", "ctn", "start_with"}),
    "time": frozenset({"eq", "lt", "lte", "gt", "gte"}),
    "tags": frozenset({"eq", "in", "all", "nin"}),
}
_TAG_OPS: dict[str, Op] = {"eq": "has_any", "in": "has_any", "all": "has_all", "nin": "has_none"}
_ONE_VALUE_OPS: dict[str, Op] = {
    "eq": "eq",
    "ne": "ne",
    "lt": "lt",
    "lte": "lte",
    "gt": "gt",
    "gte": "gte",
    "ctn": "ctn",
    "start_with": "start_with",
}


class FieldError(ParamsError):
    """A parameter names a field, operator or value the listing does not take."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class WireField:
    """One filterable ConnectyCube field: the core field it reads and how its values
    are written; ``convert`` turns each text value into the core's (dialog types)."""

    target: FieldName
    kind: WireKind
    convert: Callable[[str], Scalar] | None = None


@dataclass(frozen=True, slots=True)
class ListSpec:
    """What one list endpoint takes: its filters, sort fields (wire → core) and the
    other parameters it reads itself (paging, ``count``)."""

    fields: Mapping[str, WireField]
    sortable: Mapping[str, str]
    reserved: frozenset[str]


def list_query(params: dict[str, Any], spec: ListSpec, *, limit: int, offset: int) -> ListQuery:
    """The typed query in ``params``; any parameter ``spec`` does not name is refused."""
    conditions: list[Condition] = []
    for name, raw in params.items():
        if name in spec.reserved or name in ("sort_asc", "sort_desc"):
            continue
        wire = spec.fields.get(name)
        if wire is None:
            raise FieldError(f"unknown parameter {name}", name)
        operations = raw.items() if isinstance(raw, dict) else [("eq", raw)]
        for op, operand in operations:
            if op not in _WIRE_OPS[wire.kind]:
                raise FieldError(f"{name} does not take [{op}]", name)
            try:
                conditions.extend(_conditions(name, wire, op, operand))
            except FieldError:
                raise
            except ParamsError as exc:
                raise FieldError(str(exc), name) from None
    return ListQuery(tuple(conditions), _sort(params, spec), limit, offset)


def _sort(params: dict[str, Any], spec: ListSpec) -> Sort | None:
    given = [(k, params[k]) for k in ("sort_asc", "sort_desc") if k in params]
    if not given:
        return None
    if len(given) > 1:
        raise FieldError("give sort_asc or sort_desc, not both", "sort_desc")
    key, field = given[0]
    if not isinstance(field, str) or field not in spec.sortable:
        sortable = ", ".join(sorted(spec.sortable))
        raise FieldError(f"{key} takes one of {sortable}", key)
    return Sort(spec.sortable[field], descending=key == "sort_desc")


def _scalar(name: str, wire: WireField, value: Any) -> Scalar:
    if isinstance(value, dict | list):
        raise FieldError(f"{name} takes one value", name)
    if wire.kind == "int":
        number = as_int(value, name)
        if number is None:
            raise FieldError(f"{name} must be an integer", name)
        return number
    text = str(value)
    return wire.convert(text) if wire.convert is not None else text


def _conditions(name: str, wire: WireField, op: str, operand: Any) -> list[Condition]:
    target = wire.target
    if wire.kind == "tags":
        return [Condition(target, _TAG_OPS[op], tuple(as_list(operand)))]
    if wire.kind == "time":
        return _time_conditions(target, op, as_time_ms(operand, name))
    if op == "eq" and wire.kind in ("int", "key") and _several(operand):
        op = "in"  # ``type=2,3`` and ``id[]=1&id[]=2`` as older clients send them
    if op in ("in", "nin", "or"):
        values = tuple(_scalar(name, wire, v) for v in as_list(operand))
        return [Condition(target, "nin" if op == "nin" else "in", values)]
    return [Condition(target, _ONE_VALUE_OPS[op], _scalar(name, wire, operand))]


def _several(operand: Any) -> bool:
    return isinstance(operand, list) or (isinstance(operand, str) and "," in operand)


def _time_conditions(target: FieldName, op: str, ms: int) -> list[Condition]:
    """Compare as the client sees the time, in whole seconds: ``[gt]=S`` is a shown
    second after S, so a row shown at S itself never matches ``[gt]``."""
    floor = ms - ms % 1000
    ceil = floor if ms % 1000 == 0 else floor + 1000
    if op == "gt":
        return [Condition(target, "gte", floor + 1000)]
    if op == "gte":
        return [Condition(target, "gte", ceil)]
    if op == "lt":
        return [Condition(target, "lt", ceil)]
    if op == "lte":
        return [Condition(target, "lt", floor + 1000)]
    return [Condition(target, "gte", ceil), Condition(target, "lt", floor + 1000)]
