"""One app's rows across every table: delete them, export them, import them.

Not every table reaches ``apps`` by a foreign key (the outbox and presence rows carry
a bare ``app_id``; grants and pins hang off messages; a GMS transcript off its chat),
so the scope of an app is worked out per table: by its own ``app_id``, else through a
parent it references. Deleting goes children first, exporting and importing parents
first, each in one transaction.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, Table, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

# Every table module, so that ``metadata`` knows them all.
from tidings.store import tables_delivery, tables_gms, tables_servicedesk  # noqa: F401
from tidings.store.tables import apps, metadata

#: References without a foreign key: table -> (column, parent table, parent column).
_LINKS = {"gms_transcript": ("service_id", "gms_chats", "service_id")}
#: Rows that mean nothing elsewhere (sign-ins, live connections): never exported.
NOT_EXPORTED = frozenset({"sessions", "connections"})
FORMAT = "tidings-app-export"
EXPORT_PAGE = 1000
FORMAT_VERSION = 1
#: How a binary value (SCRAM keys, say) travels in JSON: ``{"$bytes": base64}``.
BYTES = "$bytes"


def _exported(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {BYTES: base64.b64encode(v).decode()} if isinstance(v, bytes | memoryview) else v
        for k, v in row.items()
    }


def _imported(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Binary columns back from ``{"$bytes": …}`` (only there: a JSON column may hold
    any object, that one included)."""
    out = dict(row)
    for name, value in row.items():
        if isinstance(table.c[name].type, LargeBinary) and isinstance(value, dict):
            out[name] = base64.b64decode(str(value.get(BYTES, "")), validate=True)
    return out


def _scoped(table: Table, app_id: int, seen: frozenset[str]) -> ColumnElement[bool] | None:
    """A WHERE clause selecting ``table``'s rows of the app, or None if it has no path."""
    if table is apps:
        return apps.c.id == app_id
    if "app_id" in table.c:
        return table.c.app_id == app_id
    parents = [(fk.parent, fk.column) for fk in table.foreign_keys]
    link = _LINKS.get(table.name)
    if link and link[1] in metadata.tables:
        parent_table = metadata.tables[link[1]]
        parents.append((table.c[link[0]], parent_table.c[link[2]]))
    for column, parent_column in parents:
        parent = parent_column.table
        if not isinstance(parent, Table) or parent.name in seen or parent is apps:
            continue
        inner = _scoped(parent, app_id, seen | {table.name})
        if inner is not None:
            return column.in_(select(parent_column).where(inner))
    return None


async def delete_app(conn: AsyncConnection, app_id: int) -> dict[str, int]:
    """Delete the app's rows from every table; returns rows removed per table."""
    removed: dict[str, int] = {}
    for table in reversed(metadata.sorted_tables):
        where = _scoped(table, app_id, frozenset())
        if where is None:
            continue
        result = await conn.execute(delete(table).where(where))
        if result.rowcount:
            removed[table.name] = int(result.rowcount)
    return removed


async def export_app(conn: AsyncConnection, app_id: int) -> AsyncIterator[dict[str, Any]]:
    """The app's rows as ``{"table": name, "row": {...}}``, parents first, streamed."""
    for table in metadata.sorted_tables:
        if table.name in NOT_EXPORTED:
            continue
        where = _scoped(table, app_id, frozenset())
        if where is None:
            continue
        query = select(table).where(where).order_by(*table.primary_key.columns)
        offset = 0
        while True:  # pages, so a big app is never held in memory whole
            page = list(await conn.execute(query.limit(EXPORT_PAGE).offset(offset)))
            for row in page:
                yield {"table": table.name, "row": _exported(dict(row._mapping))}
            if len(page) < EXPORT_PAGE:
                break
            offset += len(page)


async def import_rows(conn: AsyncConnection, records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Insert exported rows (parents first, as exported); returns rows per table.

    Rows keep their ids, so the target must not hold them yet (a new server, or one
    this app was deleted from); a clash raises the database's IntegrityError.
    """
    counts: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    current: Table | None = None

    async def flush() -> None:
        if current is not None and batch:
            await conn.execute(insert(current), batch)
            counts[current.name] = counts.get(current.name, 0) + len(batch)
            batch.clear()

    for record in records:
        table = metadata.tables.get(str(record.get("table")))
        row = record.get("row")
        if table is None or table.name in NOT_EXPORTED or not isinstance(row, dict):
            raise ValueError(f"not an exported row: {str(record)[:200]}")
        unknown = set(row) - set(table.c.keys())
        if unknown:
            raise ValueError(f"{table.name} has no column {sorted(unknown)[0]!r}")
        if table is not current or len(batch) >= 500:
            await flush()
            current = table
        batch.append(_imported(table, row))
    await flush()
    if conn.dialect.name == "postgresql":
        await _advance_sequences(conn, [metadata.tables[name] for name in counts])
    return counts


async def _advance_sequences(conn: AsyncConnection, tables: list[Table]) -> None:
    """Rows came with their ids: move each serial past them, or the next insert clashes."""
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or key[0].name != "id" or key[0].autoincrement is False:
            continue
        top = (await conn.execute(select(func.max(key[0])))).scalar()
        if top is None:
            continue
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :top)"),
            {"table": table.name, "top": int(top)},
        )
