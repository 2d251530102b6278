"""Overview: the app, how busy it is now (refreshed by polling a fragment), and what its
customers think (satisfaction ratings, read once per page view)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tidings.admin.context import around
from tidings.admin.numbers import Numbers, live_connections, messages_since, outbox_pending
from tidings.admin.render import AdminRoute, page
from tidings.admin.session import core_of, signed_in
from tidings.core.desk_models import RATING_TEXTS
from tidings.domain.models import Actor

router = APIRouter(route_class=AdminRoute)

#: How often the page asks for fresh numbers (the fragment says it, the script obeys).
REFRESH_S = 3


async def numbers(request: Request, actor: Actor) -> Numbers:
    core = core_of(request)
    gateways = getattr(request.app.state, "gateways", {})
    async with core.db.read() as conn:
        recent = await messages_since(conn, actor.app_id, core.now_ms() - 60_000)
        pending = await outbox_pending(conn, actor.app_id)
    return Numbers(live_connections(gateways, actor.app_id), recent, pending)


@router.get("/overview", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    actor = await signed_in(request)
    context = await around(request, actor, "overview")
    ratings = await core_of(request).tickets.ratings.summary(actor)
    return page(
        "overview.html",
        **context,
        numbers=await numbers(request, actor),
        every=REFRESH_S,
        ratings=ratings,
        rating_texts=RATING_TEXTS,
    )


@router.get("/overview/numbers", response_class=HTMLResponse)
async def numbers_fragment(request: Request) -> Response:
    actor = await signed_in(request)
    return page("_numbers.html", numbers=await numbers(request, actor), every=REFRESH_S)
