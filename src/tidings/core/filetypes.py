"""The type of an uploaded file when the client did not say (``application/octet-stream``).

Mobile SDKs (the Pyrus iOS SDK among them) upload every file as
``application/octet-stream``; stored that way, a photo is served and shown as an
opaque file. The first bytes decide for the formats that have a signature (PNG,
JPEG, GIF, WebP, HEIC/HEIF, AVIF, PDF); the name decides only among a few types
that are safe to serve inline (never HTML or SVG, which a browser would run). A type
the client did state is kept as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

#: How many leading bytes :func:`sniff` needs.
HEAD_BYTES = 32

#: Declared types that say nothing about the content.
UNKNOWN = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/binary"})

#: ISO base media file brands (bytes 8-12, after ``ftyp``) of still images.
_HEIF_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic-sequence",
    b"hevx": "image/heic-sequence",
    b"mif1": "image/heif",
    b"msf1": "image/heif-sequence",
    b"avif": "image/avif",
}

#: By extension, when the bytes have no signature we know: types safe to serve inline.
_BY_EXTENSION = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "log": "text/plain",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
}


def sniff(head: bytes) -> str | None:
    """The type the leading bytes announce, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return _HEIF_BRANDS[head[8:12]]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def by_name(name: str) -> str | None:
    _stem, dot, extension = name.rpartition(".")
    return _BY_EXTENSION.get(extension.lower()) if dot else None


def resolve(declared: str | None, head: bytes, name: str) -> str:
    """The type to store: the declared one if it says something, else content, else name."""
    base = (declared or "").split(";")[0].strip().lower()
    if declared and base not in UNKNOWN and len(declared) <= 255:
        return declared
    return sniff(head) or by_name(name) or "application/octet-stream"


class HeadKeeper:
    """Passes an upload's chunks through and keeps its first :data:`HEAD_BYTES`."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.head = b""

    async def stream(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            if len(self.head) < HEAD_BYTES:
                self.head += chunk[: HEAD_BYTES - len(self.head)]
            yield chunk
