"""Dialogs over the REST API, as each participant sees them: private, group, public,
broadcast; details, occupants, admins, pins; hiding, leaving, deleting; mute; listing."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import MISSING_ID, expect_error, ids, manual_clock


async def listed_ids(client: Any, **params: Any) -> list[str]:
    return ids((await client.list_dialogs(limit=100, **params)).items)


# -- creating ----------------------------------------------------------------------


async def test_private_dialog_is_one_per_pair(server) -> None:
    """Creating a private dialog again, from either side, returns the same dialog."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)

    first = await alice_c.create_dialog("private", [bob.id])
    again = await alice_c.create_dialog("private", [bob.id])
    from_bob = await bob_c.create_dialog("private", [alice.id])

    assert first.type == "private"
    assert again.id == first.id == from_bob.id
    assert sorted(from_bob.occupant_ids) == sorted([alice.id, bob.id])
    assert await bob_c.get_dialog(first.id) == from_bob
    assert await listed_ids(bob_c) == [first.id]
    assert await listed_ids(alice_c) == [first.id]

    # Both sides creating it at the same moment still get one dialog.
    _, carol, carol_c = await server.new_client(app)
    raced = await asyncio.gather(
        alice_c.create_dialog("private", [carol.id]), carol_c.create_dialog("private", [alice.id])
    )
    assert raced[0].id == raced[1].id
    assert await listed_ids(carol_c) == [raced[0].id]


async def test_private_dialog_needs_exactly_one_other_user(server) -> None:
    """A private dialog with nobody, or with two others, is refused."""
    app, _alice, alice_c = await server.new_client()
    _, bob, _ = await server.new_client(app)
    _, carol, _ = await server.new_client(app)

    await expect_error(alice_c.create_dialog("private", []), 400, "invalid_input")
    await expect_error(alice_c.create_dialog("private", [bob.id, carol.id]), 400, "invalid_input")
    assert await listed_ids(alice_c) == []


async def test_group_dialog_name_occupants_owner(server) -> None:
    """A group has its name, all occupants and the creator as owner, for every member;
    a group without a name is refused."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, carol_c = await server.new_client(app)
    _, _dave, dave_c = await server.new_client(app)

    group = await alice_c.create_dialog(
        "group", [bob.id, carol.id], name="Team", description="our group"
    )
    seen_by_bob = await bob_c.get_dialog(group.id)
    assert seen_by_bob.type == "group"
    assert seen_by_bob.name == "Team"
    assert seen_by_bob.description == "our group"
    assert seen_by_bob.owner_id == alice.id
    assert sorted(seen_by_bob.occupant_ids) == sorted([alice.id, bob.id, carol.id])
    assert seen_by_bob.admin_ids == []
    assert seen_by_bob.is_member is True
    assert group.id in await listed_ids(carol_c)
    # Not a member: the group does not exist for dave.
    await expect_error(dave_c.get_dialog(group.id), 404, "dialog_not_found")
    assert await listed_ids(dave_c) == []

    error = await expect_error(alice_c.create_dialog("group", [bob.id]), 400, "invalid_input")
    assert error.details == {"field": "name"}
    await expect_error(alice_c.create_dialog("group", [bob.id], name="   "), 400, "invalid_input")
    await expect_error(
        alice_c.create_dialog("group", [bob.id, 2**31 - 2], name="ghosts"), 404, "user_not_found"
    )
    assert await listed_ids(bob_c) == [group.id]


async def test_public_dialog_subscribe_and_unsubscribe(server) -> None:
    """A public dialog is visible to everyone in the app, but only subscribers read,
    write and list it; unsubscribing undoes that."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)

    public = await alice_c.create_dialog("public", name="Lobby")
    await alice_c.send_message(public.id, "welcome")

    outside = await bob_c.get_dialog(public.id)
    assert outside.name == "Lobby"
    assert outside.is_member is False
    assert public.id not in await listed_ids(bob_c)
    await expect_error(bob_c.history(public.id), 403, "not_a_member")
    await expect_error(bob_c.send_message(public.id, "hi"), 403, "not_a_member")

    joined = await bob_c.subscribe(public.id)
    assert joined.is_member is True
    assert (await bob_c.subscribe(public.id)).is_member is True  # harmless twice
    assert public.id in await listed_ids(bob_c)
    # Earlier messages count as read for a newcomer.
    assert (await bob_c.get_dialog(public.id)).unread_count == 0
    await bob_c.send_message(public.id, "hello lobby")
    history = await alice_c.history(public.id)
    assert [(m.sender_id, m.body) for m in history.items] == [
        (alice.id, "welcome"),
        (bob.id, "hello lobby"),
    ]
    assert bob.id in (await alice_c.get_dialog(public.id)).occupant_ids

    await bob_c.unsubscribe(public.id)
    assert public.id not in await listed_ids(bob_c)
    assert (await bob_c.get_dialog(public.id)).is_member is False
    await expect_error(bob_c.history(public.id), 403, "not_a_member")
    assert bob.id not in (await alice_c.get_dialog(public.id)).occupant_ids
    # The owner cannot unsubscribe from their own dialog.
    await expect_error(alice_c.unsubscribe(public.id), 403, "forbidden")


