"""The CometD acknowledgement extension, server side (``org.cometd.AckExtension``).

Why: on long-polling, deliveries handed to a ``/meta/connect`` response are gone
from the session's queue once the response is written; if that HTTP response
never reaches the client (the connection dies on the way), they are lost. With
the extension the client tells the server which responses it did get:

* handshake ``ext: {ack: true}`` → the reply says ``ext: {ack: true}``, and from
  then on the session's deliveries leave only in connect replies (never
  piggybacked, never pushed on their own WebSocket frame), so every delivery is
  in a numbered batch;
* each connect reply that drains the queue carries ``ext.ack = <batch number>``;
  the batch is kept until acknowledged;
* the client's next ``/meta/connect`` carries ``ext.ack = <last batch it
  received>``: batches up to it are forgotten, later ones (replies that never
  arrived) go back to the head of the queue and leave again, in order, in the
  reply to that connect.

A batch is re-sent only when the client did not acknowledge it, so a client that
got it sends the newer number and sees no second copy. Sessions without the
extension keep plain Bayeux behaviour (at most once per written response).
Unacknowledged batches are part of the session's dump, so they move with it to
another node.
"""

from __future__ import annotations

from typing import Any

from tidings.gateways.bayeux.clients import ClientSession, message_size
from tidings.gateways.bayeux.messages import Message


def requested(ext: Any) -> bool:
    """Whether a handshake's ``ext`` asks for the extension (``ack: true``)."""
    return isinstance(ext, dict) and ext.get("ack") is True


def acknowledge(session: ClientSession, ext: Any) -> None:
    """A connect's ``ext.ack``: forget the batches up to it; re-queue the others.

    A connect without a usable number acknowledges nothing: every outstanding
    batch is sent again (at least once rather than lost).
    """
    ack = ext.get("ack") if isinstance(ext, dict) else None
    if isinstance(ack, int) and not isinstance(ack, bool):
        session.unacked = [(n, batch) for n, batch in session.unacked if n > ack]
    again = [message for _, batch in session.unacked for message in batch]
    session.unacked = []
    if again:
        session.queue.extendleft(reversed(again))
        session.queue_bytes += sum(message_size(m) for m in again)


def next_batch(session: ClientSession) -> tuple[list[Message], int]:
    """Drain the queue into a new numbered batch, kept until acknowledged."""
    messages = session.drain()
    session.batch += 1
    if messages:
        session.unacked.append((session.batch, messages))
    return messages, session.batch
