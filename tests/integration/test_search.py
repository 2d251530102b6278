"""Global search: messages of your own dialogs only, users of your app, group dialogs
by name, the dialog_ids filter, and empty queries."""

from __future__ import annotations

import secrets

import pytest

from tidings.client.rest import ApiError


def _word(prefix: str = "word") -> str:
    """A word no other test uses, so results are exactly what this test made."""
    return f"{prefix}{secrets.token_hex(5)}"


async def test_messages_only_from_your_dialogs(server) -> None:
    """A word finds the message of a dialog you are in, not the same word in a dialog
    of other people."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, _carol, carol_c = await server.new_client(app)
    _, dave, _ = await server.new_client(app)
    word = _word("quokka")
    ours = await alice_c.create_dialog("private", [bob.id])
    theirs = await carol_c.create_dialog("private", [dave.id])
    mine = await alice_c.send_message(ours.id, f"look at the {word} today")
    await carol_c.send_message(theirs.id, f"another {word} here")
    await alice_c.send_message(ours.id, "nothing to see")
    for client in (alice_c, bob_c):
        found = await client.search(word)
        assert [m.id for m in found.messages] == [mine.id]
        assert found.messages[0].dialog_id == ours.id
        assert found.messages[0].body == f"look at the {word} today"
    assert [m.dialog_id for m in (await carol_c.search(word)).messages] == [theirs.id]


async def test_word_matching_is_by_whole_words_and_case_insensitive(server) -> None:
    """Full-text search matches words regardless of case, not arbitrary substrings of
    other words, and several words must all appear."""
    app, _alice, alice_c = await server.new_client()
    _, bob, _ = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    word, other = _word("lemur"), _word("otter")
    both = await alice_c.send_message(dialog.id, f"{word.upper()} and {other}")
    only = await alice_c.send_message(dialog.id, f"just {word}")
    found = {m.id for m in (await alice_c.search(word)).messages}
    assert found == {both.id, only.id}
    assert [m.id for m in (await alice_c.search(f"{word} {other}")).messages] == [both.id]
    assert (await alice_c.search(word[:-3])).messages == []


async def test_deleted_and_cleared_messages_are_not_found(server) -> None:
    """A message deleted for everyone, or history cleared by leaving, is not found."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    word = _word("gone")
    sent = await alice_c.send_message(dialog.id, f"{word} soon")
    kept = await alice_c.send_message(dialog.id, f"{word} stays")
    await alice_c.delete_message(dialog.id, sent.id, for_everyone=True)
    assert [m.id for m in (await bob_c.search(word)).messages] == [kept.id]
    await bob_c.delete_dialog(dialog.id)  # hides the private dialog and clears it
    assert (await bob_c.search(word)).messages == []
    assert [m.id for m in (await alice_c.search(word)).messages] == [kept.id]


async def test_users_by_login(server) -> None:
    """Users are found by part of their login or name, only within your app."""
    app, _alice, alice_c = await server.new_client()
    tag = secrets.token_hex(4)
    _, wanted, _ = await server.new_client(app, login=f"zed-{tag}", full_name="Zed")
    _, named, _ = await server.new_client(app, full_name=f"Name {tag}")
    await server.new_client(login=f"zed-{tag}")  # the same login in another app
    found = await alice_c.search(f"zed-{tag}")
    assert [u.id for u in found.users] == [wanted.id]
    assert found.users[0].login == f"zed-{tag}"
    assert {u.id for u in (await alice_c.search(tag)).users} == {wanted.id, named.id}


async def test_group_dialogs_by_name(server) -> None:
    """Your group dialogs are found by name (or description); others' are not."""
    app, _alice, alice_c = await server.new_client()
    _, bob, bob_c = await server.new_client(app)
    _, _carol, carol_c = await server.new_client(app)
    name = _word("Narwhal")
    group = await alice_c.create_dialog("group", [bob.id], name=f"Project {name}")
    described = await alice_c.create_dialog(
        "group", [], name="Misc", description=f"all about {name.lower()}"
    )
    await carol_c.create_dialog("group", [], name=f"Carol's {name}")
    found = await alice_c.search(name.lower())
    assert {d.id for d in found.dialogs} == {group.id, described.id}
    assert [d.id for d in (await bob_c.search(name.upper())).dialogs] == [group.id]
    assert [d.name for d in (await carol_c.search(name)).dialogs] == [f"Carol's {name}"]


async def test_dialog_ids_filter(server) -> None:
    """dialog_ids narrows message results to those dialogs."""
    app, _alice, alice_c = await server.new_client()
    _, bob, _ = await server.new_client(app)
    _, carol, _ = await server.new_client(app)
    word = _word("filter")
    first = await alice_c.create_dialog("private", [bob.id])
    second = await alice_c.create_dialog("group", [carol.id], name="second")
    in_first = await alice_c.send_message(first.id, f"{word} one")
    in_second = await alice_c.send_message(second.id, f"{word} two")
    everywhere = {m.id for m in (await alice_c.search(word)).messages}
    assert everywhere == {in_first.id, in_second.id}
    only_first = await alice_c.search(word, dialog_ids=first.id)
    assert [m.id for m in only_first.messages] == [in_first.id]
    both = await alice_c.search(word, dialog_ids=f"{first.id},{second.id}")
    assert {m.id for m in both.messages} == everywhere
    with pytest.raises(ApiError) as error:
        await alice_c.search(word, dialog_ids="not-an-id")
    assert (error.value.status, error.value.code) == (400, "invalid_input")


async def test_limit_caps_each_kind(server) -> None:
    """limit caps the number of messages returned, newest first."""
    app, _alice, alice_c = await server.new_client()
    _, bob, _ = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    word = _word("many")
    sent = [await alice_c.send_message(dialog.id, f"{word} {i}") for i in range(5)]
    found = await alice_c.search(word, limit=3)
    assert len(found.messages) == 3
    assert {m.id for m in found.messages} <= {m.id for m in sent}


@pytest.mark.parametrize("q", ["", "   "])
async def test_empty_query(server, q: str) -> None:
    """An empty or blank query answers 400 invalid_input."""
    _app, _user, client = await server.new_client()
    with pytest.raises(ApiError) as error:
        await client.search(q)
    assert (error.value.status, error.value.code) == (400, "invalid_input")


async def test_query_that_looks_like_syntax(server) -> None:
    """Quotes, operators and punctuation are searched as text, never a server error."""
    app, _alice, alice_c = await server.new_client()
    _, bob, _ = await server.new_client(app)
    dialog = await alice_c.create_dialog("private", [bob.id])
    word = _word("quote")
    sent = await alice_c.send_message(dialog.id, f'he said "{word}" twice')
    for q in (f'"{word}"', f"{word} OR", 'NEAR("a" "b")', "a* AND -b", '"', "%_\\"):
        result = await alice_c.search(q)
        assert set(result.model_dump()) == {"dialogs", "messages", "users"}
    assert [m.id for m in (await alice_c.search(f'"{word}"')).messages] == [sent.id]
