"""Small parsers for query-string values FastAPI does not type for us."""

from __future__ import annotations

from tidings.domain.errors import InvalidInput
from tidings.domain.ids import is_valid_id


def parse_int_list(raw: str, field: str, *, most: int = 100) -> list[int]:
    try:
        values = [int(v) for v in raw.split(",") if v.strip()]
    except ValueError as exc:
        raise InvalidInput(f"{field} is a comma-separated list of ids", field=field) from exc
    if len(values) > most or any(v <= 0 or v > 2**31 - 1 for v in values):
        raise InvalidInput(f"{field} holds at most {most} positive ids", field=field)
    return values


def parse_id_list(raw: str, field: str, *, most: int = 100) -> list[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if len(values) > most or not all(is_valid_id(v) for v in values):
        raise InvalidInput(f"{field} is a comma-separated list of at most {most} ids", field=field)
    return values


def parse_words(raw: str, field: str, allowed: tuple[str, ...]) -> list[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise InvalidInput(f"{field} takes {', '.join(allowed)}", field=field)
    return values
