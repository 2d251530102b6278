"""A list query in the domain's words: conditions on named fields, one sort, a page.

Gateways translate their own query languages (ConnectyCube's ``field[gt]=``,
``sort_desc=``) into these; the core checks the fields against the listing's
allow-list, and the store turns them into one SQL ``WHERE``/``ORDER BY``/``LIMIT``
so that counts, pages and sort orders hold over the whole result, not a window of it.
Values are already typed (ints, text, epoch milliseconds); nothing here parses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``has_any``/``has_all``/``has_none`` test the items of a comma-joined text value (tags).
Op = Literal[
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "nin",
    "ctn",
    "start_with",
    "has_any",
    "has_all",
    "has_none",
]
Scalar = int | str
#: Operators whose value is a tuple of scalars.
MULTI_OPS = frozenset({"in", "nin", "has_any", "has_all", "has_none"})


@dataclass(frozen=True, slots=True)
class ExtraField:
    """A text value inside the row's ``custom_data`` JSON, at ``path``."""

    path: tuple[str, ...]


FieldName = str | ExtraField


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op value``; ``value`` is a tuple for the operators in :data:`MULTI_OPS`."""

    field: FieldName
    op: Op
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Sort:
    field: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ListQuery:
    """All conditions must hold; ``sort`` ``None`` is the listing's natural order."""

    conditions: tuple[Condition, ...] = ()
    sort: Sort | None = None
    limit: int = 100
    offset: int = 0
