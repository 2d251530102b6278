"""Reads the blob upload form (connectycube-wire §7.2) from a request body stream.

Starlette's form parser treats a part without a filename as a text field and
decodes it; the SDK under Node sends the ``file`` part exactly so (no filename,
``application/octet-stream``), so its bytes would be mangled. This reader keeps
every part named ``file`` as bytes, spooled to disk past 1 MiB, whatever its
headers, and the other (small) parts as text.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from tidings.domain.errors import InvalidInput, TooLarge

MAX_FIELD = 4096
MAX_PARTS = 20
SPOOL = 1 << 20


@dataclass
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    file: IO[bytes] | None = None
    size: int = 0

    async def chunks(self, size: int = 64 * 1024) -> AsyncIterator[bytes]:
        if self.file is None:
            return
        self.file.seek(0)
        while chunk := self.file.read(size):
            yield chunk

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


async def read_upload_form(
    content_type: str, body: AsyncIterator[bytes], max_bytes: int
) -> UploadForm:
    """Parse the whole form; a file over ``max_bytes`` is a :class:`TooLarge`."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidInput("the upload is a multipart/form-data form", field="file")
    form = UploadForm()
    state: dict[str, Any] = {"header": b"", "value": b"", "headers": {}, "name": None, "buf": None}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header"].lower()] = state["value"]
        state["header"] = state["value"] = b""

    def on_headers_finished() -> None:
        _disposition, opts = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        state["parts"] = state.get("parts", 0) + 1
        if state["parts"] > MAX_PARTS:
            raise InvalidInput("too many form fields", field="file")
        if name == "file":
            if form.file is not None:
                raise InvalidInput("one file per upload", field="file")
            form.file = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115
            state["buf"] = None
        else:
            state["buf"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if state["name"] == "file":
            form.size += len(chunk)
            if form.size > max_bytes:
                raise TooLarge(f"a file is at most {max_bytes} bytes", limit=max_bytes)
            if form.file is not None:  # opened when the part's headers ended
                form.file.write(chunk)
        else:
            state["buf"] += chunk
            if len(state["buf"]) > MAX_FIELD:
                raise InvalidInput("a form field is at most 4 KB", field=state["name"])

    def on_part_end() -> None:
        if state["name"] != "file" and state["name"]:
            form.fields[state["name"]] = bytes(state["buf"]).decode("utf-8", "replace")
        state["headers"] = {}

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        form.close()
        raise InvalidInput("the upload form is malformed", field="file") from None
    except BaseException:
        form.close()
        raise
    return form