async def test_broadcast_dialog(server) -> None:
    """Only an app admin creates a broadcast; every user of the app (even one created
    later) has it; plain members cannot post, the admin can and members count it unread."""
    app, _alice, alice_c = await server.new_client()
    _, admin, admin_c = await server.new_client(app, role="admin")

    await expect_error(alice_c.create_dialog("broadcast", name="News"), 403, "forbidden")

    broadcast = await admin_c.create_dialog("broadcast", name="News")
    assert broadcast.type == "broadcast"
    assert broadcast.owner_id == admin.id
    _, _late, late_c = await server.new_client(app)  # joins the app afterwards

    for client in (alice_c, late_c):
        listing = await client.list_dialogs(type="broadcast")
        assert ids(listing.items) == [broadcast.id]
        assert listing.items[0].name == "News"

    await expect_error(alice_c.send_message(broadcast.id, "me too"), 403, "forbidden")
    posted = await admin_c.send_message(broadcast.id, "server maintenance tonight")
    assert posted.seq == 1

    for client in (alice_c, late_c):
        unread = await client.unread()
        assert unread.model_dump() == {"total": 1, "dialogs": {broadcast.id: 1}}
        history = await client.history(broadcast.id)
        assert [m.body for m in history.items] == ["server maintenance tonight"]

    # A user joining after the post has it read already.
    _, _later, later_c = await server.new_client(app)
    assert ids((await later_c.list_dialogs()).items) == [broadcast.id]
    assert (await later_c.unread()).total == 0


# -- changing ----------------------------------------------------------------------


async def test_update_name_description_photo(server) -> None:
    """Members rename a group and change its description and photo; others see it.
    A private dialog has no details to change."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, _carol, carol_c = await server.new_client(app)

    group = await alice_c.create_dialog("group", [bob.id, _carol.id], name="Old")
    renamed = await bob_c.update_dialog(group.id, name="New")
    assert renamed.name == "New"
    await alice_c.update_dialog(group.id, description="about us", photo="https://example.org/p.png")

    seen = await carol_c.get_dialog(group.id)
    assert seen.name == "New"
    assert seen.description == "about us"
    assert seen.photo == "https://example.org/p.png"
    assert seen.updated_ms >= group.updated_ms

    await expect_error(bob_c.update_dialog(group.id, name=" "), 400, "invalid_input")
    await expect_error(bob_c.update_dialog(group.id, name="x" * 201), 400, "invalid_input")
    assert (await carol_c.get_dialog(group.id)).name == "New"

    private = await alice_c.create_dialog("private", [bob.id])
    await expect_error(bob_c.update_dialog(private.id, name="us"), 403, "forbidden")
    assert (await alice_c.get_dialog(private.id)).name is None

    # In a public dialog only the owner or an admin changes details.
    public = await alice_c.create_dialog("public", name="Square")
    await bob_c.subscribe(public.id)
    await expect_error(bob_c.update_dialog(public.id, name="Mine"), 403, "forbidden")
    assert (await alice_c.get_dialog(public.id)).name == "Square"
    assert alice.id == public.owner_id


async def test_add_and_remove_occupants(server) -> None:
    """Occupants are added and removed; a plain member cannot remove others, but anyone
    can remove themselves; the others see each change."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, carol_c = await server.new_client(app)

    group = await alice_c.create_dialog("group", [bob.id], name="Crew")
    await alice_c.send_message(group.id, "before carol")

    await alice_c.update_dialog(group.id, add_occupants=[carol.id])
    assert sorted((await bob_c.get_dialog(group.id)).occupant_ids) == sorted(
        [alice.id, bob.id, carol.id]
    )
    as_carol = await carol_c.get_dialog(group.id)
    assert as_carol.unread_count == 0  # earlier messages count as read for newcomers
    assert group.id in await listed_ids(carol_c)

    await expect_error(bob_c.update_dialog(group.id, remove_occupants=[carol.id]), 403, "forbidden")
    assert carol.id in (await alice_c.get_dialog(group.id)).occupant_ids
    await expect_error(bob_c.update_dialog(group.id, remove_occupants=[alice.id]), 403, "forbidden")

    left = await carol_c.update_dialog(group.id, remove_occupants=[carol.id])
    assert carol.id not in left.occupant_ids
    await expect_error(carol_c.get_dialog(group.id), 404, "dialog_not_found")
    assert sorted((await bob_c.get_dialog(group.id)).occupant_ids) == sorted([alice.id, bob.id])

    await alice_c.update_dialog(group.id, remove_occupants=[bob.id])
    await expect_error(bob_c.history(group.id), 404, "dialog_not_found")
    assert await listed_ids(bob_c) == []
    assert (await alice_c.get_dialog(group.id)).occupant_ids == [alice.id]

    private = await alice_c.create_dialog("private", [bob.id])
    await expect_error(
        alice_c.update_dialog(private.id, add_occupants=[carol.id]), 403, "forbidden"
    )


