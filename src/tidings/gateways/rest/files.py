"""Files: streamed upload (raw body), metadata, download, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from tidings.domain.models import FileInfo
from tidings.gateways.rest.deps import ActorDep, CoreDep, OptionalActorDep

router = APIRouter(tags=["files"])

UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("/files", status_code=201, response_model=FileInfo, openapi_extra=UPLOAD_DOC)
async def upload(
    request: Request,
    actor: ActorDep,
    core: CoreDep,
    name: Annotated[str, Query(min_length=1, max_length=255)],
    public: bool = False,
) -> FileInfo:
    """Upload the request body as a file (streamed; over the size limit: 413, nothing kept).
    Attach it to messages by its ``uid`` as ``{"file_id": uid}``."""
    content_type = request.headers.get("content-type", "application/octet-stream")

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            if chunk:
                yield chunk

    return await core.files.upload(
        actor, chunks(), name=name, content_type=content_type, public=public
    )


@router.get("/files/{uid}", response_model=FileInfo)
async def file_info(uid: str, actor: OptionalActorDep, core: CoreDep) -> FileInfo:
    return await core.files.get_info(actor, uid)


@router.get(
    "/files/{uid}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download(uid: str, actor: OptionalActorDep, core: CoreDep) -> StreamingResponse:
    """Download. Public files need no token; private ones need the owner's or a member's
    of a dialog where the file was attached."""
    info, body = await core.files.open(actor, uid)
    headers = {
        "Content-Length": str(info.size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(info.name)}",
    }
    return StreamingResponse(body, media_type=info.content_type, headers=headers)


@router.delete("/files/{uid}", status_code=204, response_class=Response)
async def delete(uid: str, actor: ActorDep, core: CoreDep) -> Response:
    await core.files.delete(actor, uid)
    return Response(status_code=204)
