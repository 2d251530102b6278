"""JIDs (RFC 7622) and how tidings names users and rooms in them (connectycube-wire §10.1).

A user is ``<userId>-<appId>@<domain>``; a dialog's MUC room is
``<appId>_<dialogId>@muc.<domain>`` and an occupant's nick is their user id. The
SDK parses these by the first ``-`` and ``_``, so neither part may contain them.
"""

from __future__ import annotations

from dataclasses import dataclass


class JidError(ValueError):
    """Not a JID this server knows how to read (RFC 6120 jid-malformed)."""


@dataclass(frozen=True, slots=True)
class JID:
    local: str
    domain: str
    resource: str = ""

    @classmethod
    def parse(cls, text: str) -> JID:
        if not text or len(text) > 3071:
            raise JidError("empty or too long JID")
        bare, _, resource = text.partition("/")
        local, at, domain = bare.rpartition("@")
        if not at:
            local, domain = "", bare
        if not domain or (at and not local):
            raise JidError(f"malformed JID {text!r}")
        return cls(local, domain.lower(), resource)

    @property
    def bare(self) -> str:
        return f"{self.local}@{self.domain}" if self.local else self.domain

    def __str__(self) -> str:
        return f"{self.bare}/{self.resource}" if self.resource else self.bare


@dataclass(frozen=True, slots=True)
class Addressing:
    """The JID scheme of one server: ``domain`` and the MUC service below it."""

    domain: str

    @property
    def muc_domain(self) -> str:
        return f"muc.{self.domain}"

    def user(self, user_id: int, app_id: int, resource: str = "") -> JID:
        return JID(f"{user_id}-{app_id}", self.domain, resource)

    def room(self, app_id: int, dialog_id: str, nick: int | str | None = None) -> JID:
        return JID(f"{app_id}_{dialog_id}", self.muc_domain, "" if nick is None else str(nick))

    def is_local(self, jid: JID) -> bool:
        return jid.domain == self.domain

    def is_muc(self, jid: JID) -> bool:
        return jid.domain == self.muc_domain


def parse_user_local(local: str) -> tuple[int, int]:
    """``"101-77"`` -> (user id 101, app id 77)."""
    user, sep, app = local.partition("-")
    if not sep or not user.isdigit() or not app.isdigit():
        raise JidError(f"{local!r} is not <userId>-<appId>")
    return int(user), int(app)


def parse_room_local(local: str) -> tuple[int, str]:
    """``"77_665b..."`` -> (app id 77, dialog id)."""
    app, sep, dialog = local.partition("_")
    if not sep or not app.isdigit() or not dialog:
        raise JidError(f"{local!r} is not <appId>_<dialogId>")
    return int(app), dialog
