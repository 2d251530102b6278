"""HTTP endpoints the unmodified PyrusServiceDesk SDKs call (wire spec §4–§11).

Each route reads the SDK's identity, calls the core's ticket service and maps
the result. Status codes follow the SDKs' reactions (§12): 403 only for
"authorization failed" (the SDK closes the chat), 503 when the customer's
authorization service fails (the SDK retries), never 400 on ``gettickets``;
per-command failures are results inside a 200.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from tidings import jsonbody
from tidings.core.desk_auth import AuthUnavailable
from tidings.core.desk_models import CommandOutcome, DeskIdentity
from tidings.core.hub import Core
from tidings.domain.errors import DomainError, Forbidden, InvalidInput, NotFound, Unavailable
from tidings.gateways.servicedesk import mapping, requests
from tidings.gateways.servicedesk.protocol import (
    CALC_OPERATOR_TIME,
    CREATE_COMMENT,
    MARK_TICKET_AS_READ,
    PREFIX,
    SET_PUSH_TOKEN,
    Command,
    as_int,
    command_result,
    error_result,
    normalize_path,
    parse_commands,
    without_nulls,
)
from tidings.http_routes import route_class_answering


def _unreadable_body(exc: jsonbody.JsonError) -> Response:
    """422, not 400: the SDKs read 400 as "authorization failed" (§12)."""
    body = {"error": {"code": exc.code, "text": exc.message}}
    return _json(body, 413 if exc.status == 413 else 422)


#: Unhandled temporary failures (a lost database connection) answer 503 +
#: Retry-After in the SDK's error shape: the SDK retries a 503 (§12).
DeskRoute = route_class_answering(
    {Unavailable: lambda exc: _refusal(exc), jsonbody.JsonError: _unreadable_body}
)


router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=DeskRoute)


class DeskPathMiddleware:
    """Route ``/ServiceDeskApi/v1/GetTicketFeed/`` and friends to their canonical
    lower-case path (§2: SDKs disagree on casing and trailing slashes)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            canonical = normalize_path(scope["path"])
            if canonical is not None and canonical != scope["path"]:
                scope = {**scope, "path": canonical, "raw_path": canonical.encode()}
        await self.app(scope, receive, send)


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(without_nulls(data), ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), status, media_type="application/json; charset=utf-8")


def _refusal(exc: DomainError) -> Response:
    """403 = authorization failed (SDK gives up); 503 = try again later."""
    status = 503 if isinstance(exc, Unavailable) else 403
    response = _json({"error": {"code": exc.code, "text": exc.message}}, status)
    if isinstance(exc, Unavailable):
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return response


async def _body(request: Request) -> dict[str, Any] | None:
    """The JSON object sent, or None; hostile JSON (too deep) raises for :class:`DeskRoute`."""
    try:
        data = jsonbody.loads(await request.body() or b"{}", max_bytes=None)  # server caps it
    except (jsonbody.TooDeep, jsonbody.TooLarge):
        raise
    except jsonbody.JsonError:
        return None
    return data if isinstance(data, dict) else None


def _core(request: Request) -> Core:
    return request.app.state.core


async def _identify(
    core: Core, data: dict[str, Any], *, name_key: str = "author_name"
) -> DeskIdentity:
    """The caller; :class:`Forbidden` (or ``AuthUnavailable``) for the route to refuse."""
    return await core.tickets.identities.identify(
        requests.app_id(data), requests.claim(data, name_key=name_key)
    )


@router.post("/gettickets")
async def get_tickets(request: Request) -> Response:
    """The sync endpoint: run the queued commands, then return every ticket (§4)."""
    core = _core(request)
    data = await _body(request)
    if data is None:
        # Not 400: the SDKs read 400 as "authorization failed" (§12).
        return _json({"error": {"code": "invalid_json", "text": "expected a JSON object"}}, 422)
    try:
        ident = await _identify(core, data)
    except (Forbidden, AuthUnavailable) as exc:
        return _refusal(exc)
    commands, results = parse_commands(data.get("commands"))
    batch: dict[str, int] = {}
    for command in commands:
        results.append(await _run(core, ident, command, data, batch))
    tickets = await core.tickets.snapshot(ident, as_int(data.get("last_note_id")) or 0)
    return _json(
        {
            "applications": [mapping.application(ident.app)],
            "tickets": [mapping.ticket(t) for t in tickets],
            "commands_result": results,
            "author_access_denied": [],
        }
    )


