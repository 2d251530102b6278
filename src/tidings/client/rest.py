"""Async client for the native REST API (``/api/v1``), built on httpx.

Each method returns the answer parsed into the model the server declares for it
(``tidings.api_schemas`` and the domain's values), so callers read
``dialog.id`` and a type checker follows them. :meth:`TidingsClient.request`
stays untyped, for routes without a method here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx

from tidings.api_schemas import (
    ContactList,
    DialogList,
    ErrorOut,
    HistoryOut,
    MarkerOut,
    NotificationsOut,
    PrivacyNames,
    SearchOut,
    SessionOut,
    UnreadOut,
)
from tidings.client.parsing import parse
from tidings.domain.models import Contact, Dialog, FileInfo, Message, Presence, PrivacyList, User

_T = TypeVar("_T")


class ApiError(Exception):
    """A non-2xx answer: ``status``, the machine-readable ``code`` and the message.

    Also raised, with code ``bad_answer``, for a 2xx answer the client cannot read
    as what the route promises.
    """

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class TidingsClient:
    """One user's view of a tidings server. ``async with TidingsClient(url) as c: ...``"""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = httpx.AsyncClient(base_url=self.base_url + "/api/v1", timeout=timeout)

    async def __aenter__(self) -> TidingsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/api/v1/ws"

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; return the decoded JSON (None for 204), raise :class:`ApiError`."""
        response = await self._send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The 2xx response to a request with our token; anything else raises ApiError."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                error = parse(ErrorOut, response.json()).error
            except ValueError:  # not our error shape: a proxy's page, say
                raise ApiError(response.status_code, "http_error", response.text[:200]) from None
            raise ApiError(response.status_code, error.code, error.message, error.details)
        return response

    async def _call(self, answer: type[_T], method: str, path: str, **kwargs: Any) -> _T:
        """A request whose JSON answer must be an ``answer``. A 2xx answer of another
        shape (a proxy's page, a server of another version) raises :class:`ApiError`
        with code ``bad_answer`` rather than handing the caller half a value."""
        response = await self._send(method, path, **kwargs)
        try:
            return parse(answer, response.json())
        except ValueError as exc:  # not JSON, or pydantic's ValidationError
            raise ApiError(
                response.status_code,
                "bad_answer",
                f"{method} {path}: the answer is not a {answer.__name__}",
                {"reason": str(exc)[:500]},
            ) from None

    # -- sessions and users --------------------------------------------------------

    async def login(self, app_id: int, login: str, password: str) -> SessionOut:
        """Log in; later calls carry the session's token."""
        session = await self._call(
            SessionOut,
            "POST",
            "/sessions",
            json={"app_id": app_id, "login": login, "password": password},
        )
        self.token = session.token
        return session

    async def logout(self) -> None:
        await self.request("DELETE", "/sessions/current")
        self.token = None

    async def sign_up(
        self, app_id: int, auth_key: str, login: str, password: str, **profile: Any
    ) -> User:
        return await self._call(
            User,
            "POST",
            "/users",
            json={
                "app_id": app_id,
                "auth_key": auth_key,
                "login": login,
                "password": password,
                **profile,
            },
        )

    async def me(self) -> User:
        return await self._call(User, "GET", "/users/me")

    async def get_user(self, user_id: int) -> User:
        return await self._call(User, "GET", f"/users/{user_id}")

    async def presence(self, user_id: int) -> Presence:
        return await self._call(Presence, "GET", f"/users/{user_id}/presence")

    # -- dialogs -----------------------------------------------------------------

    async def create_dialog(
        self, type: str, occupant_ids: list[int] | None = None, **fields: Any
    ) -> Dialog:
        return await self._call(
            Dialog,
            "POST",
            "/dialogs",
            json={"type": type, "occupant_ids": occupant_ids or [], **fields},
        )

    async def list_dialogs(self, **params: Any) -> DialogList:
        return await self._call(DialogList, "GET", "/dialogs", params=params)

    async def get_dialog(self, dialog_id: str) -> Dialog:
        return await self._call(Dialog, "GET", f"/dialogs/{dialog_id}")

    async def update_dialog(self, dialog_id: str, **changes: Any) -> Dialog:
        return await self._call(Dialog, "PATCH", f"/dialogs/{dialog_id}", json=changes)

    async def delete_dialog(self, dialog_id: str, *, for_everyone: bool = False) -> None:
        await self.request(
            "DELETE", f"/dialogs/{dialog_id}", params={"for_everyone": str(for_everyone).lower()}
        )

    async def subscribe(self, dialog_id: str) -> Dialog:
        return await self._call(Dialog, "PUT", f"/dialogs/{dialog_id}/subscription")

    async def unsubscribe(self, dialog_id: str) -> None:
        await self.request("DELETE", f"/dialogs/{dialog_id}/subscription")

    async def set_muted(self, dialog_id: str, muted: bool) -> NotificationsOut:
        return await self._call(
            NotificationsOut, "PUT", f"/dialogs/{dialog_id}/notifications", json={"muted": muted}
        )

    async def unread(self, dialog_ids: list[str] | None = None) -> UnreadOut:
        params = {"dialog_ids": ",".join(dialog_ids)} if dialog_ids else None
        return await self._call(UnreadOut, "GET", "/unread", params=params)

    # -- messages ----------------------------------------------------------------

    async def send_message(self, dialog_id: str, body: str = "", **fields: Any) -> Message:
        return await self._call(
            Message, "POST", f"/dialogs/{dialog_id}/messages", json={"body": body, **fields}
        )

    async def history(self, dialog_id: str, **params: Any) -> HistoryOut:
        return await self._call(HistoryOut, "GET", f"/dialogs/{dialog_id}/messages", params=params)

    async def edit_message(self, dialog_id: str, message_id: str, body: str) -> Message:
        return await self._call(
            Message, "PATCH", f"/dialogs/{dialog_id}/messages/{message_id}", json={"body": body}
        )

    async def delete_message(
        self, dialog_id: str, message_id: str, *, for_everyone: bool = False
    ) -> None:
        await self.request(
            "DELETE",
            f"/dialogs/{dialog_id}/messages/{message_id}",
            params={"for_everyone": str(for_everyone).lower()},
        )

    async def mark_read(self, dialog_id: str, message_id: str | None = None) -> int:
        """Read up to ``message_id`` (default: the newest); returns the read marker (a seq)."""
        body = {"message_id": message_id} if message_id else {}
        marker = await self._call(MarkerOut, "POST", f"/dialogs/{dialog_id}/read", json=body)
        return marker.marker

    async def mark_delivered(self, dialog_id: str, message_id: str | None = None) -> int:
        body = {"message_id": message_id} if message_id else {}
        marker = await self._call(MarkerOut, "POST", f"/dialogs/{dialog_id}/delivered", json=body)
        return marker.marker

    async def typing(self, dialog_id: str, typing: bool = True) -> None:
        await self.request("POST", f"/dialogs/{dialog_id}/typing", json={"typing": typing})

    async def search(self, q: str, **params: Any) -> SearchOut:
        return await self._call(SearchOut, "GET", "/search", params={"q": q, **params})

    # -- contacts and privacy --------------------------------------------------------

    async def contacts(self) -> list[Contact]:
        return (await self._call(ContactList, "GET", "/contacts")).items

    async def add_contact(self, user_id: int) -> Contact:
        return await self._call(Contact, "POST", "/contacts", json={"user_id": user_id})

    async def confirm_contact(self, user_id: int) -> Contact:
        return await self._call(Contact, "POST", f"/contacts/{user_id}/confirm")

    async def reject_contact(self, user_id: int) -> None:
        await self.request("POST", f"/contacts/{user_id}/reject")

    async def remove_contact(self, user_id: int) -> None:
        await self.request("DELETE", f"/contacts/{user_id}")

    async def put_privacy_list(self, name: str, items: list[dict[str, Any]]) -> PrivacyList:
        return await self._call(PrivacyList, "PUT", f"/privacy/lists/{name}", json={"items": items})

    async def set_active_privacy_list(self, name: str | None) -> PrivacyNames:
        return await self._call(PrivacyNames, "PUT", "/privacy/active", json={"name": name})

    async def block(self, *user_ids: int, list_name: str = "blocked") -> None:
        """Convenience: a list denying these users, made active."""
        await self.put_privacy_list(list_name, [{"user_id": u, "action": "deny"} for u in user_ids])
        await self.set_active_privacy_list(list_name)

    # -- files -------------------------------------------------------------------

    async def upload(
        self,
        name: str,
        data: bytes | AsyncIterator[bytes],
        *,
        content_type: str = "application/octet-stream",
        public: bool = False,
    ) -> FileInfo:
        return await self._call(
            FileInfo,
            "POST",
            "/files",
            params={"name": name, "public": str(public).lower()},
            content=data,
            headers={"Content-Type": content_type},
        )

    async def download(self, uid: str) -> bytes:
        """The file's bytes, whatever its content type (a JSON file is not decoded)."""
        return (await self._send("GET", f"/files/{uid}/content")).content
