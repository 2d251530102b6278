"""Messages: history, send, edit, delete, read/delivered markers, typing, search."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from tidings.domain.models import HistoryFilter, Message
from tidings.gateways.rest.deps import ActorDep, CoreDep
from tidings.gateways.rest.schemas import (
    HistoryOut,
    MarkerIn,
    MarkerOut,
    MessageEditIn,
    MessageIn,
    SearchOut,
    TypingIn,
)
from tidings.gateways.rest.validation import parse_id_list
from tidings.http_middleware import JsonBodyRoute

router = APIRouter(tags=["messages"], route_class=JsonBodyRoute)
IdQuery = Query(pattern=r"^[0-9a-f]{24}$")
SeqQuery = Query(ge=0, le=2**62)
MsQuery = Query(ge=0, le=2**62, description="Unix milliseconds")


@router.get("/dialogs/{dialog_id}/messages", response_model=HistoryOut)
async def history(
    dialog_id: str,
    actor: ActorDep,
    core: CoreDep,
    after_seq: Annotated[int | None, SeqQuery] = None,
    before_seq: Annotated[int | None, SeqQuery] = None,
    after_id: Annotated[str | None, IdQuery] = None,
    before_id: Annotated[str | None, IdQuery] = None,
    since: Annotated[int | None, MsQuery] = None,
    until: Annotated[int | None, MsQuery] = None,
    sender_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HistoryOut:
    """A page of history. Continue with ``after_seq=next_cursor`` (ascending) or
    ``before_seq=next_cursor`` (descending); a cursor stays fast at any depth."""
    query = HistoryFilter(
        after_seq=after_seq,
        before_seq=before_seq,
        since_ms=since,
        until_ms=until,
        sender_id=sender_id,
        descending=order == "desc",
        limit=limit,
        skip=skip,
    )
    page = await core.messages.history(
        actor, dialog_id, query, after_id=after_id, before_id=before_id
    )
    return HistoryOut(items=page.messages, has_more=page.has_more, next_cursor=page.next_cursor)


@router.post("/dialogs/{dialog_id}/messages", status_code=201, response_model=Message)
async def send_message(dialog_id: str, body: MessageIn, actor: ActorDep, core: CoreDep) -> Message:
    """Send a message. Retrying with the same ``id`` returns the stored message."""
    return await core.messages.send_message(
        actor,
        dialog_id,
        body.body,
        message_id=body.id,
        attachments=[a.model_dump() for a in body.attachments],
        params=body.params,
        self_destroy_after=body.self_destroy_after,
        silent=body.silent,
    )


@router.get("/dialogs/{dialog_id}/messages/{message_id}", response_model=Message)
async def get_message(dialog_id: str, message_id: str, actor: ActorDep, core: CoreDep) -> Message:
    return await core.messages.get_message(actor, dialog_id, message_id)


@router.patch("/dialogs/{dialog_id}/messages/{message_id}", response_model=Message)
async def edit_message(
    dialog_id: str, message_id: str, body: MessageEditIn, actor: ActorDep, core: CoreDep
) -> Message:
    return await core.messages.edit_message(actor, dialog_id, message_id, body.body)


@router.delete(
    "/dialogs/{dialog_id}/messages/{message_id}", status_code=204, response_class=Response
)
async def delete_message(
    dialog_id: str, message_id: str, actor: ActorDep, core: CoreDep, for_everyone: bool = False
) -> Response:
    await core.messages.delete_message(actor, dialog_id, message_id, for_everyone=for_everyone)
    return Response(status_code=204)


@router.post("/dialogs/{dialog_id}/read", response_model=MarkerOut)
async def mark_read(dialog_id: str, body: MarkerIn, actor: ActorDep, core: CoreDep) -> MarkerOut:
    """Everything up to ``message_id`` (default: the newest) is read."""
    return MarkerOut(marker=await core.receipts.mark_read(actor, dialog_id, body.message_id))


@router.post("/dialogs/{dialog_id}/delivered", response_model=MarkerOut)
async def mark_delivered(
    dialog_id: str, body: MarkerIn, actor: ActorDep, core: CoreDep
) -> MarkerOut:
    return MarkerOut(marker=await core.receipts.mark_delivered(actor, dialog_id, body.message_id))


@router.post("/dialogs/{dialog_id}/typing", status_code=204, response_class=Response)
async def typing(dialog_id: str, body: TypingIn, actor: ActorDep, core: CoreDep) -> Response:
    await core.typing.set_typing(actor, dialog_id, body.typing)
    return Response(status_code=204)


@router.get("/search", response_model=SearchOut)
async def search(
    actor: ActorDep,
    core: CoreDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    dialog_ids: str | None = None,
    since: Annotated[int | None, MsQuery] = None,
    until: Annotated[int | None, MsQuery] = None,
) -> SearchOut:
    """Search dialogs (name), messages (full text) and users (login, name) you may see."""
    ids = parse_id_list(dialog_ids, "dialog_ids") if dialog_ids else None
    results = await core.search.search(
        actor, q, limit=limit, dialog_ids=ids, since_ms=since, until_ms=until
    )
    return SearchOut(dialogs=results.dialogs, messages=results.messages, users=results.users)
