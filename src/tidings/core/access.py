"""Who may see and touch a dialog: the one place visibility is decided.

A dialog the actor may not see does not exist for them (404, never 403), so
ids cannot be probed. Public dialogs are visible to everyone in the app, but
only members (subscribers) may read or write their messages.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.domain.errors import Forbidden, InvalidInput, NotFound
from tidings.domain.ids import is_valid_id
from tidings.domain.models import Actor
from tidings.store import dialogs as store
from tidings.store.dialogs import Member
from tidings.store.rows import DialogRow

MANAGERS = ("owner", "admin")


def check_dialog_id(dialog_id: str) -> None:
    if not is_valid_id(dialog_id):
        raise NotFound(f"no dialog {dialog_id!r}", code="dialog_not_found")


async def load_dialog(
    conn: AsyncConnection, actor: Actor, dialog_id: str, *, lock: bool = False
) -> tuple[DialogRow, Member | None]:
    """The dialog and the actor's membership row (None for a visible non-member)."""
    check_dialog_id(dialog_id)
    dialog, member = await store.get_dialog_with_member(
        conn, actor.app_id, dialog_id, actor.user_id, lock=lock
    )
    if dialog is None:
        raise NotFound(f"no dialog {dialog_id}", code="dialog_not_found")
    if member is None and dialog.type != "public":
        raise NotFound(f"no dialog {dialog_id}", code="dialog_not_found")
    return dialog, member


async def load_membership(
    conn: AsyncConnection, actor: Actor, dialog_id: str, *, lock: bool = False
) -> tuple[DialogRow, Member]:
    """Like :func:`load_dialog`, but the actor must be a member."""
    dialog, member = await load_dialog(conn, actor, dialog_id, lock=lock)
    if member is None:
        raise Forbidden("subscribe to this public dialog first", code="not_a_member")
    return dialog, member


def require_manager(dialog: DialogRow, member: Member | None, what: str) -> None:
    if member is None or member.role not in MANAGERS:
        raise Forbidden(f"only the owner or an admin of this dialog can {what}")


def require_owner(dialog: DialogRow, member: Member | None, what: str) -> None:
    if member is None or member.role != "owner":
        raise Forbidden(f"only the owner of this dialog can {what}")


def check_ids(values: object, field: str) -> list[int]:
    """A list of user ids from client input, de-duplicated, order kept."""
    if values is None:
        return []
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise InvalidInput(f"{field} must be a list of user ids", field=field)
    return list(dict.fromkeys(values))
