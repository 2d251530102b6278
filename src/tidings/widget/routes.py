"""``GET /widget.js``: the web chat widget as one static, dependency-free script.

Served by tidings itself, so the script and the API it calls share one origin and
the script finds the API from its own ``src``. Cached briefly (``max-age``) and
revalidated by ``ETag``, so a new version reaches visitors within minutes.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

SCRIPT = Path(__file__).resolve().parent / "static" / "widget.js"
MAX_AGE = 300

router = APIRouter(include_in_schema=False)


@functools.cache
def _script() -> tuple[bytes, str]:
    """The script and its ETag, read once per process (the file ships with the package)."""
    body = SCRIPT.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.get("/widget.js")
async def widget_script(request: Request) -> Response:
    body, etag = _script()
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
