"""Contacts (request, confirm, reject, remove, limit), presence, and privacy lists
(blocking 1-1 messages both ways, unblocking)."""

from __future__ import annotations

import pytest

from tidings.client import Contact
from tidings.client.rest import ApiError


def _statuses(contacts: list[Contact]) -> dict[int, str]:
    return {c.user_id: c.status for c in contacts}


async def test_contact_request_and_confirm(server) -> None:
    """A request is 'requested' for the asker and 'pending' for the other; confirming
    makes both 'confirmed'."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    asked = await alice_c.add_contact(bob.id)
    assert asked.user_id == bob.id and asked.status == "requested"
    assert _statuses(await alice_c.contacts()) == {bob.id: "requested"}
    assert _statuses(await bob_c.contacts()) == {alice.id: "pending"}
    # The asker cannot confirm their own request.
    with pytest.raises(ApiError) as error:
        await alice_c.confirm_contact(bob.id)
    assert (error.value.status, error.value.code) == (404, "contact_request_not_found")
    confirmed = await bob_c.confirm_contact(alice.id)
    assert (confirmed.user_id, confirmed.status) == (alice.id, "confirmed")
    assert _statuses(await alice_c.contacts()) == {bob.id: "confirmed"}
    assert _statuses(await bob_c.contacts()) == {alice.id: "confirmed"}
    # Confirming again is harmless.
    assert (await bob_c.confirm_contact(alice.id)).status == "confirmed"


async def test_contact_request_twice_is_harmless(server) -> None:
    """Asking twice keeps one 'requested' entry; asking a confirmed contact changes nothing."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    await alice_c.add_contact(bob.id)
    again = await alice_c.add_contact(bob.id)
    assert again.status == "requested"
    assert len(await alice_c.contacts()) == 1
    assert _statuses(await alice_c.contacts()) == {bob.id: "requested"}
    assert _statuses(await bob_c.contacts()) == {alice.id: "pending"}
    await bob_c.confirm_contact(alice.id)
    assert (await alice_c.add_contact(bob.id)).status == "confirmed"
    assert (await bob_c.add_contact(alice.id)).status == "confirmed"
    assert _statuses(await alice_c.contacts()) == {bob.id: "confirmed"}
    assert _statuses(await bob_c.contacts()) == {alice.id: "confirmed"}


async def test_reverse_request_confirms(server) -> None:
    """If they already asked you, asking them back makes you contacts."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    await bob_c.add_contact(alice.id)
    assert _statuses(await alice_c.contacts()) == {bob.id: "pending"}
    result = await alice_c.add_contact(bob.id)
    assert result.status == "confirmed"
    assert _statuses(await alice_c.contacts()) == {bob.id: "confirmed"}
    assert _statuses(await bob_c.contacts()) == {alice.id: "confirmed"}


async def test_contact_reject(server) -> None:
    """Rejecting a pending request removes it from both lists; only pending ones can be."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    await bob_c.add_contact(alice.id)
    with pytest.raises(ApiError) as error:
        await bob_c.reject_contact(alice.id)  # the asker has nothing to reject
    assert (error.value.status, error.value.code) == (404, "contact_request_not_found")
    await alice_c.reject_contact(bob.id)
    assert await alice_c.contacts() == []
    assert await bob_c.contacts() == []
    with pytest.raises(ApiError) as error:
        await alice_c.confirm_contact(bob.id)
    assert (error.value.status, error.value.code) == (404, "contact_request_not_found")
    # They may ask again afterwards.
    assert (await bob_c.add_contact(alice.id)).status == "requested"


