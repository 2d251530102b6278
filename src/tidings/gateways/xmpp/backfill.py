"""What a session is handed from the store rather than from the bus (RFC 6121 §8.5.2.2).

A resource that has not sent its initial presence is not available (RFC 6121
§4.2), so chat messages for its user are not pushed to it: they wait in the
store, as offline messages would. On the initial presence the session is handed
every stored message its user's clients have not confirmed (``core.offline``):
what came while the user was away, and what a dead session had been sent without
acknowledging it. However many there are, oldest first, with ``<delay/>``
(XEP-0203) on those stored before the session bound, and each with the id it was
stored under, so a client that did read one before its connection died can drop
the second copy. A pass that fails is tried again, and then the session is closed
rather than let live messages overtake stored ones.

While a pass reads the store, live messages for the session are held and let go
after it, so the store's messages come first and in order; one the pass already
handed over is not sent twice (the session's ``SentSeqs``). A pass is also run
after the bus may have lost events and more were missed than one catch-up reads.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from tidings.core.delivered_marks import LOOK_UP
from tidings.core.offline import undelivered
from tidings.domain.errors import DomainError
from tidings.gateways.xmpp import outbound
from tidings.gateways.xmpp.muc import occupants as muc_occupants

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

log = logging.getLogger("tidings.gateways.xmpp")

#: Live messages held per session while a pass runs; past it they are dropped and
#: one more pass reads them from the store instead.
MAX_HELD = 1000
#: Pauses before a pass that failed (the database, say) is tried again.
RETRY_SECONDS = (0.5, 2.0, 5.0)


def request(session: Session) -> None:
    """Run a pass for ``session`` soon; if one is running, one more after it."""
    session.backfill_wanted = True
    if session.backfill_task is None and not session.ended:
        session.backfill_task = asyncio.get_running_loop().create_task(_run(session))


def hold(session: Session, event: Any) -> None:
    """Keep a live message back until the running pass is done."""
    if session.held is None:
        session.held = []
    if len(session.held) < MAX_HELD:
        session.held.append(event)
    else:
        session.backfill_wanted = True  # the store has it; the next pass reads it


async def _run(session: Session) -> None:
    failures = 0
    try:
        while session.backfill_wanted and session.available and not session.ended:
            session.backfill_wanted = False
            try:
                # Confirmations noted by an earlier session must be written first, or
                # this pass would read a stale marker and hand over what the client has.
                await session.core.delivered_marks.flush()
                await _pass(session)
            except Exception:
                failures += 1
                log.exception("could not hand an XMPP session its stored messages")
                if failures > len(RETRY_SECONDS):
                    # Live messages must not overtake the stored ones (their confirmation
                    # would move the marker past them): the client reconnects instead.
                    session.held = None
                    session.kick("internal-server-error", "try again")
                    return
                session.backfill_wanted = True
                await asyncio.sleep(RETRY_SECONDS[failures - 1])
    finally:
        session.backfill_task = None
        held, session.held = session.held, None
        for event in held or ():
            if not session.push(event):
                log.warning("dropping an XMPP session that reads too slowly")
                session.gateway.registry.remove(session)
                session.kick("policy-violation", "too slow")
                break


async def _pass(session: Session) -> None:
    sent = 0
    async for batch in undelivered(session.core, session.actor):
        for message in batch:
            if session.ended or not session.available:
                return
            try:
                await outbound.dialog_type(session, message.dialog_id)
            except DomainError:
                continue  # no longer a member, or the dialog went away
            if not muc_occupants.hears(session, message):
                continue  # a room, to a standard MUC client: history comes on join (MAM)
            if message.seq is None:
                continue  # never stored with a seq: not something a store read returns
            if not session.sent.first_time(message.dialog_id, message.seq):
                continue
            data = message.to_dict()
            # XEP-0203 marks what was stored before the session existed; a message that
            # came between binding and the initial presence is not news from the past.
            delayed = message.created_ms < session.bound_ms
            session.send(outbound.message_for(session, data, delayed=delayed), (data, LOOK_UP))
            sent += 1
    if sent:
        log.debug("handed %d stored messages to %s", sent, session.jid)
