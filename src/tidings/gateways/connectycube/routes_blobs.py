"""Blobs (connectycube-wire §7): create, upload (multipart), complete, info, download.

The upload address handed out is this API's own ``/blobs/upload``; the SDK posts
the form there with its ``CB-Token`` (it adds the header to every non-S3 URL),
which is what authorizes the upload. Files are served at ``/blobs/<uid>``:
public ones to anyone, private ones with ``?token=<session token>``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from tidings.domain.errors import InvalidInput, NotFound
from tidings.domain.models import Actor, FileInfo
from tidings.gateways.connectycube.deps import (
    api_base,
    params,
    services,
    session,
    token_of,
    user_actor,
)
from tidings.gateways.connectycube.mapping import blob_to_wire
from tidings.gateways.connectycube.multipart import read_upload_form
from tidings.gateways.connectycube.query import ParamsError, as_bool, as_int

router = APIRouter()

MAX_PAGE = 100


def _access(request: Request, info: FileInfo) -> dict[str, Any]:
    query = urlencode({"Content-Type": info.content_type, "key": info.uid})
    expires = datetime.now(UTC) + timedelta(hours=1)
    return {
        "id": info.id,
        "blob_id": info.id,
        "expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "object_access_type": "Write",
        "params": f"{api_base(request)}/blobs/upload?{query}",
    }


@router.post("/blobs.json")
async def create_blob(request: Request) -> JSONResponse:
    actor = await user_actor(request)
    data = await params(request)
    blob = data.get("blob")
    if not isinstance(blob, dict):
        raise InvalidInput("blob must be an object", field="blob")
    info = await services(request).blobs.declare(
        actor,
        name=blob.get("name"),
        content_type=blob.get("content_type"),
        public=as_bool(blob.get("public")),
    )
    body = {**blob_to_wire(info, completed=False), "blob_object_access": _access(request, info)}
    return JSONResponse({"blob": body}, status_code=201)


@router.post("/blobs/upload")
async def upload(request: Request) -> Response:
    """The multipart form of §7.2: the query fields of ``params`` (``key`` = uid), then
    ``file``. Answers 201 like S3; the SDK reads the body as text."""
    actor = await user_actor(request)
    core = services(request).core
    form = await read_upload_form(
        request.headers.get("content-type", ""),
        request.stream(),
        core.settings.max_upload_bytes,
    )
    try:
        key = form.fields.get("key") or request.query_params.get("key")
        if not key or form.file is None:
            raise InvalidInput("the form needs key and file fields", field="file")
        await services(request).blobs.put_content(actor, key, form.chunks())
    finally:
        form.close()
    return Response(status_code=201)


def _blob_id(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise NotFound(f"no blob {value!r}", code="file_not_found")
    return int(value)


@router.put("/blobs/{blob_id}/complete.json")
async def complete(request: Request, blob_id: str) -> Response:
    """Body ``{"size": N}`` (what the SDK sends) or ``{"blob": {"size": N}}`` (the docs);
    the size actually stored is what counts."""
    actor = await user_actor(request)
    await params(request)
    await services(request).blobs.complete(actor, _blob_id(blob_id))
    return Response(status_code=200)


async def _reader(request: Request) -> Actor:
    return (await session(request)).actor


async def _info(request: Request, actor: Actor, ref: str) -> FileInfo:
    """By integer id, or by uid (the SDK uses both on the same path, §7.3)."""
    if ref.isdigit():
        return await services(request).blobs.by_id(actor, _blob_id(ref))
    return await services(request).core.files.get_info(actor, ref)


@router.get("/blobs.json")
async def list_blobs(request: Request) -> JSONResponse:
    actor = await user_actor(request)
    data = await params(request)
    try:
        page = as_int(data.get("page"), "page", 1) or 1
        per_page = as_int(data.get("per_page"), "per_page", 10) or 10
    except ParamsError as exc:
        raise InvalidInput(str(exc)) from None
    if page < 1 or not 1 <= per_page <= MAX_PAGE:
        raise InvalidInput(f"per_page is 1 to {MAX_PAGE}", field="per_page")
    total, files = await services(request).blobs.list_own(
        actor, limit=per_page, offset=(page - 1) * per_page
    )
    return JSONResponse(
        {
            "current_page": page,
            "per_page": per_page,
            "total_entries": total,
            "items": [{"blob": blob_to_wire(f)} for f in files],
        }
    )


@router.get("/blobs/{ref}/object.json")
async def file_object(request: Request, ref: str) -> JSONResponse:
    actor = await _reader(request)
    info = await _info(request, actor, ref)
    url = f"{api_base(request)}/blobs/{info.uid}"
    if not info.public:
        url += f"?token={quote(token_of(request) or '')}"
    body = {**blob_to_wire(info), "blob_object_access": {"download_url": url}}
    return JSONResponse({"blob": body})


@router.get("/blobs/{ref}.json")
async def blob_info(request: Request, ref: str) -> JSONResponse:
    """Info by id or uid; with ``blob[name]`` this is the SDK's rename (it sends a GET)."""
    actor = await _reader(request)
    data = await params(request)
    info = await _info(request, actor, ref)
    new = data.get("blob")
    if isinstance(new, dict) and isinstance(new.get("name"), str):
        info = await services(request).blobs.rename(actor, info.id, new["name"])
    return JSONResponse({"blob": blob_to_wire(info)})


@router.delete("/blobs/{ref}.json")
async def delete_blob(request: Request, ref: str) -> Response:
    actor = await user_actor(request)
    info = await _info(request, actor, ref)
    await services(request).core.files.delete(actor, info.uid)
    return Response(status_code=200)


async def _download(request: Request, uid: str) -> StreamingResponse:
    actor = await _reader(request) if token_of(request) else None
    info, body = await services(request).core.files.open(actor, uid)
    headers = {
        "Content-Length": str(info.size),
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(info.name)}",
    }
    return StreamingResponse(body, media_type=info.content_type, headers=headers)


@router.get("/blobs/{uid}/download")
async def download_alias(request: Request, uid: str) -> StreamingResponse:
    return await _download(request, uid)


@router.get("/blobs/{uid}")
async def download(request: Request, uid: str) -> StreamingResponse:
    """``storage.publicUrl``/``privateUrl``: the bytes themselves."""
    return await _download(request, uid)
