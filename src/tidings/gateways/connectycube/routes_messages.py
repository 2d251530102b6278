"""Messages (connectycube-wire §5.3–§5.4): ``/chat/Message``, unread counts, search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from tidings.domain.errors import DomainError, InvalidInput, NotFound
from tidings.domain.models import Actor, HistoryFilter, Message
from tidings.gateways.connectycube.deps import chat_domain, params, services, user_actor
from tidings.gateways.connectycube.mapping import (
    attachments_from_wire,
    custom_fields,
    dialog_to_wire,
    message_to_wire,
    recipient_of,
    user_to_wire,
)
from tidings.gateways.connectycube.query import (
    FieldFilter,
    ParamsError,
    as_bool,
    as_int,
    as_list,
    as_time_ms,
    field_filters,
    matches,
)

router = APIRouter()

MAX_LIMIT = 100
FILTER_FIELDS = (
    "_id",
    "message",
    "date_sent",
    "sender_id",
    "recipient_id",
    "attachments.type",
    "updated_at",
)


def _dialog_id(data: dict[str, Any]) -> str:
    value = data.get("chat_dialog_id")
    if not isinstance(value, str) or not value:
        raise InvalidInput("chat_dialog_id is required", field="chat_dialog_id")
    return value


def _history_filter(
    data: dict[str, Any], filters: list[FieldFilter]
) -> tuple[HistoryFilter, str | None, str | None, list[FieldFilter]]:
    """The filters the core applies as index ranges, and the rest to apply here."""
    limit = as_int(data.get("limit"), "limit", MAX_LIMIT) or MAX_LIMIT
    skip = as_int(data.get("skip"), "skip", 0) or 0
    if not 1 <= limit <= MAX_LIMIT or skip < 0:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit")
    since = until = sender = None
    after_id = before_id = None
    rest = []
    for flt in filters:
        if flt.field == "date_sent" and flt.op in ("gt", "gte", "lt", "lte"):
            ms = as_time_ms(flt.value, "date_sent")
            second = ms - ms % 1000
            bound = {
                "gt": second + 1000,
                "gte": second,
                "lt": second - 1,
                "lte": second + 999,
            }[flt.op]
            if flt.op in ("gt", "gte"):
                since = bound if since is None else max(since, bound)
            else:
                until = bound if until is None else min(until, bound)
        elif flt.field == "sender_id" and flt.op == "eq":
            sender = as_int(flt.value, "sender_id")
        elif flt.field == "_id" and flt.op == "lt" and before_id is None:
            before_id = str(flt.value)
        elif flt.field == "_id" and flt.op == "gt" and after_id is None:
            after_id = str(flt.value)
        else:
            rest.append(flt)
    descending = data.get("sort_desc") in ("date_sent", "_id", "created_at")
    query = HistoryFilter(
        since_ms=since,
        until_ms=until,
        sender_id=sender,
        descending=descending,
        limit=limit,
        skip=skip,
    )
    return query, after_id, before_id, rest


def _passes(message: dict[str, Any], flt: FieldFilter) -> bool:
    if flt.field == "attachments.type":
        kinds = [a.get("type") for a in message.get("attachments") or []]
        return (
            matches(kinds, flt)
            if flt.op in ("in", "nin", "all")
            else any(matches(k, flt) for k in kinds)
        )
    return matches(message.get(flt.field), flt)


@router.get("/chat/Message/unread.json")
async def unread(request: Request) -> JSONResponse:
    """``{"total": N, "<dialog id>": n, ...}`` for the given dialogs, or all of them."""
    actor = await user_actor(request)
    data = await params(request)
    ids = as_list(data.get("chat_dialog_ids")) or None
    total, counts = await services(request).core.dialogs.unread_counts(actor, ids)
    return JSONResponse({"total": total, **counts})


@router.post("/chat/Message/system.json")
async def system_message(request: Request) -> JSONResponse:
    """Relayed live to the recipient's chat connections, never stored."""
    actor = await user_actor(request)
    data = await params(request)
    recipient = data.pop("recipientId", data.pop("recipient_id", None))
    try:
        recipient_id = as_int(recipient, "recipientId")
    except ParamsError as exc:
        raise InvalidInput(str(exc), field="recipientId") from None
    if recipient_id is None:
        raise InvalidInput("recipientId is required", field="recipientId")
    event = await services(request).system.send_system_message(actor, recipient_id, data)
    return JSONResponse(
        {"messageId": event.message_id, "recipientId": recipient_id, "extensionParams": data},
        status_code=201,
    )


@router.get("/chat/Message.json")
async def list_messages(request: Request) -> JSONResponse:
    """A dialog's history with field filters; read by the caller unless
    ``mark_as_read=0`` (§5.4)."""
    actor = await user_actor(request)
    data = await params(request)
    dialog_id = _dialog_id(data)
    core = services(request).core
    try:
        filters = field_filters(data, FILTER_FIELDS)
        query, after_id, before_id, rest = _history_filter(data, filters)
    except ParamsError as exc:
        raise InvalidInput(str(exc)) from None
    dialog = await core.dialogs.get_dialog(actor, dialog_id)
    page = await core.messages.history(
        actor, dialog_id, query, after_id=after_id, before_id=before_id
    )
    items = [
        message_to_wire(m, actor.user_id, recipient_of(dialog, m.sender_id)) for m in page.messages
    ]
    items = [m for m in items if all(_passes(m, f) for f in rest)]
    if page.messages and as_bool(data.get("mark_as_read"), default=True):
        newest = max(page.messages, key=lambda m: m.seq or 0)
        await core.receipts.mark_read(actor, dialog_id, newest.id)
    return JSONResponse({"skip": query.skip, "limit": query.limit, "items": items})


