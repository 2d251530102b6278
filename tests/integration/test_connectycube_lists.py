"""ConnectyCube list queries past 1,000 rows (connectycube-wire §4.2 ``users.getV2``,
§5.2 ``dialog.list``): the database filters, counts, sorts and pages, so ``count=1``
is exact, ``limit``/``skip`` pages walk every row once and ``sort_asc``/``sort_desc``
order the whole result, not one page. Driven over HTTP as the SDK encodes queries,
on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.test_connectycube_rest import Cube
from tidings.core.passwords import hash_password
from tidings.domain.ids import new_id
from tidings.store import apps as users_store
from tidings.store import dialogs as dialogs_store

DIALOGS = 1100
USERS = 1100
PAGE = 100


async def _ok(client: Cube, path: str, query: str = "") -> Any:
    response = await client.get(path, query)
    assert response.status_code == 200, response.text
    return response.json()


def _seconds(iso: str) -> int:
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


async def _walk(client: Cube, path: str, query: str, skip_key: str) -> list[dict[str, Any]]:
    """Every page of a list, ``PAGE`` at a time; each page must report the same total."""
    items: list[dict[str, Any]] = []
    totals = set()
    while True:
        sep = "&" if query else ""
        body = await _ok(client, path, f"{query}{sep}limit={PAGE}&{skip_key}={len(items)}")
        totals.add(body["total_entries"])
        items.extend(body["items"])
        if len(body["items"]) < PAGE:
            break
    assert len(totals) == 1 and totals.pop() == len(items)
    return items


def _ordered(values: list[Any], descending: bool) -> bool:
    """Non-NULL values in order, then every NULL (NULLs last in both directions)."""
    present = [v for v in values if v is not None]
    if values[: len(present)] != present:
        return False
    pairs = zip(present, present[1:], strict=False)
    return all((a >= b) if descending else (a <= b) for a, b in pairs)


# -- dialogs ------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def many_dialogs(server) -> AsyncIterator[tuple[Cube, list[dict[str, Any]]]]:
    """``DIALOGS`` dialogs of alice's: every fourth public, the rest groups with bob, a
    shuffled third with a last message. Written through the store in one transaction
    (1,100 creations over REST take about 40 s on PostgreSQL here), with created,
    updated and last-message times whole seconds apart in independent shuffled orders,
    so that every sort has one right answer. Yields alice and every dialog as
    ``dialog.list`` shows them; made once per backend."""
    app, alice_user, token = await server.new_user()
    _app, bob, _bob_token = await server.new_user(app)
    rng = random.Random(12)
    created, updated, sent = (rng.sample(range(DIALOGS), DIALOGS) for _ in range(3))
    talked = set(rng.sample(range(DIALOGS), DIALOGS // 3))
    base = 1_700_000_000_000
    async with server.core.db.transaction() as conn:
        for i in range(DIALOGS):
            dialog_id = new_id()
            kind = "group" if i % 4 else "public"
            last = (
                {
                    "last_message_id": new_id(),
                    "last_message_text": f"hello {i}",
                    "last_message_user_id": bob.id,
                    "last_message_ms": base + sent[i] * 1000 + rng.randrange(1000),
                }
                if i in talked
                else {}
            )
            await dialogs_store.insert_dialog(
                conn,
                id=dialog_id,
                app_id=app.id,
                type=kind,
                name=f"room-{i:04d}",
                owner_id=alice_user.id,
                last_seq=0,
                created_ms=base + created[i] * 1000 + rng.randrange(1000),
                updated_ms=base + updated[i] * 1000 + rng.randrange(1000),
                **last,
            )
            members = [(alice_user.id, "owner")] + ([(bob.id, "member")] if i % 4 else [])
            await dialogs_store.insert_members(conn, app.id, dialog_id, members, base)
    alice = Cube(server, token)
    yield alice, await _walk(alice, "/chat/Dialog.json", "", "skip")
    await alice.aclose()


def _exact(
    items: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any], desc: bool
) -> list[str]:
    """The one right order: by value (NULLs last), ties on the id, in one direction."""
    present = sorted(
        (d for d in items if value(d) is not None), key=lambda d: (value(d), d["_id"]), reverse=desc
    )
    absent = sorted((d for d in items if value(d) is None), key=lambda d: d["_id"], reverse=desc)
    return [d["_id"] for d in present + absent]


async def test_dialog_count_paging_and_sorting_past_a_thousand(many_dialogs) -> None:
    """§5.2 ``dialog.list``: with 1,100 dialogs ``count=1`` and ``total_entries`` are
    exact, ``limit``/``skip`` pages return every dialog once, and ``sort_asc``/
    ``sort_desc`` on ``last_message_date_sent``, ``created_at`` and ``updated_at`` order
    the whole list (NULLs last), not each page."""
    alice, walked = many_dialogs
    ids = {d["_id"] for d in walked}
    assert (await _ok(alice, "/chat/Dialog.json", "count=1")) == {"items": {"count": DIALOGS}}
    assert len(walked) == DIALOGS and len(ids) == DIALOGS
    activity = [d["last_message_date_sent"] or _seconds(d["created_at"]) for d in walked]
    assert _ordered(activity, descending=True)  # the natural order: newest activity first
    print(f"dialogs: {DIALOGS} made, {len(walked)} walked in pages of {PAGE}")

    for field, value in (
        ("last_message_date_sent", lambda d: d["last_message_date_sent"]),
        ("created_at", lambda d: _seconds(d["created_at"])),
        ("updated_at", lambda d: _seconds(d["updated_at"])),
    ):
        for key in ("sort_asc", "sort_desc"):
            items = await _walk(alice, "/chat/Dialog.json", f"{key}={field}", "skip")
            got = [d["_id"] for d in items]
            assert got == _exact(walked, value, key == "sort_desc"), (field, key)
    with_messages = sum(1 for d in walked if d["last_message_date_sent"] is not None)
    assert with_messages == DIALOGS // 3
    print(f"dialogs: {with_messages} with messages; 6 sorted walks in the exact order")


async def test_dialog_filters_combine_and_count(many_dialogs) -> None:
    """§5.2 field filters (``type[in]``, ``name[start_with]``/``[ctn]``, ``_id[in]``/
    ``[nin]``, ``created_at``/``last_message_date_sent`` ``[gt]``/``[lte]``) all hold at
    once; ``count=1`` and ``total_entries`` equal the number the filters select; an
    unknown field, operator or sort field is a 422 in ConnectyCube's error shape."""
    alice, every = many_dialogs
    picked = [d["_id"] for d in every[::7]]
    middle = sorted(_seconds(d["created_at"]) for d in every)[DIALOGS // 2]
    sent = sorted(d["last_message_date_sent"] for d in every if d["last_message_date_sent"])
    sent_mid = sent[len(sent) // 2]

    cases: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
        ("type=4", lambda d: d["type"] == 4),
        ("type[in]=2%2C4&name[start_with]=room-05", lambda d: d["name"].startswith("room-05")),
        ("type[in]=2&name[ctn]=M-1", lambda d: d["type"] == 2 and "m-1" in d["name"]),
        (f"_id[in]={'%2C'.join(picked)}&type=2", lambda d: d["_id"] in picked and d["type"] == 2),
        (f"_id[nin]={'%2C'.join(picked)}", lambda d: d["_id"] not in picked),
        (
            f"created_at[gt]={middle}&type=4",
            lambda d: _seconds(d["created_at"]) > middle and d["type"] == 4,
        ),
        (
            f"last_message_date_sent[lte]={sent_mid}&name[ctn]=3",
            lambda d: (
                d["last_message_date_sent"] is not None
                and d["last_message_date_sent"] <= sent_mid
                and "3" in d["name"]
            ),
        ),
    ]
    for query, wanted in cases:
        expected = {d["_id"] for d in every if wanted(d)}
        counted = await _ok(alice, "/chat/Dialog.json", f"count=1&{query}")
        assert counted == {"items": {"count": len(expected)}}, query
        items = await _walk(alice, "/chat/Dialog.json", f"{query}&sort_asc=created_at", "skip")
        assert {d["_id"] for d in items} == expected and len(items) == len(expected), query
        print(f"dialogs: {query[:60]!r} selects {len(expected)}")
    assert len({d["_id"] for d in every if d["type"] == 4}) == DIALOGS // 4

    for query, field in (
        ("bogus=1", "bogus"),
        ("name[all]=x", "name"),
        ("sort_asc=occupants_ids", "sort_asc"),
        ("created_at[gt]=yesterday", "created_at"),
        ("type[in]=9", "type"),
    ):
        response = await alice.get("/chat/Dialog.json", query)
        assert response.status_code == 422, (query, response.text)
        assert list(response.json()["errors"]) == [field], query


# -- users --------------------------------------------------------------------------

TAGS = ("red", "green", "blue", "gold")


@pytest.fixture(scope="module")
async def many_users(server) -> AsyncIterator[tuple[Cube, list[dict[str, Any]]]]:
    """``USERS`` users in one app, written through the store in one transaction (a
    password hash each over REST would take minutes): created times one second apart
    in shuffled order, tags, phones for some. Yields the reader and every user as
    ``users.getV2`` shows them; made once per backend."""
    app, reader, token = await server.new_user(login="reader")
    password_hash = await hash_password("correct horse")
    rng = random.Random(7)
    seconds = list(range(USERS))
    rng.shuffle(seconds)
    base = 1_700_000_000_000
    async with server.core.db.transaction() as conn:
        for k in range(USERS):
            tags = [t for t in TAGS if rng.random() < 0.4]
            extras: dict[str, Any] = {"user_tags": ",".join(tags) or None}
            if k % 5 == 0:
                extras["phone"] = f"+1555{k:04d}"
            await users_store.insert_user(
                conn,
                app_id=app.id,
                login=f"u{k:05d}",
                password_hash=password_hash,
                full_name=f"Person {rng.choice(['Ann', 'Bo', 'Cy'])} {k}",
                email=None,
                role="user",
                custom_data={"connectycube": extras},
                created_ms=base + seconds[k] * 1000 + rng.randrange(1000),
                updated_ms=base + (USERS - seconds[k]) * 1000,
            )
    client = Cube(server, token)
    every = await _walk(client, "/users/v2.json", "", "offset")
    assert reader.id in {u["id"] for u in every}
    yield client, every
    await client.aclose()


async def test_user_count_paging_and_sorting_past_a_thousand(many_users) -> None:
    """§4.2 ``users.getV2``: with 1,100 users ``total_entries`` is exact, ``limit``/
    ``offset`` pages return every user once, and ``sort_asc``/``sort_desc`` on ``id``,
    ``login``, ``created_at`` and ``updated_at`` give the exact order of the whole list."""
    client, every = many_users
    assert len(every) == USERS + 1 and len({u["id"] for u in every}) == USERS + 1
    assert [u["id"] for u in every] == sorted(u["id"] for u in every)  # natural order: id
    print(f"users: {len(every)} walked in pages of {PAGE}")
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "id": lambda u: u["id"],
        "login": lambda u: u["login"],
        "created_at": lambda u: (_seconds(u["created_at"]), u["id"]),
        "updated_at": lambda u: (_seconds(u["updated_at"]), u["id"]),
    }
    for field, key in keys.items():
        for direction in ("sort_asc", "sort_desc"):
            items = await _walk(client, "/users/v2.json", f"{direction}={field}", "offset")
            expected = sorted(every, key=key, reverse=direction == "sort_desc")
            assert [u["id"] for u in items] == [u["id"] for u in expected], (field, direction)
    print("users: 8 sorted walks match the exact expected order")


