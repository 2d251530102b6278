"""Decoded JSON -> the API's typed answers, with pydantic.

The domain's values are plain dataclasses, so they are read through a
``TypeAdapter``; building one costs far more than using it, hence the cache.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from pydantic import TypeAdapter

T = TypeVar("T")

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def parse(kind: type[T], data: object) -> T:
    """``data`` as a ``kind``; raises pydantic's ``ValidationError`` (a ``ValueError``)
    when it is not one. Unknown fields are ignored."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return cast(T, adapter.validate_python(data))