@router.post("/chat/Message.json")
async def create_message(request: Request) -> JSONResponse:
    """Store a message (and deliver it: tidings always delivers what it stores). Without
    ``chat_dialog_id``, ``recipient_id`` names the other user of a private dialog. An
    ``_id`` chosen by the client (24 hex, as over XMPP, §11) makes a retry safe: the
    same id stores one message."""
    actor = await user_actor(request)
    data = await params(request)
    core = services(request).core
    if data.get("chat_dialog_id"):
        dialog = await core.dialogs.get_dialog(actor, _dialog_id(data))
    else:
        recipient = as_int(data.get("recipient_id"), "recipient_id")
        if not recipient:
            raise InvalidInput("chat_dialog_id or recipient_id is required", field="chat_dialog_id")
        dialog = await core.dialogs.create_dialog(actor, "private", occupant_ids=[recipient])
    body = data.get("message")
    client_id = data.get("_id")
    message = await core.messages.send_message(
        actor,
        dialog.id,
        "" if body is None else str(body),
        message_id=str(client_id) if client_id is not None else None,
        attachments=attachments_from_wire(data.get("attachments")),
        params=custom_fields(data),
    )
    return JSONResponse(
        message_to_wire(message, actor.user_id, recipient_of(dialog, actor.user_id)),
        status_code=201,
    )


async def _locate_all(actor: Actor, request: Request, ids: list[str]) -> list[Message]:
    lookup = services(request).lookup
    return [await lookup.locate(actor, i) for i in ids]


@router.put("/chat/Message.json")
async def update_all(request: Request) -> Response:
    """``message.update("", {read: 1, chat_dialog_id})``: everything in the dialog."""
    actor = await user_actor(request)
    data = await params(request)
    core = services(request).core
    dialog_id = _dialog_id(data)
    if as_bool(data.get("delivered")):
        await core.receipts.mark_delivered(actor, dialog_id)
    if as_bool(data.get("read")):
        await core.receipts.mark_read(actor, dialog_id)
    return Response(status_code=200)


@router.put("/chat/Message/{message_ids}.json")
async def update_messages(request: Request, message_ids: str) -> Response:
    """``read``/``delivered`` move the caller's marker to the newest of the messages
    (markers are monotonic, so earlier messages count as read too); ``message`` edits."""
    actor = await user_actor(request)
    data = await params(request)
    core = services(request).core
    messages = await _locate_all(actor, request, [i for i in message_ids.split(",") if i])
    if not messages:
        raise NotFound("no messages named", code="message_not_found")
    newest: dict[str, Message] = {}
    for m in messages:
        if m.dialog_id not in newest or (m.seq or 0) > (newest[m.dialog_id].seq or 0):
            newest[m.dialog_id] = m
    if "message" in data and data["message"] is not None:
        for m in messages:
            await core.messages.edit_message(actor, m.dialog_id, m.id, str(data["message"]))
    for dialog_id, m in newest.items():
        if as_bool(data.get("delivered")):
            await core.receipts.mark_delivered(actor, dialog_id, m.id)
        if as_bool(data.get("read")):
            await core.receipts.mark_read(actor, dialog_id, m.id)
    return Response(status_code=200)


@router.delete("/chat/Message/{message_ids}.json")
async def delete_messages(request: Request, message_ids: str) -> JSONResponse:
    """Without ``force`` hidden for the caller; ``force=1`` deleted for everyone."""
    actor = await user_actor(request)
    data = await params(request)
    force = as_bool(data.get("force"))
    core = services(request).core
    done: list[str] = []
    missing: list[str] = []
    refused: list[str] = []
    for message_id in [i for i in message_ids.split(",") if i]:
        try:
            m = await services(request).lookup.locate(actor, message_id)
            await core.messages.delete_message(actor, m.dialog_id, m.id, for_everyone=force)
            done.append(message_id)
        except NotFound:
            missing.append(message_id)
        except DomainError:
            refused.append(message_id)
    if not done and len(missing) + len(refused) == 1:
        if missing:
            raise NotFound(f"no message {missing[0]}", code="message_not_found")
        raise InvalidInput("you may not delete this message for everyone")
    return JSONResponse(
        {
            "SuccessfullyDeleted": {"ids": done},
            "NotFound": {"ids": missing},
            "WrongPermissions": {"ids": refused},
        }
    )


@router.get("/chat/search.json")
async def search(request: Request) -> JSONResponse:
    """Global search over the caller's dialogs, messages and the app's users."""
    actor = await user_actor(request)
    data = await params(request)
    core = services(request).core
    try:
        limit = as_int(data.get("limit"), "limit", 20) or 20
        since = as_time_ms(data["start_date"], "start_date") if data.get("start_date") else None
        until = as_time_ms(data["end_date"], "end_date") if data.get("end_date") else None
    except ParamsError as exc:
        raise InvalidInput(str(exc)) from None
    text = data.get("search_text")
    if not isinstance(text, str):
        raise InvalidInput("search_text is required", field="search_text")
    found = await core.search.search(
        actor,
        text,
        limit=min(max(limit, 1), 100),
        dialog_ids=as_list(data.get("chat_dialog_ids")) or None,
        since_ms=since,
        until_ms=until,
    )
    domain = chat_domain(request)
    return JSONResponse(
        {
            "results": {
                "dialogs": [dialog_to_wire(d, actor.user_id, domain) for d in found.dialogs],
                "messages": [message_to_wire(m, actor.user_id) for m in found.messages],
                "users": [user_to_wire(u) for u in found.users],
            }
        }
    )