async def test_admins_by_owner_only_at_most_five(server) -> None:
    """Only the owner names or removes admins, at most five; admins manage members but
    not other admins."""
    app, alice, alice_c = await server.new_client()
    others = [await server.new_client(app) for _ in range(6)]
    (_, bob, bob_c), (_, carol, carol_c) = others[0], others[1]
    user_ids = [user.id for _, user, _ in others]

    group = await alice_c.create_dialog("group", user_ids, name="Big")
    updated = await alice_c.update_dialog(group.id, add_admins=[bob.id])
    assert updated.admin_ids == [bob.id]
    assert (await carol_c.get_dialog(group.id)).admin_ids == [bob.id]

    await expect_error(bob_c.update_dialog(group.id, add_admins=[carol.id]), 403, "forbidden")
    await expect_error(carol_c.update_dialog(group.id, add_admins=[carol.id]), 403, "forbidden")
    await expect_error(bob_c.update_dialog(group.id, remove_admins=[bob.id]), 403, "forbidden")

    await alice_c.update_dialog(group.id, add_admins=user_ids[1:5])
    five = (await carol_c.get_dialog(group.id)).admin_ids
    assert sorted(five) == sorted(user_ids[:5])
    await expect_error(
        alice_c.update_dialog(group.id, add_admins=[user_ids[5]]), 422, "limit_reached"
    )
    assert sorted((await bob_c.get_dialog(group.id)).admin_ids) == sorted(user_ids[:5])

    # An admin cannot remove another admin from the dialog; the owner can demote.
    await expect_error(bob_c.update_dialog(group.id, remove_occupants=[carol.id]), 403, "forbidden")
    await alice_c.update_dialog(group.id, remove_admins=[carol.id])
    assert carol.id not in (await bob_c.get_dialog(group.id)).admin_ids
    # ...and an admin removes a plain member.
    await bob_c.update_dialog(group.id, remove_occupants=[carol.id])
    await expect_error(carol_c.get_dialog(group.id), 404, "dialog_not_found")

    # Admins must be occupants first.
    _, stranger, _ = await server.new_client(app)
    await expect_error(
        alice_c.update_dialog(group.id, add_admins=[stranger.id]), 400, "invalid_input"
    )
    assert alice.id not in (await bob_c.get_dialog(group.id)).admin_ids


