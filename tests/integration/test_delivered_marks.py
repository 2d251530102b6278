"""Delivered markers from live delivery are written in batches and only move forward."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tests.conftest import TestServer
from tidings.core.delivered_marks import ANNOUNCE_TO_ALL, audience_for
from tidings.domain.events import MessagesDelivered
from tidings.domain.models import Actor


@contextlib.asynccontextmanager
async def delivery_events(server: TestServer, dialog_id: str) -> AsyncIterator[list[Any]]:
    """The ``MessagesDelivered`` events of one dialog published inside the block."""
    heard: list[Any] = []

    async def collect(event: Any) -> None:
        if isinstance(event, MessagesDelivered) and event.dialog_id == dialog_id:
            heard.append(event)

    unsubscribe = server.core.bus.subscribe(collect)
    try:
        yield heard
        await server.core.bus.drain()  # the bus dispatches from a task of its own
    finally:
        unsubscribe()


async def _delivered(server: TestServer, actor: Actor, dialog_id: str) -> dict[str, list[int]]:
    page = await server.core.messages.history(actor, dialog_id)
    return {m.id: sorted(m.delivered_ids) for m in page.messages}


async def test_noted_deliveries_land_in_one_batch_and_never_move_back(
    server: TestServer,
) -> None:
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    _, carol, _ = await server.new_user(app)
    author = Actor(app.id, alice.id)
    dialog = await server.core.dialogs.create_dialog(
        author, "group", occupant_ids=[bob.id, carol.id], name="batch"
    )
    first = await server.core.messages.send_message(author, dialog.id, "one")
    second = await server.core.messages.send_message(author, dialog.id, "two")
    marks = server.core.delivered_marks
    audience = (alice.id, bob.id, carol.id)

    async with delivery_events(server, dialog.id) as heard:
        marks.note(app.id, bob.id, second.to_dict(), audience)
        marks.note(app.id, bob.id, first.to_dict(), audience)  # older: changes nothing
        marks.note(app.id, carol.id, first.to_dict(), audience)
        await marks.flush()

    delivered = await _delivered(server, author, dialog.id)
    assert delivered[first.id] == sorted([alice.id, bob.id, carol.id])
    assert delivered[second.id] == sorted([alice.id, bob.id])
    assert sorted((e.user_id, e.message_id) for e in heard) == sorted(
        [(bob.id, second.id), (carol.id, first.id)]
    )
    assert all(set(e.recipients) == set(audience) for e in heard)

    # A batch that would move a marker back writes and announces nothing.
    async with delivery_events(server, dialog.id) as heard:
        marks.note(app.id, bob.id, first.to_dict(), audience)
        await marks.flush()
    assert heard == []
    assert (await _delivered(server, author, dialog.id))[second.id] == sorted([alice.id, bob.id])


async def test_unannounced_deliveries_are_still_recorded(server: TestServer) -> None:
    app, alice, _ = await server.new_user()
    _, bob, _ = await server.new_user(app)
    author = Actor(app.id, alice.id)
    dialog = await server.core.dialogs.create_dialog(
        author, "group", occupant_ids=[bob.id], name="quiet"
    )
    message = await server.core.messages.send_message(author, dialog.id, "hello")

    async with delivery_events(server, dialog.id) as heard:
        server.core.delivered_marks.note(app.id, bob.id, message.to_dict(), None)
        await server.core.delivered_marks.flush()
    assert heard == []
    delivered = await _delivered(server, author, dialog.id)
    assert delivered[message.id] == sorted([alice.id, bob.id])


def test_who_hears_of_a_delivery() -> None:
    small = tuple(range(1, ANNOUNCE_TO_ALL + 1))
    big = tuple(range(1, ANNOUNCE_TO_ALL + 2))
    assert audience_for("private", (1, 2)) == (1, 2)
    assert audience_for("group", small) == small
    assert audience_for("group", big) is None
    assert audience_for("public", (1, 2)) is None
    assert audience_for("broadcast", (1, 2)) is None