async def test_user_filters_combine_and_count(many_users) -> None:
    """§4.2 filters ``field``, ``field[in|nin|gt|lt|gte|lte|start_with]``, tags with
    ``[in]``/``[all]``/``[nin]``, and the profile extras (``phone``) combine; the total
    equals the selection; unknown fields and operators are a 422."""
    client, every = many_users
    ids = sorted(u["id"] for u in every)
    low, high = ids[200], ids[900]
    mid = sorted(_seconds(u["created_at"]) for u in every)[USERS // 2]

    def tags(u: dict[str, Any]) -> set[str]:
        return set((u["user_tags"] or "").split(",")) - {""}

    cases: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
        (f"id[gt]={low}&id[lte]={high}", lambda u: low < u["id"] <= high),
        ("user_tags[in][]=red&user_tags[in][]=gold", lambda u: bool(tags(u) & {"red", "gold"})),
        (
            "user_tags[all][]=red&user_tags[all][]=blue&login[start_with]=u00",
            lambda u: {"red", "blue"} <= tags(u) and u["login"].startswith("u00"),
        ),
        ("user_tags[nin][]=green", lambda u: "green" not in tags(u)),
        (
            f"created_at[gte]={mid}&full_name[ctn]=ann",
            lambda u: _seconds(u["created_at"]) >= mid and "ann" in (u["full_name"] or "").lower(),
        ),
        ("phone[start_with]=%2B15550", lambda u: (u["phone"] or "").startswith("+15550")),
        (
            f"id[in][]={ids[5]}&id[in][]={ids[6]}&id[in][]={ids[700]}&login[nin][]=u00005",
            lambda u: u["id"] in (ids[5], ids[6], ids[700]) and u["login"] != "u00005",
        ),
    ]
    for query, wanted in cases:
        expected = [u["id"] for u in every if wanted(u)]
        items = await _walk(client, "/users/v2.json", f"{query}&sort_asc=id", "offset")
        assert [u["id"] for u in items] == expected, query
        print(f"users: {query[:60]!r} selects {len(expected)}")
    one = await _ok(client, "/users/by_login.json", "login=u01000")
    assert one["user"]["login"] == "u01000"
    v1 = await _ok(client, "/users.json", "page=12&per_page=100")
    assert v1["total_entries"] == USERS + 1 and len(v1["items"]) == 1

    for query, field in (
        ("password=x", "password"),
        ("login[all]=a", "login"),
        ("id[in][]=one", "id"),
        ("sort_desc=user_tags", "sort_desc"),
    ):
        response = await client.get("/users/v2.json", query)
        assert response.status_code == 422, (query, response.text)
        assert list(response.json()["errors"]) == [field], query