async def test_pinned_messages(server) -> None:
    """Only a manager pins; the message must be in the dialog; members see the pins."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)

    group = await alice_c.create_dialog("group", [bob.id], name="Pins")
    message = await alice_c.send_message(group.id, "the rules")
    elsewhere = await alice_c.create_dialog("private", [bob.id])
    foreign = await alice_c.send_message(elsewhere.id, "not here")

    await expect_error(bob_c.update_dialog(group.id, pin=[message.id]), 403, "forbidden")
    assert (await bob_c.get_dialog(group.id)).pinned_message_ids == []

    pinned = await alice_c.update_dialog(group.id, pin=[message.id])
    assert pinned.pinned_message_ids == [message.id]
    assert (await bob_c.get_dialog(group.id)).pinned_message_ids == [message.id]

    await expect_error(alice_c.update_dialog(group.id, pin=[foreign.id]), 404, "message_not_found")
    await expect_error(alice_c.update_dialog(group.id, pin=[MISSING_ID]), 404, "message_not_found")
    await expect_error(alice_c.update_dialog(group.id, pin=["nope"]), 400, "invalid_input")
    assert (await bob_c.get_dialog(group.id)).pinned_message_ids == [message.id]

    await alice_c.update_dialog(group.id, add_admins=[bob.id])
    unpinned = await bob_c.update_dialog(group.id, unpin=[message.id])
    assert unpinned.pinned_message_ids == []
    assert (await alice_c.get_dialog(group.id)).pinned_message_ids == []


# -- hiding, leaving, deleting ---------------------------------------------------------


async def test_delete_private_for_me_until_next_message(server) -> None:
    """Deleting a private dialog for me hides it (and its history) from me only; a new
    message brings it back with just the new history."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)

    private = await alice_c.create_dialog("private", [bob.id])
    await alice_c.send_message(private.id, "one")

    await bob_c.delete_dialog(private.id)
    assert await listed_ids(bob_c) == []
    assert (await bob_c.unread()).total == 0
    assert await listed_ids(alice_c) == [private.id]
    assert [m.body for m in (await alice_c.history(private.id)).items] == ["one"]

    await alice_c.send_message(private.id, "two")
    back = (await bob_c.list_dialogs()).items
    assert ids(back) == [private.id]
    assert back[0].unread_count == 1
    assert back[0].last_message_text == "two"
    assert [m.body for m in (await bob_c.history(private.id)).items] == ["two"]
    assert [m.body for m in (await alice_c.history(private.id)).items] == [
        "one",
        "two",
    ]
    assert alice.id in back[0].occupant_ids


async def test_leave_group(server) -> None:
    """A member leaves a group: it is gone for them, the others see them gone; when the
    owner leaves, a remaining member takes over."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, carol_c = await server.new_client(app)

    group = await alice_c.create_dialog("group", [bob.id, carol.id], name="Club")
    await bob_c.delete_dialog(group.id)
    await expect_error(bob_c.get_dialog(group.id), 404, "dialog_not_found")
    await expect_error(bob_c.send_message(group.id, "still here?"), 404, "dialog_not_found")
    assert await listed_ids(bob_c) == []
    assert sorted((await carol_c.get_dialog(group.id)).occupant_ids) == sorted([alice.id, carol.id])

    await alice_c.delete_dialog(group.id)
    await expect_error(alice_c.get_dialog(group.id), 404, "dialog_not_found")
    seen = await carol_c.get_dialog(group.id)
    assert seen.occupant_ids == [carol.id]
    assert seen.owner_id == carol.id


async def test_delete_for_everyone(server) -> None:
    """Only the owner deletes a group for everyone; then it is gone for all members.
    Either side may delete a private dialog for both."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, carol_c = await server.new_client(app)

    group = await alice_c.create_dialog("group", [bob.id, carol.id], name="Doomed")
    message = await alice_c.send_message(group.id, "last words")
    # Rows that point at its messages go with it.
    await alice_c.update_dialog(group.id, pin=[message.id])
    await bob_c.delete_message(group.id, message.id)

    await expect_error(bob_c.delete_dialog(group.id, for_everyone=True), 403, "forbidden")
    assert [m.body for m in (await carol_c.history(group.id)).items] == ["last words"]

    await alice_c.delete_dialog(group.id, for_everyone=True)
    for client in (alice_c, bob_c, carol_c):
        await expect_error(client.get_dialog(group.id), 404, "dialog_not_found")
        await expect_error(client.history(group.id), 404, "dialog_not_found")
        assert group.id not in await listed_ids(client)
        assert (await client.unread()).total == 0
    await expect_error(
        bob_c.request("GET", f"/dialogs/{group.id}/messages/{message.id}"),
        404,
        "dialog_not_found",
    )

    private = await alice_c.create_dialog("private", [bob.id])
    await alice_c.send_message(private.id, "bye")
    await bob_c.delete_dialog(private.id, for_everyone=True)
    await expect_error(alice_c.get_dialog(private.id), 404, "dialog_not_found")
    # A new private dialog between them starts empty.
    fresh = await alice_c.create_dialog("private", [bob.id])
    assert fresh.id != private.id
    assert (await bob_c.history(fresh.id)).items == []


