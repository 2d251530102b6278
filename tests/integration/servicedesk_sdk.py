"""Request bodies exactly as the PyrusServiceDesk SDKs build them (wire spec §3–§7).

``DeskDevice`` is one phone: Android or iOS, anonymous or external. It builds
the ``gettickets`` body and the command envelopes field by field as the SDK
sources do (Android adds ``params.__type``; iOS sends explicit ``null`` for an
absent token), and keeps the ``last_note_id`` cursor the way the SDKs do.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_local_ids = itertools.count(-1, -1)


@dataclass
class DeskDevice:
    base_url: str
    app_id: str
    platform: str = "android"
    user_id: str | None = None
    security_key: str | None = None
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    author_name: str = "Dana"
    last_note_id: int = 0
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    @property
    def url(self) -> str:
        return self.base_url + "/servicedeskapi/v1/"

    def identity(self) -> dict[str, Any]:
        body: dict[str, Any] = {"app_id": self.app_id, "instance_id": self.instance_id}
        if self.user_id is not None:
            body["user_id"] = self.user_id
        if self.security_key is not None:
            body["security_key"] = self.security_key
        body["version"] = 2
        return body

    def command(self, kind: int, name: str, **params: Any) -> dict[str, Any]:
        params = {"app_id": self.app_id, **params}
        if self.platform == "android":
            params["__type"] = name
        envelope = {
            "command_id": str(uuid.uuid4()),
            "type": kind,
            "app_id": self.app_id,
            "params": params,
        }
        if self.user_id is not None:
            envelope["user_id"] = self.user_id
        return envelope

    def create_comment(
        self,
        text: str | None = None,
        *,
        ticket_id: int | None = None,
        attachments: list[dict[str, Any]] | None = None,
        rating: int | None = None,
        new_ticket: bool = False,
        extra_fields: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"request_new_ticket": new_ticket}
        if ticket_id is not None:
            params["ticket_id"] = ticket_id
        if text is not None:
            params["comment"] = text
        if attachments:
            params["attachments"] = attachments
        if rating is not None:
            params["rating"] = rating
        if extra_fields:
            params["extra_fields"] = extra_fields
        return self.command(0, "CreateComment", **params)

    def mark_read(self, ticket_id: int, comment_id: int | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"ticket_id": ticket_id}
        if comment_id is not None:
            params["comment_id"] = comment_id
        return self.command(1, "MarkTicketAsRead", **params)

    def set_push_token(self, token: str | None, kind: str = "android") -> dict[str, Any]:
        params: dict[str, Any] = {"type": kind}
        if token is not None or self.platform == "ios":
            params["token"] = token  # iOS sends an explicit null to unregister
        return self.command(2, "SetPushToken", **params)

    def calc_operator_time(self, ticket_id: int) -> dict[str, Any]:
        return self.command(4, "CalcOperatorTime", ticket_id=ticket_id)

    async def sync_raw(self, commands: list[dict[str, Any]] | None = None) -> httpx.Response:
        body = {
            **self.identity(),
            "need_full_info": True,
            "author_name": self.author_name,
            "api_sign": "AAAAAAAAAAAUAAs=",
            "locale": "en-US",
            "commands": commands or [],
        }
        if self.last_note_id:
            body["last_note_id"] = self.last_note_id
        return await self.http.post(
            self.url + "gettickets",
            json=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    async def sync(self, *commands: dict[str, Any]) -> dict[str, Any]:
        """POST gettickets; check it is 200, advance the cursor as the SDK does."""
        response = await self.sync_raw(list(commands))
        assert response.status_code == 200, response.text
        data = response.json()
        for ticket in data["tickets"]:
            for comment in ticket.get("comments", []):
                self.last_note_id = max(self.last_note_id, comment["comment_id"])
        return data

    async def upload(self, name: str, content: bytes) -> str:
        part = "File" if self.platform == "android" else "userfile"
        ctype = "image/png" if self.platform == "android" else "application/octet-stream"
        response = await self.http.post(
            self.url + "UploadFile", files={part: (name, content, ctype)}
        )
        assert response.status_code == 200, response.text
        return response.json()["guid"]

    def download_query(self) -> dict[str, Any]:
        if self.security_key is None:
            return {"user_id": self.instance_id, "app_id": self.app_id}
        return {
            "user_id": self.user_id,
            "security_key": self.security_key,
            "instance_id": self.instance_id,
            "version": 2,
            "app_id": self.app_id,
        }

    async def aclose(self) -> None:
        await self.http.aclose()


def result_of(reply: dict[str, Any], command: dict[str, Any]) -> dict[str, Any]:
    found = [r for r in reply["commands_result"] if r["command_id"] == command["command_id"]]
    assert len(found) == 1, reply["commands_result"]
    return found[0]


def assert_wire_clean(value: Any, path: str = "$") -> None:
    """§2.1: no nulls anywhere; every timestamp in the one fixed shape."""
    assert value is not None, f"null at {path}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert_wire_clean(item, f"{path}.{key}")
            if key == "created_at":
                assert TIMESTAMP.match(item), f"{path}.{key} = {item!r}"
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_wire_clean(item, f"{path}[{i}]")
