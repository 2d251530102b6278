"""Satisfaction ratings: the requester rates a ticket support has closed, and an app's
admins read the tallies (wire spec §5.1 content rules, §10, §13.2).

A rating is a comment with ``rating`` (1 to :data:`RATING_MAX`) and maybe a
``rating_comment``. The wire says the server asks with ``show_rating`` when it
closes a ticket and the client answers; so a ticket may be rated once it is
closed (asked or not) or while it asks, and only once. Rating leaves the ticket
as it is: it does not reopen it, as a text comment would.

Which ticket: a positive ``ticket_id`` names it; otherwise (iOS single-chat sends
none; Android marks queued comments ``request_new_ticket`` with a fresh negative
id once the newest ticket is closed) it is the identity's newest ticket, the one
whose "closed" and "rating" state both SDKs show (§10). A rating never opens a
ticket: there would be nothing to rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.desk_models import RATING_MAX, CommandOutcome, DeskIdentity, NewComment
from tidings.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tidings.domain.events import TicketChanged
from tidings.domain.models import Actor, Message
from tidings.store import desk_ratings as ratings_store
from tidings.store import tickets as store
from tidings.store.desk_rows import TicketRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

#: The recent window of the admin overview's tallies.
RECENT_DAYS = 30
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RatingStats:
    """Ratings of one period: how many, their mean, and how many of each value."""

    count: int = 0
    average: float | None = None
    #: rating -> tickets, every value of the scale present (0 when none).
    distribution: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, counts: dict[int, int]) -> RatingStats:
        total = sum(counts.values())
        mean = sum(r * n for r, n in counts.items()) / total if total else None
        scale = {r: counts.get(r, 0) for r in range(1, RATING_MAX + 1)}
        return cls(count=total, average=mean, distribution=scale)


@dataclass(frozen=True, slots=True)
class RatingSummary:
    recent: RatingStats
    all_time: RatingStats
    recent_days: int = RECENT_DAYS


def rateable(ticket: TicketRow) -> str | None:
    """Why ``ticket`` cannot be rated now, or None when it can."""
    if ticket.rating is not None:
        return "this ticket is already rated"
    if ticket.status == "open" and not ticket.show_rating:
        return "only a closed ticket can be rated"
    return None


class DeskRatings:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def rate(self, ident: DeskIdentity, comment: NewComment) -> CommandOutcome:
        """Store ``comment`` (whose ``rating`` is set) on the ticket it rates; refused
        (nothing stored) when out of scale, foreign, open or already rated."""
        rating = comment.rating
        if rating is None or not 1 <= rating <= RATING_MAX:
            raise InvalidInput(f"rating is 1 to {RATING_MAX}", field="rating")
        note = (comment.rating_comment or "").strip() or None
        if note is not None and len(note) > self.core.settings.max_message_length:
            raise InvalidInput("rating comment is too long", field="rating_comment")
        ticket = await self._target(ident, comment.ticket_id)
        why = rateable(ticket)
        if why is not None:
            raise InvalidInput(why, code="not_rateable", field="ticket_id")
        comment_ids: list[int] = []

        async def on_stored(conn: AsyncConnection, message: Message) -> None:
            # Checked again under the row lock: two ratings racing store one.
            row = await store.get_ticket(conn, ident.app.id, ticket.id, lock=True)
            if row is None or rateable(row) is not None:
                raise Conflict("this ticket is already rated", code="not_rateable")
            if message.seq is None:
                raise Conflict("the rating was not numbered", code="not_rateable")
            comment_ids.append(
                await store.insert_comment(
                    conn,
                    ticket_id=ticket.id,
                    app_id=ident.app.id,
                    message_id=message.id,
                    seq=message.seq,
                    is_inbound=True,
                    rating=rating,
                    rating_comment=note,
                    created_ms=message.created_ms,
                )
            )
            await store.update_ticket(
                conn,
                ticket.id,
                rating=rating,
                show_rating=False,
                last_activity_ms=message.created_ms,
            )

        await self.core.messages.send_message(
            ident.actor,
            ticket.dialog_id,
            note or f"Rated {rating} of {RATING_MAX}",
            params={"desk": "inbound", "rating": rating},
            on_stored=on_stored,
        )
        await self.core.publish(
            TicketChanged(
                app_id=ident.app.id,
                ticket_id=ticket.id,
                dialog_id=ticket.dialog_id,
                change="rated",
            )
        )
        return CommandOutcome(ticket_id=ticket.id, comment_id=comment_ids[0])

    async def _target(self, ident: DeskIdentity, ticket_id: int) -> TicketRow:
        """The ticket a rating names, or the identity's newest; another identity's (or
        another app's) ticket is answered as an unknown one."""
        async with self.core.db.read() as conn:
            if ticket_id < 0:
                ticket_id = await store.get_placeholder(conn, ident.user_id, ticket_id) or 0
            if ticket_id > 0:
                row = await store.get_ticket(conn, ident.app.id, ticket_id)
                if row is None or row.requester_id != ident.user_id:
                    raise NotFound(f"no ticket {ticket_id}", code="ticket_not_found")
                return row
            newest = await ratings_store.newest_ticket(conn, ident.user_id)
        if newest is None:
            raise NotFound("there is no ticket to rate", code="ticket_not_found")
        return newest

    async def summary(self, actor: Actor) -> RatingSummary:
        """The app's ratings over the last :data:`RECENT_DAYS` days and all time, for
        its admins and agents."""
        if actor.role not in ("agent", "admin"):
            raise Forbidden("ratings are for the app's agents and admins")
        since = self.core.now_ms() - RECENT_DAYS * DAY_MS
        async with self.core.db.read() as conn:
            counts = await ratings_store.count_ratings(conn, actor.app_id, since)
        return RatingSummary(
            recent=RatingStats.of({r: recent for r, (_, recent) in counts.items()}),
            all_time=RatingStats.of({r: total for r, (total, _) in counts.items()}),
        )
