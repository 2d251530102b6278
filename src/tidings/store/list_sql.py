"""A :class:`~tidings.domain.list_queries.ListQuery` as SQL, the same on SQLite and PostgreSQL.

Every listing resolves field names to columns itself (its allow-list); this module
only knows how an operator reads in SQL. ``ne``/``nin`` keep rows whose value is
NULL (a missing value is "not equal"), ``ctn``/``start_with`` ignore case, and a
sort puts NULLs last in both directions, breaking ties on the primary key so that
``LIMIT``/``OFFSET`` pages never skip or repeat a row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ColumnElement, and_, false, func, literal, not_, or_, true

from tidings.domain.list_queries import Condition, Sort


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _items(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _tag_pattern(tag: Any) -> str:
    return f"%,{_escape_like(str(tag))},%"


def condition_sql(column: ColumnElement[Any], cond: Condition) -> ColumnElement[bool]:
    """One condition on one (already resolved) column."""
    op, value = cond.op, cond.value
    if op == "eq":
        return column == value
    if op == "ne":
        return or_(column.is_(None), column != value)
    if op == "lt":
        return column < value
    if op == "lte":
        return column <= value
    if op == "gt":
        return column > value
    if op == "gte":
        return column >= value
    if op == "in":
        return column.in_(_items(value))
    if op == "nin":
        return or_(column.is_(None), column.not_in(_items(value)))
    if op == "ctn":
        pattern = f"%{_escape_like(str(value).lower())}%"
        return func.lower(column).like(pattern, escape="\\")
    if op == "start_with":
        pattern = f"{_escape_like(str(value).lower())}%"
        return func.lower(column).like(pattern, escape="\\")
    if op in ("has_any", "has_all", "has_none"):
        # ",a,b," LIKE "%,a,%": one comma-joined value, one item per test.
        wrapped = literal(",") + func.coalesce(column, "") + literal(",")
        tests = [wrapped.like(_tag_pattern(t), escape="\\") for t in _items(value)]
        if op == "has_all":
            return and_(true(), *tests)
        found = or_(false(), *tests)
        return found if op == "has_any" else not_(found)
    raise ValueError(f"unknown operator {op!r}")


def order_sql(
    column: ColumnElement[Any], sort: Sort, key: ColumnElement[Any]
) -> list[ColumnElement[Any]]:
    """``ORDER BY`` for ``sort`` on ``column``: NULLs last, ties broken on ``key``."""
    nulls = [] if isinstance(column, Column) and not column.nullable else [column.is_(None)]
    if sort.descending:
        return [*nulls, column.desc(), key.desc()]
    return [*nulls, column.asc(), key.asc()]
