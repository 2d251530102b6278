"""XEP-0363 §6: the HTTP side of file upload, on the HTTP port.

``PUT /http-upload/{app}/{uid}/{name}`` stores the bytes of a slot handed out over
XMPP (:mod:`xep_0363.handler`); its ``Authorization: Bearer <ticket>`` header came
with the slot. The body must be exactly the slot's size (``Content-Length``, §6:
MUST) and type (``Content-Type``, SHOULD), and the slot works once, until it
expires: 201 then, else 400 (size or type), 403 (not this slot's ticket, or
expired), 409 (used already).

``GET`` on the same URL serves the file to whoever knows it: XEP-0363 GET URLs
are bearer URLs (§8: long random parts, so they cannot be guessed), and clients
fetch them without credentials, as they appear in message bodies. Images are
served inline; anything else as an attachment, never to be rendered by a
browser on our origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from tidings.core.upload_slots import UploadSlots
from tidings.domain.errors import DomainError, NotFound
from tidings.gateways import CoreOf

PATH = "/http-upload"
#: Served inline; everything else (SVG included: it can carry scripts) downloads.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})
#: Whatever is served is data, never a page of ours.
_SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "public, max-age=31536000, immutable",
}


def url_path(app_id: int, uid: str, name: str) -> str:
    """Where a slot's file is put and got (the same URL for both, as §4 allows)."""
    return f"{PATH}/{app_id}/{uid}/{quote(name, safe='')}"


def upload_routes(core_of: CoreOf) -> Sequence[BaseRoute]:
    async def put(request: Request) -> Response:
        app_id, uid = _address(request)
        if app_id is None:
            return _error(NotFound("no such upload", code="file_not_found"))
        scheme, _, ticket = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not ticket:
            return _error(
                DomainError("send the slot's Authorization header", code="forbidden"), 403
            )
        length = request.headers.get("content-length", "")
        try:
            info = await UploadSlots(core_of()).put(
                app_id,
                uid,
                ticket.strip(),
                content_length=int(length) if length.isdigit() else None,
                content_type=request.headers.get("content-type"),
                chunks=request.stream(),
            )
        except DomainError as exc:
            return _error(exc)
        return JSONResponse({"uid": info.uid, "size": info.size}, status_code=201)

    async def get(request: Request) -> Response:
        app_id, uid = _address(request)
        try:
            if app_id is None:
                raise NotFound("no such upload", code="file_not_found")
            info, body = await core_of().files.open(None, uid)  # public files only
            if info.app_id != app_id:
                raise NotFound("no such upload", code="file_not_found")
        except DomainError as exc:
            return _error(exc)
        disposition = "inline" if info.content_type in INLINE_TYPES else "attachment"
        headers = {
            **_SAFE_HEADERS,
            "Content-Length": str(info.size),
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(info.name)}",
        }
        return StreamingResponse(body, media_type=info.content_type, headers=headers)

    path = PATH + "/{app_id}/{uid}/{name}"
    return [Route(path, put, methods=["PUT"]), Route(path, get, methods=["GET", "HEAD"])]


def _address(request: Request) -> tuple[int | None, str]:
    app_text = request.path_params.get("app_id", "")
    uid = request.path_params.get("uid", "")
    if not app_text.isdigit() or len(app_text) > 18 or not uid.isalnum() or len(uid) > 64:
        return None, ""
    return int(app_text), uid


def _error(exc: DomainError, status: int | None = None) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_code=status or exc.status)
