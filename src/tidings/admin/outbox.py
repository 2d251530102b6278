"""Outbox: the app's pushes and webhooks not delivered yet (queued, sending) and
the dead letters with the reason they stopped. Replaying queues dead rows again as
fresh ones, with ``tidings outbox replay``'s store call, limited to this app's rows
(an id of another app's row is a 404, and "replay all" never touches them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from tidings.admin.context import around
from tidings.admin.render import AdminRoute, page
from tidings.admin.session import acting, core_of, signed_in
from tidings.domain.errors import NotFound
from tidings.store import outbox as outbox_store
from tidings.store.tables import outbox

router = APIRouter(route_class=AdminRoute)
SHOWN = 500
#: Dead rows one "replay all" queues again (press again for more).
REPLAY_BATCH = 1000


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_page(request: Request) -> Response:
    actor = await signed_in(request)
    context = await around(request, actor, "outbox")
    async with core_of(request).db.read() as conn:
        dead = await outbox_store.list_rows(
            conn, states=("dead",), app_id=actor.app_id, limit=SHOWN
        )
        pending = await outbox_store.list_rows(
            conn, states=("queued", "sending"), app_id=actor.app_id, limit=SHOWN
        )
    return page("outbox.html", **context, dead=dead, pending=pending)


async def _replay(request: Request, row_id: int | None) -> list[int]:
    """Dead rows of the admin's app queued again (``row_id``, or up to
    ``REPLAY_BATCH`` of them), chosen and moved in one transaction."""
    actor = await acting(request)
    core = core_of(request)
    async with core.db.transaction() as conn:
        if row_id is None:
            rows = await outbox_store.list_rows(
                conn, states=("dead",), app_id=actor.app_id, limit=REPLAY_BATCH
            )
            mine = [row.id for row in rows]
        else:
            query = select(outbox.c.id).where(
                outbox.c.id == row_id, outbox.c.app_id == actor.app_id, outbox.c.state == "dead"
            )
            mine = [int(found) for found in (await conn.execute(query)).scalars()]
            if not mine:
                raise NotFound(f"no dead letter {row_id}", code="outbox_not_dead")
        if not mine:
            return []
        return await outbox_store.replay_dead(conn, now_ms=core.now_ms(), ids=mine)


@router.post("/outbox/replay")
async def replay_all(request: Request) -> Response:
    await _replay(request, None)
    return RedirectResponse("/admin/outbox?done=replayed", 303)


@router.post("/outbox/{row_id}/replay")
async def replay_one(request: Request, row_id: int) -> Response:
    await _replay(request, row_id)
    return RedirectResponse("/admin/outbox?done=replayed", 303)
