"""Pages of an archive that spans one dialog or several (XEP-0313 §4, XEP-0059).

A room's archive is its group dialog; a user's archive is their private dialogs
(groupchat is archived by the room, XEP-0313 §4.1.1, so a client does not get room
messages twice), or the one private dialog with ``with``. Result ids are message
ids, so RSM ``after``/``before`` point at a stored message: within its own dialog
the page is bounded by its sequence number, in the others by its time (ids are
time-ordered, so ``(created_ms, id)`` orders messages of different dialogs). Each
dialog is read one page deep and the pages merged, so a page costs one read per
dialog; a user archive reads the :data:`DIALOGS` most recently active dialogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tidings.core.message_lookup import MessageLookup
from tidings.domain.models import Actor, Dialog, HistoryFilter, Message
from tidings.gateways.xmpp.xep_0313.form import Query

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: How many of a user's private dialogs a query without ``with`` reads.
DIALOGS = 500


@dataclass(frozen=True, slots=True)
class Page:
    """Messages in archive order, and whether the query's direction is exhausted."""

    messages: list[Message]
    complete: bool


async def private_dialogs(core: Core, actor: Actor) -> list[Dialog]:
    """The user's 1-1 dialogs, most recently active first."""
    found: list[Dialog] = []
    while len(found) < DIALOGS:
        _total, batch = await core.dialogs.list_dialogs(
            actor, types=["private"], limit=100, offset=len(found)
        )
        found += batch
        if len(batch) < 100:
            break
    return found


def _key(message: Message) -> tuple[int, str]:
    return (message.created_ms, message.id)


async def page(core: Core, actor: Actor, dialog_ids: list[str], query: Query) -> Page:
    lookup = MessageLookup(core)
    after = await lookup.locate(actor, query.after) if query.after else None
    before = await lookup.locate(actor, query.before_id) if query.before_id else None
    if query.max == 0:  # XEP-0059 §2.6: a count only; the archive is not counted here
        return Page([], False)
    found: list[Message] = []
    more = False
    for dialog_id in dialog_ids:
        since, until = query.start_ms, query.end_ms
        after_id = before_id = None
        if after is not None:
            if after.dialog_id == dialog_id:
                after_id = after.id
            else:
                since = max(since or 0, after.created_ms)
        if before is not None:
            if before.dialog_id == dialog_id:
                before_id = before.id
            else:
                until = before.created_ms if until is None else min(until, before.created_ms)
        window = HistoryFilter(
            since_ms=since, until_ms=until, descending=query.backwards, limit=query.max
        )
        got = await core.messages.history(
            actor, dialog_id, window, after_id=after_id, before_id=before_id
        )
        more = more or got.has_more
        for message in got.messages:
            if after is not None and after.dialog_id != dialog_id and _key(message) <= _key(after):
                continue
            if (
                before is not None
                and before.dialog_id != dialog_id
                and (_key(message) >= _key(before))
            ):
                continue
            found.append(message)
    if len(dialog_ids) == 1:
        found.sort(key=lambda m: m.seq or 0, reverse=query.backwards)
    else:
        found.sort(key=_key, reverse=query.backwards)
    if len(found) > query.max:
        more = True
        found = found[: query.max]
    if query.backwards:
        found.reverse()  # a page reads oldest first whichever way it was paged
    return Page(found, complete=not more)


async def bounds(core: Core, actor: Actor, dialog_ids: list[str]) -> tuple[Message, Message] | None:
    """The archive's first and last message (§6), or None when it is empty."""
    firsts: list[Message] = []
    lasts: list[Message] = []
    for dialog_id in dialog_ids:
        for descending, into in ((False, firsts), (True, lasts)):
            got = await core.messages.history(
                actor, dialog_id, HistoryFilter(limit=1, descending=descending)
            )
            into.extend(got.messages)
    if not firsts or not lasts:
        return None
    return min(firsts, key=_key), max(lasts, key=_key)