async def _run(
    core: Core, ident: DeskIdentity, command: Command, data: dict[str, Any], batch: dict[str, int]
) -> dict[str, Any]:
    if command.app_id not in (None, ident.app.desk_app_id) or command.user_id not in (
        None,
        ident.key if ident.kind == "ext" else None,
    ):
        return error_result(command.command_id, "this command is for another identity", 403)
    params = command.params

    async def action() -> CommandOutcome:
        if command.type == CREATE_COMMENT:
            new = requests.comment(
                params, extra_fields=data.get("extra_fields"), author_name=data.get("author_name")
            )
            return await core.tickets.create_comment(ident, new, batch=batch)
        if command.type == MARK_TICKET_AS_READ:
            await core.tickets.mark_read(ident, *requests.read_mark(params))
            return CommandOutcome()
        if command.type == SET_PUSH_TOKEN:
            await core.tickets.push_tokens.set(ident, requests.push_token(params))
            return CommandOutcome()
        if command.type == CALC_OPERATOR_TIME:
            return CommandOutcome(ticket_id=as_int(params.get("ticket_id")))
        raise InvalidInput(f"unknown command type {command.type}", field="type")

    outcome = await core.tickets.run_command(ident, command.command_id, action)
    if outcome.error is not None:
        code, text = outcome.error
        status = {"rate_limited": 429}.get(code, 400)
        return error_result(command.command_id, text, status)
    if command.type in (MARK_TICKET_AS_READ, SET_PUSH_TOKEN):
        return command_result(command.command_id)
    return command_result(
        command.command_id, ticket_id=outcome.ticket_id, comment_id=outcome.comment_id
    )


# -- legacy protocol (SDK <= 2.x, §11) -------------------------------------------------


@router.post("/getticketfeed")
async def get_ticket_feed(request: Request) -> Response:
    """All comments of all the user's tickets as one feed (2.x apps)."""
    core = _core(request)
    data = await _body(request) or {}
    try:
        ident = await _identify(core, data)
    except (Forbidden, AuthUnavailable) as exc:
        return _refusal(exc)
    tickets = await core.tickets.snapshot(ident, 0)
    if data.get("keep_unread") is not True:
        for t in tickets:
            if not t.is_read:
                await core.tickets.mark_read(ident, t.ticket_id)
    comments = sorted((c for t in tickets for c in t.comments), key=lambda c: c.comment_id)
    newest = max(tickets, key=lambda t: t.ticket_id) if tickets else None
    return _json(
        {
            "comments": [mapping.comment(c) for c in comments],
            "show_rating": bool(newest and newest.show_rating),
            "show_rating_text": "How did we do?" if newest and newest.show_rating else None,
            "rating_settings": mapping.rating_settings(),
            "welcome_message": mapping.application(ident.app).get("welcome_message", ""),
        }
    )


@router.post("/updateticketfeed")
async def update_ticket_feed(request: Request) -> Response:
    """Add a comment to the open ticket (or a new one): ``{comment_id, attachments}``."""
    core = _core(request)
    data = await _body(request) or {}
    try:
        ident = await _identify(core, data, name_key="user_name")
    except (Forbidden, AuthUnavailable) as exc:
        return _refusal(exc)
    try:
        legacy = {k: data.get(k) for k in requests.LEGACY_COMMENT_FIELDS}
        new = requests.comment(legacy, author_name=data.get("user_name"))
        outcome = await core.tickets.create_comment(ident, new)
    except Unavailable:
        raise  # DeskRoute: 503 + Retry-After
    except DomainError as exc:
        return _json({"error": exc.message}, 200 if exc.status < 500 else exc.status)
    tickets = await core.tickets.snapshot(ident, (outcome.comment_id or 1) - 1)
    ids = [
        a.id
        for t in tickets
        for c in t.comments
        if c.comment_id == outcome.comment_id
        for a in c.attachments
    ]
    return _json({"comment_id": outcome.comment_id, "attachments": ids})