# -- per-member settings and listing ----------------------------------------------------


async def test_mute_notifications_round_trip(server) -> None:
    """Muting is per member: it shows in my views only, and unmuting restores it."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    group = await alice_c.create_dialog("group", [bob.id], name="Noisy")
    path = f"/dialogs/{group.id}/notifications"

    assert await bob_c.request("GET", path) == {"muted": False}
    assert (await bob_c.set_muted(group.id, True)).muted is True
    assert await bob_c.request("GET", path) == {"muted": True}
    assert (await bob_c.get_dialog(group.id)).muted is True
    assert (await bob_c.list_dialogs()).items[0].muted is True
    assert (await alice_c.get_dialog(group.id)).muted is False
    assert await alice_c.request("GET", path) == {"muted": False}

    assert (await bob_c.set_muted(group.id, False)).muted is False
    assert await bob_c.request("GET", path) == {"muted": False}
    assert (await bob_c.get_dialog(group.id)).muted is False

    _, _carol, carol_c = await server.new_client(app)
    await expect_error(carol_c.set_muted(group.id, True), 404, "dialog_not_found")


async def test_list_dialogs_paging_type_filter_and_order(server) -> None:
    """Listing pages with limit/offset and a total, filters by type and puts the most
    recent activity first."""
    app, alice, alice_c = await server.new_client()
    peers = [await server.new_client(app) for _ in range(3)]
    with manual_clock(server) as clock:
        created = []
        for _, _peer, peer_c in peers:
            clock.advance(1)
            created.append(await peer_c.create_dialog("private", [alice.id]))
        for name in ("g1", "g2"):
            clock.advance(1)
            created.append(await peers[0][2].create_dialog("group", [alice.id], name=name))
        clock.advance(1)
        await peers[0][2].send_message(created[0].id, "wake up")

    expected = [created[0].id, *ids(created[:0:-1])]
    full = await alice_c.list_dialogs()
    assert full.total == 5
    assert ids(full.items) == expected
    assert full.items[0].last_message_text == "wake up"
    assert full.items[0].unread_count == 1

    pages = [await alice_c.list_dialogs(limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert all(p.total == 5 and p.limit == 2 for p in pages)
    assert [p.offset for p in pages] == [0, 2, 4]
    assert [i for p in pages for i in ids(p.items)] == expected
    beyond = await alice_c.list_dialogs(limit=2, offset=10)
    assert beyond.items == [] and beyond.total == 5

    groups = await alice_c.list_dialogs(type="group")
    assert groups.total == 2
    assert ids(groups.items) == [created[4].id, created[3].id]
    assert {d.type for d in groups.items} == {"group"}
    privates = await alice_c.list_dialogs(type="private", limit=1, offset=1)
    assert privates.total == 3
    assert ids(privates.items) == [created[2].id]
    both = await alice_c.list_dialogs(type="private,group")
    assert ids(both.items) == expected
    await expect_error(alice_c.list_dialogs(type="secret"), 400, "invalid_input")
    await expect_error(alice_c.list_dialogs(limit=0), 400, "invalid_input")


async def test_unknown_and_malformed_dialog_ids(server) -> None:
    """An unknown, malformed, foreign-app or invisible dialog id is 404 dialog_not_found
    on every route, never 403 or 500."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, _carol, carol_c = await server.new_client(app)
    _, _stranger, stranger_c = await server.new_client()  # another app
    group = await alice_c.create_dialog("group", [bob.id], name="Hidden")

    for dialog_id in (MISSING_ID, "not-a-dialog", "0123456789ABCDEF01234567", group.id):
        client = stranger_c if dialog_id == group.id else alice_c
        calls = [
            client.get_dialog(dialog_id),
            client.update_dialog(dialog_id, name="x"),
            client.delete_dialog(dialog_id),
            client.subscribe(dialog_id),
            client.set_muted(dialog_id, True),
            client.history(dialog_id),
            client.send_message(dialog_id, "hello?"),
            client.mark_read(dialog_id),
        ]
        for call in calls:
            await expect_error(call, 404, "dialog_not_found")

    await expect_error(carol_c.get_dialog(group.id), 404, "dialog_not_found")
    await expect_error(carol_c.history(group.id), 404, "dialog_not_found")
    assert (await bob_c.get_dialog(group.id)).name == "Hidden"
