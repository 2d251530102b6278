"""Checking a :class:`ListQuery` against a listing's allow-list before it reaches SQL.

A listing declares, per field it can filter on, the kind of value it holds; the
kind says which operators make sense and what a value must be. A query that names
any other field, operator or value type is refused with :class:`InvalidInput`
naming the field, so a client learns what it got wrong instead of an empty page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from tidings.domain.errors import InvalidInput
from tidings.domain.list_queries import MULTI_OPS, Condition, ExtraField, FieldName, ListQuery

#: ``int``: numbers and epoch milliseconds; ``key``: exact text compared in byte
#: order (ids); ``text``: free text; ``tags``: comma-joined items.
Kind = Literal["int", "key", "text", "tags"]

OPS: dict[Kind, frozenset[str]] = {
    "int": frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "nin"}),
    "key": frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "nin"}),
    "text": frozenset({"eq", "ne", "in", "nin", "ctn", "start_with"}),
    "tags": frozenset({"has_any", "has_all", "has_none"}),
}
#: At most this many values in one ``in``/``nin`` (bound parameters stay few).
MAX_VALUES = 500
MAX_PAGE = 1000


def _name(field: FieldName) -> str:
    return field if isinstance(field, str) else ".".join(field.path)


def check_query(
    query: ListQuery,
    kinds: Mapping[str, Kind],
    sortable: frozenset[str],
    *,
    extras: bool = False,
) -> None:
    """Refuse anything ``kinds`` (filterable fields) and ``sortable`` do not allow;
    with ``extras``, an :class:`ExtraField` holds text or comma-joined tags."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidInput(f"limit is 1 to {MAX_PAGE}", field="limit")
    if query.offset < 0:
        raise InvalidInput("offset cannot be negative", field="offset")
    if query.sort is not None and query.sort.field not in sortable:
        raise InvalidInput(f"cannot sort on {query.sort.field}", field="sort")
    for cond in query.conditions:
        _check_condition(cond, kinds, extras)


def _check_condition(cond: Condition, kinds: Mapping[str, Kind], extras: bool) -> None:
    name = _name(cond.field)
    kind: Kind | None
    if isinstance(cond.field, ExtraField):
        if not extras or not 1 <= len(cond.field.path) <= 4:
            raise InvalidInput(f"cannot filter on {name}", field=name)
        kind = "tags" if cond.op in OPS["tags"] else "text"
    else:
        kind = kinds.get(cond.field)
    if kind is None:
        raise InvalidInput(f"cannot filter on {name}", field=name)
    if cond.op not in OPS[kind]:
        raise InvalidInput(f"{name} does not take {cond.op}", field=name)
    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    if (cond.op in MULTI_OPS) != isinstance(cond.value, tuple):
        shape = "a list" if cond.op in MULTI_OPS else "one value"
        raise InvalidInput(f"{name} {cond.op} takes {shape}", field=name)
    if len(values) > MAX_VALUES:
        raise InvalidInput(f"at most {MAX_VALUES} values for {name}", field=name)
    want = int if kind == "int" else str
    if not all(isinstance(v, want) and not isinstance(v, bool) for v in values):
        raise InvalidInput(f"{name} takes {'integers' if want is int else 'text'}", field=name)
    if kind == "int" and not all(isinstance(v, int) and -(2**63) <= v < 2**63 for v in values):
        raise InvalidInput(f"{name} is out of range", field=name)
