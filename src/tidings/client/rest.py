"""Async client for the native REST API (``/api/v1``), built on httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx


class ApiError(Exception):
    """A non-2xx answer: ``status``, the machine-readable ``code`` and the message."""

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
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except Exception:
                raise ApiError(response.status_code, "http_error", response.text[:200]) from None
            raise ApiError(
                response.status_code, error["code"], error["message"], error.get("details")
            )
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    # -- sessions and users --------------------------------------------------------

    async def login(self, app_id: int, login: str, password: str) -> dict[str, Any]:
        session = await self.request(
            "POST", "/sessions", json={"app_id": app_id, "login": login, "password": password}
        )
        self.token = session["token"]
        return session

    async def logout(self) -> None:
        await self.request("DELETE", "/sessions/current")
        self.token = None

    async def sign_up(
        self, app_id: int, auth_key: str, login: str, password: str, **profile: Any
    ) -> dict[str, Any]:
        return await self.request(
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

    async def me(self) -> dict[str, Any]:
        return await self.request("GET", "/users/me")

    async def get_user(self, user_id: int) -> dict[str, Any]:
        return await self.request("GET", f"/users/{user_id}")

    async def presence(self, user_id: int) -> dict[str, Any]:
        return await self.request("GET", f"/users/{user_id}/presence")

    # -- dialogs -----------------------------------------------------------------

    async def create_dialog(
        self, type: str, occupant_ids: list[int] | None = None, **fields: Any
    ) -> dict[str, Any]:
        return await self.request(
            "POST", "/dialogs", json={"type": type, "occupant_ids": occupant_ids or [], **fields}
        )

    async def list_dialogs(self, **params: Any) -> dict[str, Any]:
        return await self.request("GET", "/dialogs", params=params)

    async def get_dialog(self, dialog_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/dialogs/{dialog_id}")

    async def update_dialog(self, dialog_id: str, **changes: Any) -> dict[str, Any]:
        return await self.request("PATCH", f"/dialogs/{dialog_id}", json=changes)

    async def delete_dialog(self, dialog_id: str, *, for_everyone: bool = False) -> None:
        await self.request(
            "DELETE", f"/dialogs/{dialog_id}", params={"for_everyone": str(for_everyone).lower()}
        )

    async def subscribe(self, dialog_id: str) -> dict[str, Any]:
        return await self.request("PUT", f"/dialogs/{dialog_id}/subscription")

    async def unsubscribe(self, dialog_id: str) -> None:
        await self.request("DELETE", f"/dialogs/{dialog_id}/subscription")

    async def set_muted(self, dialog_id: str, muted: bool) -> dict[str, Any]:
        return await self.request(
            "PUT", f"/dialogs/{dialog_id}/notifications", json={"muted": muted}
        )

    async def unread(self, dialog_ids: list[str] | None = None) -> dict[str, Any]:
        params = {"dialog_ids": ",".join(dialog_ids)} if dialog_ids else None
        return await self.request("GET", "/unread", params=params)

    # -- messages ----------------------------------------------------------------

    async def send_message(self, dialog_id: str, body: str = "", **fields: Any) -> dict[str, Any]:
        return await self.request(
            "POST", f"/dialogs/{dialog_id}/messages", json={"body": body, **fields}
        )

    async def history(self, dialog_id: str, **params: Any) -> dict[str, Any]:
        return await self.request("GET", f"/dialogs/{dialog_id}/messages", params=params)

    async def edit_message(self, dialog_id: str, message_id: str, body: str) -> dict[str, Any]:
        return await self.request(
            "PATCH", f"/dialogs/{dialog_id}/messages/{message_id}", json={"body": body}
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
        body = {"message_id": message_id} if message_id else {}
        return (await self.request("POST", f"/dialogs/{dialog_id}/read", json=body))["marker"]

    async def mark_delivered(self, dialog_id: str, message_id: str | None = None) -> int:
        body = {"message_id": message_id} if message_id else {}
        result = await self.request("POST", f"/dialogs/{dialog_id}/delivered", json=body)
        return result["marker"]

    async def typing(self, dialog_id: str, typing: bool = True) -> None:
        await self.request("POST", f"/dialogs/{dialog_id}/typing", json={"typing": typing})

    async def search(self, q: str, **params: Any) -> dict[str, Any]:
        return await self.request("GET", "/search", params={"q": q, **params})

    # -- contacts and privacy --------------------------------------------------------

    async def contacts(self) -> list[dict[str, Any]]:
        return (await self.request("GET", "/contacts"))["items"]

    async def add_contact(self, user_id: int) -> dict[str, Any]:
        return await self.request("POST", "/contacts", json={"user_id": user_id})

    async def confirm_contact(self, user_id: int) -> dict[str, Any]:
        return await self.request("POST", f"/contacts/{user_id}/confirm")

    async def reject_contact(self, user_id: int) -> None:
        await self.request("POST", f"/contacts/{user_id}/reject")

    async def remove_contact(self, user_id: int) -> None:
        await self.request("DELETE", f"/contacts/{user_id}")

    async def put_privacy_list(self, name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return await self.request("PUT", f"/privacy/lists/{name}", json={"items": items})

    async def set_active_privacy_list(self, name: str | None) -> dict[str, Any]:
        return await self.request("PUT", "/privacy/active", json={"name": name})

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
    ) -> dict[str, Any]:
        return await self.request(
            "POST",
            "/files",
            params={"name": name, "public": str(public).lower()},
            content=data,
            headers={"Content-Type": content_type},
        )

    async def download(self, uid: str) -> bytes:
        return await self.request("GET", f"/files/{uid}/content")