async def test_contact_remove(server) -> None:
    """Removing a contact removes it on both sides; removing a stranger is 404."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, carol, _ = await server.new_client(app)
    await alice_c.add_contact(bob.id)
    await bob_c.confirm_contact(alice.id)
    await bob_c.remove_contact(alice.id)
    assert await alice_c.contacts() == []
    assert await bob_c.contacts() == []
    with pytest.raises(ApiError) as error:
        await alice_c.remove_contact(carol.id)
    assert (error.value.status, error.value.code) == (404, "contact_not_found")
    # A request not yet answered can be withdrawn the same way.
    await alice_c.add_contact(carol.id)
    await alice_c.remove_contact(carol.id)
    assert await alice_c.contacts() == []


async def test_contact_bad_targets(server) -> None:
    """Yourself is 409 self_contact; unknown users and other apps' users are 404."""
    app, alice, alice_c = await server.new_client()
    _, far, _ = await server.new_client()
    with pytest.raises(ApiError) as error:
        await alice_c.add_contact(alice.id)
    assert (error.value.status, error.value.code) == (409, "self_contact")
    for user_id in (far.id, 2**31 - 1):
        with pytest.raises(ApiError) as error:
            await alice_c.add_contact(user_id)
        assert (error.value.status, error.value.code) == (404, "user_not_found")
    assert await alice_c.contacts() == []


async def test_contact_limit(server) -> None:
    """With a limit of 2, a third contact is 422 limit_reached, on either side."""
    assert server.settings.max_contacts == 300
    app, alice, alice_c = await server.new_client()
    users = [await server.new_client(app) for _ in range(4)]
    original = server.core.settings
    server.core.settings = original.with_changes(max_contacts=2)
    try:
        await alice_c.add_contact(users[0][1].id)
        await alice_c.add_contact(users[1][1].id)
        with pytest.raises(ApiError) as error:
            await alice_c.add_contact(users[2][1].id)
        assert (error.value.status, error.value.code) == (422, "limit_reached")
        # Someone asking a full list is refused too.
        with pytest.raises(ApiError) as error:
            await users[3][2].add_contact(alice.id)
        assert (error.value.status, error.value.code) == (422, "limit_reached")
        # Confirming an existing request does not need room.
        assert (await users[0][2].add_contact(alice.id)).status == "confirmed"
    finally:
        server.core.settings = original
    assert set(_statuses(await alice_c.contacts())) == {users[0][1].id, users[1][1].id}
    assert await users[2][2].contacts() == []
    assert await users[3][2].contacts() == []


async def test_presence_offline_with_last_activity(server) -> None:
    """A user without a live connection is offline, with the time of their last activity."""
    app, _alice, alice_c = await server.new_client()
    before = server.core.now_ms()
    _, bob, _bob_c = await server.new_client(app)
    after = server.core.now_ms()
    presence = await alice_c.presence(bob.id)
    assert presence.user_id == bob.id
    assert presence.online is False
    assert before <= presence.last_activity_ms <= after
    with pytest.raises(ApiError) as error:
        await alice_c.presence(2**31 - 1)
    assert (error.value.status, error.value.code) == (404, "user_not_found")


async def test_privacy_lists_names_and_active(server) -> None:
    """Lists are stored by name; one can be active; unknown names are 404."""
    app, _alice, alice_c = await server.new_client()
    _, bob, _ = await server.new_client(app)
    _, carol, _ = await server.new_client(app)
    assert await alice_c.request("GET", "/privacy/lists") == {"names": [], "active": None}
    stored = await alice_c.put_privacy_list("blocked", [{"user_id": bob.id, "action": "deny"}])
    assert stored.name == "blocked" and stored.active is False
    assert [i.user_id for i in stored.items] == [bob.id]
    await alice_c.put_privacy_list("work", [{"user_id": carol.id, "action": "allow"}])
    names = await alice_c.request("GET", "/privacy/lists")
    assert sorted(names["names"]) == ["blocked", "work"] and names["active"] is None
    active = await alice_c.set_active_privacy_list("blocked")
    assert active.active == "blocked"
    got = await alice_c.request("GET", "/privacy/lists/blocked")
    assert got["active"] is True and got["items"][0]["action"] == "deny"
    for method, path, body in (
        ("GET", "/privacy/lists/nope", None),
        ("DELETE", "/privacy/lists/nope", None),
        ("PUT", "/privacy/active", {"name": "nope"}),
    ):
        with pytest.raises(ApiError) as error:
            await alice_c.request(method, path, json=body)
        assert (error.value.status, error.value.code) == (404, "privacy_list_not_found")
    assert (await alice_c.request("GET", "/privacy/lists"))["active"] == "blocked"


