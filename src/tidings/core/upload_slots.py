"""Upload slots: permission to PUT one file of a declared size and type, once, soon.

A client asks for a slot (name, size, type); the core checks the size limit and
the user's quota and hands back a signed ticket. The bytes come later in one
HTTP PUT that must match the ticket exactly. The ticket is stateless: an HMAC,
under the app's ``auth_secret``, of who may upload what until when, so any node
can take the PUT and rotating the app's keys voids the tickets it had issued.

The uploaded file is an ordinary ``files`` row (public: whoever knows its
unguessable uid may download it), so it can be attached to a message like any
other file. "Once" holds across nodes because the row is inserted before the
bytes are stored: the uid is unique, so a second PUT of the same ticket fails
on the insert and never touches the first one's bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from tidings.domain.errors import Conflict, Forbidden, InvalidInput, LimitReached, TooLarge
from tidings.domain.models import Actor, FileInfo
from tidings.store import files as store

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: Separates this use of the app secret from any other MAC made with it.
_PURPOSE = b"tidings upload slot v1\n"
DEFAULT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class UploadSlot:
    """A granted slot: the file's future uid, its name, and the ticket the PUT carries."""

    uid: str
    name: str
    ticket: str
    expires_ms: int


@dataclass(frozen=True, slots=True)
class _Claims:
    app_id: int
    user_id: int
    uid: str
    name: str
    size: int
    content_type: str
    expires_ms: int


class QuotaReached(LimitReached):
    """The user's stored files would pass their byte quota."""

    code = "quota_reached"


class UploadSlots:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- granting -------------------------------------------------------------------

    async def request_slot(
        self, actor: Actor, *, name: str, size: int, content_type: str | None
    ) -> UploadSlot:
        """Check and sign; raises :class:`TooLarge` (``limit``), :class:`QuotaReached`
        or :class:`InvalidInput`. Nothing is written until the PUT."""
        if not isinstance(name, str) or not 1 <= len(name) <= 255 or "/" in name:
            raise InvalidInput("a file name is 1 to 255 characters without '/'", field="name")
        if any(ord(c) < 32 for c in name):
            raise InvalidInput("a file name has no control characters", field="name")
        if not isinstance(size, int) or size < 1:
            raise InvalidInput("size is a positive number of bytes", field="size")
        content_type = _clean_type(content_type)
        limit = self.core.settings.upload_slot_max_bytes
        if size > limit:
            raise TooLarge(f"the file is larger than {limit} bytes", limit=limit)
        await self._check_quota(actor, size)
        app = await self.core.apps.get_app(actor.app_id)
        expires_ms = self.core.now_ms() + self.core.settings.upload_slot_seconds * 1000
        claims = _Claims(
            actor.app_id,
            actor.user_id,
            secrets.token_hex(16),
            name,
            size,
            content_type,
            expires_ms,
        )
        return UploadSlot(claims.uid, name, _sign(app.auth_secret, claims), expires_ms)

    async def _check_quota(self, actor: Actor, size: int) -> None:
        quota = self.core.settings.upload_quota_bytes
        if quota == 0:
            return
        async with self.core.db.read() as conn:
            used = await store.total_size_of_owner(conn, actor.app_id, actor.user_id)
        if used + size > quota:
            raise QuotaReached(
                f"your files would take {used + size} of {quota} bytes", quota=quota, used=used
            )

    # -- the PUT ----------------------------------------------------------------------

    async def put(
        self,
        app_id: int,
        uid: str,
        ticket: str,
        *,
        content_length: int | None,
        content_type: str | None,
        chunks: AsyncIterator[bytes],
    ) -> FileInfo:
        """Store the bytes a ticket allows: exactly its size and type, before it expires,
        once. Raises :class:`Forbidden` (a ticket not for this file, forged or expired),
        :class:`InvalidInput` (size or type not as declared), :class:`Conflict` (used)."""
        claims = await self._verify(app_id, uid, ticket)
        if content_length != claims.size:
            raise InvalidInput(
                f"Content-Length must be {claims.size}, as the slot declared", field="size"
            )
        if _clean_type(content_type) != claims.content_type:
            raise InvalidInput(
                f"Content-Type must be {claims.content_type}, as the slot declared",
                field="content_type",
            )
        await self._check_quota(Actor(claims.app_id, claims.user_id), claims.size)
        info = await self._claim(claims)
        try:
            stored = await self.core.storage.save(uid, chunks, max_bytes=claims.size)
            if stored != claims.size:
                raise InvalidInput(
                    f"the body was {stored} bytes, not the {claims.size} the slot declared",
                    field="size",
                )
        except BaseException:
            await self._release(info)
            raise
        return info

    async def _verify(self, app_id: int, uid: str, ticket: str) -> _Claims:
        app = await self.core.apps.get_app(app_id)  # NotFound: no such app
        claims = _open(app.auth_secret, ticket)
        if claims is None or claims.app_id != app_id or claims.uid != uid:
            raise Forbidden("this upload ticket is not valid for this file")
        if self.core.now_ms() > claims.expires_ms:
            raise Forbidden("this upload slot has expired; ask for a new one")
        return claims

    async def _claim(self, claims: _Claims) -> FileInfo:
        """The row first: the unique uid makes the second PUT of a ticket fail here."""
        try:
            async with self.core.db.transaction() as conn:
                if await store.get_file_any_app(conn, claims.uid) is not None:
                    raise Conflict("this upload slot was used already")
                return await store.insert_file(
                    conn,
                    uid=claims.uid,
                    app_id=claims.app_id,
                    owner_id=claims.user_id,
                    name=claims.name,
                    content_type=claims.content_type,
                    size=claims.size,
                    public=True,
                    created_ms=self.core.now_ms(),
                )
        except IntegrityError as exc:  # the unique uid, when two PUTs race
            raise Conflict("this upload slot was used already") from exc

    async def _release(self, info: FileInfo) -> None:
        async with self.core.db.transaction() as conn:
            await store.delete_file(conn, info.id)
        await self.core.storage.delete(info.uid)


def _clean_type(content_type: str | None) -> str:
    """The declared type, compared exactly (no parameters are dropped); none means octets."""
    if not isinstance(content_type, str) or not content_type.strip():
        return DEFAULT_TYPE
    content_type = content_type.strip()
    if len(content_type) > 255 or any(ord(c) < 32 for c in content_type):
        raise InvalidInput("content type is at most 255 printable characters", field="type")
    return content_type


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), _PURPOSE + payload.encode(), hashlib.sha256).digest())


def _sign(secret: str, claims: _Claims) -> str:
    body: dict[str, Any] = {
        "a": claims.app_id,
        "u": claims.user_id,
        "f": claims.uid,
        "n": claims.name,
        "s": claims.size,
        "t": claims.content_type,
        "e": claims.expires_ms,
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def _open(secret: str, ticket: str) -> _Claims | None:
    """The claims of a ticket this secret signed, else None (forged, cut, garbled)."""
    if not isinstance(ticket, str) or ticket.count(".") != 1 or len(ticket) > 4096:
        return None
    payload, mac = ticket.split(".")
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        body = json.loads(_unb64(payload))
        return _Claims(
            int(body["a"]),
            int(body["u"]),
            str(body["f"]),
            str(body["n"]),
            int(body["s"]),
            str(body["t"]),
            int(body["e"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