@router.post("/setpushtoken")
async def set_push_token(request: Request) -> Response:
    """Legacy push token registration: 200 ``{}``, or a body with ``error``."""
    core = _core(request)
    data = await _body(request) or {}
    try:
        ident = await _identify(core, data)
    except (Forbidden, AuthUnavailable) as exc:
        return _refusal(exc)
    try:
        await core.tickets.push_tokens.set(ident, requests.push_token(data))
    except Unavailable:
        raise  # DeskRoute: 503 + Retry-After
    except DomainError as exc:
        return _json({"error": exc.message})
    return _json({})


# -- files -----------------------------------------------------------------------------


@router.post("/uploadfile")
async def upload_file(request: Request) -> Response:
    """One file part, any name (Android ``File``, iOS ``userfile``): ``{guid, md5_hash}``."""
    core = _core(request)
    try:
        form = await request.form()
    except Exception:  # malformed multipart: the client retries with backoff
        return _json({"error": {"code": "invalid_upload", "text": "expected multipart"}}, 422)
    try:
        part = next((v for _, v in form.multi_items() if not isinstance(v, str)), None)
        if part is None:
            return _json({"error": {"code": "invalid_upload", "text": "no file part"}}, 422)

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await part.read(64 * 1024):
                yield chunk

        try:
            guid, md5 = await core.tickets.files.stage_upload(
                chunks(),
                name=part.filename or "file",
                content_type=part.content_type or "application/octet-stream",
            )
        except Unavailable:
            raise  # DeskRoute: 503 + Retry-After
        except DomainError as exc:
            return _json({"error": exc.to_dict()}, exc.status)
    finally:
        await form.close()
    return _json({"guid": guid, "md5_hash": md5})


async def _download(request: Request, file_id: str) -> Response:
    core = _core(request)
    q = request.query_params
    try:
        credentials = {k: q.get(k) or None for k in requests.CREDENTIALS}
        ident = await _identify(core, credentials)
    except (Forbidden, AuthUnavailable) as exc:
        return _refusal(exc)
    number = as_int(file_id)
    try:
        if number is None or number <= 0:
            raise NotFound("no such file")
        info, body = await core.tickets.files.open_attachment(ident, number)
    except NotFound:
        return _json({"error": {"code": "file_not_found", "text": "no such file"}}, 404)
    return _stream(info, body)


def _stream(info: Any, body: AsyncIterator[bytes]) -> StreamingResponse:
    headers = {
        "Content-Length": str(info.size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(info.name)}",
    }
    return StreamingResponse(body, media_type=info.content_type, headers=headers)


@router.get("/downloadfile/{file_id}")
async def download_file(request: Request, file_id: str) -> Response:
    return await _download(request, file_id)


@router.get("/downloadfilepreview/{file_id}")
async def download_file_preview(request: Request, file_id: str) -> Response:
    """Android thumbnails: the original bytes are an acceptable preview (§7)."""
    return await _download(request, file_id)


@router.get("/avatar/{avatar_id}")
@router.get("/avatar/{avatar_id}/{size}")
async def avatar(request: Request, avatar_id: str, size: str = "") -> Response:
    """A support avatar, or 404 so the SDK draws initials on ``avatar_color`` (§8)."""
    number = as_int(avatar_id)
    try:
        if number is None or number <= 0:
            raise NotFound("no avatar")
        info, body = await _core(request).tickets.files.open_avatar(number)
    except NotFound:
        return Response(status_code=404)
    return _stream(info, body)


@router.api_route("/{rest:path}", methods=["GET", "POST"])
async def unknown(rest: str) -> Response:
    return _json({"error": {"code": "not_found", "text": f"no endpoint {rest}"}}, 404)