async def test_block_refuses_one_to_one_messages_both_ways(server) -> None:
    """With a deny rule active, the blocked user's 1-1 messages are 403 blocked, the
    blocker cannot write to them either, and activating no list lifts it."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    await bob_c.send_message(dialog.id, "before")
    await alice_c.block(bob.id)
    with pytest.raises(ApiError) as error:
        await bob_c.send_message(dialog.id, "let me in")
    assert (error.value.status, error.value.code) == (403, "blocked")
    with pytest.raises(ApiError) as error:
        await alice_c.send_message(dialog.id, "one last word")
    assert (error.value.status, error.value.code) == (403, "blocked")
    assert [m.body for m in (await alice_c.history(dialog.id)).items] == ["before"]
    unblocked = await alice_c.set_active_privacy_list(None)
    assert (unblocked.names, unblocked.active) == (["blocked"], None)
    await bob_c.send_message(dialog.id, "thanks")
    await alice_c.send_message(dialog.id, "welcome")
    bodies = [m.body for m in (await bob_c.history(dialog.id)).items]
    assert bodies == ["before", "thanks", "welcome"]


async def test_block_applies_to_a_new_private_dialog_too(server) -> None:
    """Blocking is about the person, not one dialog: a fresh private dialog is refused too,
    while others can still write."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, _carol, carol_c = await server.new_client(app)
    await alice_c.block(bob.id)
    dialog = await bob_c.create_dialog("private", [alice.id])
    with pytest.raises(ApiError) as error:
        await bob_c.send_message(dialog.id, "hi")
    assert error.value.code == "blocked"
    other = await carol_c.create_dialog("private", [alice.id])
    assert (await carol_c.send_message(other.id, "hi")).seq == 1


async def test_deleting_the_active_list_unblocks(server) -> None:
    """Deleting the active list removes its blocks and leaves no list active."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    await alice_c.block(bob.id, list_name="enemies")
    with pytest.raises(ApiError):
        await bob_c.send_message(dialog.id, "blocked?")
    await alice_c.request("DELETE", "/privacy/lists/enemies")
    assert await alice_c.request("GET", "/privacy/lists") == {"names": [], "active": None}
    assert (await bob_c.send_message(dialog.id, "not any more")).seq == 1


async def test_replacing_the_active_list_updates_blocks(server) -> None:
    """PUT over the active list takes effect at once: dropping the deny rule unblocks."""
    app, alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    await alice_c.block(bob.id)
    with pytest.raises(ApiError):
        await bob_c.send_message(dialog.id, "blocked?")
    replaced = await alice_c.put_privacy_list("blocked", [])
    assert replaced.active is True and replaced.items == []
    assert (await bob_c.send_message(dialog.id, "free")).seq == 1
    # An allow rule before a deny rule for the same user wins (first match).
    await alice_c.put_privacy_list(
        "blocked",
        [
            {"user_id": bob.id, "action": "allow", "order": 1},
            {"user_id": bob.id, "action": "deny", "order": 2},
        ],
    )
    assert (await bob_c.send_message(dialog.id, "still free")).seq == 2


async def test_non_mutual_block_still_lets_the_blocker_write(server) -> None:
    """A deny rule with ``mutual: false`` refuses the blocked user only, not the blocker."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    await alice_c.put_privacy_list(
        "one-way", [{"user_id": bob.id, "action": "deny", "mutual": False}]
    )
    await alice_c.set_active_privacy_list("one-way")
    sent = await alice_c.send_message(dialog.id, "I can still write to you")
    assert sent.id in [m.id for m in (await bob_c.history(dialog.id)).items]
    with pytest.raises(ApiError) as refused:
        await bob_c.send_message(dialog.id, "but you cannot answer")
    assert refused.value.status == 403 and refused.value.code == "blocked"
