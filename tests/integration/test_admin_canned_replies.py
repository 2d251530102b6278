"""Canned replies written where operators work: the admin panel's editor (add, edit,
delete; a refused form changes nothing; CSRF and the tenant boundary as for every
form) and ``tidings app update --canned-replies FILE.json``; the console's composer
offers what was saved.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.processes import cli_env, run_cli, run_cli_json
from tests.integration.test_admin_panel import Admin, admin_of, alert
from tests.integration.test_console_desk import new_desk, open_ticket


def rows(page: str) -> list[tuple[str, str]]:
    """The editor's filled rows as shown: (title, text)."""
    section = re.search(r'<section class="card" id="canned">(.*?)</section>', page, re.S)
    assert section, page
    found = re.findall(
        r'name="title_\d+" value="([^"]*)".*?name="body_\d+"[^>]*>([^<]*)</textarea>',
        section.group(1),
        re.S,
    )
    return [(html.unescape(t), html.unescape(b)) for t, b in found if t or b]


async def test_admin_adds_edits_and_deletes_canned_replies(server: Any) -> None:
    desk = await new_desk(server, "canned")
    admin = await Admin.sign_in(server, await admin_of(server, desk.app))
    phone = desk.phone("Dana")
    try:
        page = (await admin.client.get("/admin/settings")).text
        assert rows(page) == [] and 'name="title_1"' in page  # one empty row to add

        saved = await admin.post(
            "/admin/settings/canned",
            title_1="On it",
            body_1="Hi {name},\r\nwe are on it.",
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/admin/settings?done=canned#canned"
        page = (await admin.client.get(saved.headers["location"])).text
        assert "Canned replies saved." in page
        assert rows(page) == [("On it", "Hi {name},\nwe are on it.")]

        # Edit the first, add two (a blank row is ignored), then delete one.
        saved = await admin.post(
            "/admin/settings/canned",
            title_1="  On   it now ",
            body_1="Hi {name}, on it.",
            title_2="Refund",
            body_2="Your refund is on its way.",
            title_3="",
            body_3="",
            title_4="<script>x</script>",
            body_4="Thanks & bye",
        )
        assert saved.status_code == 303
        app = await server.core.apps.get_app(desk.app.id)
        assert app.config["canned_replies"] == [
            {"title": "On it now", "body": "Hi {name}, on it."},
            {"title": "Refund", "body": "Your refund is on its way."},
            {"title": "<script>x</script>", "body": "Thanks & bye"},
        ]
        page = (await admin.client.get("/admin/settings")).text
        assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page

        saved = await admin.post(
            "/admin/settings/canned",
            title_1="On it now",
            body_1="Hi {name}, on it.",
            title_2="Refund",
            body_2="Your refund is on its way.",
            delete_2="1",
            title_3="<script>x</script>",
            body_3="Thanks & bye",
        )
        assert saved.status_code == 303
        app = await server.core.apps.get_app(desk.app.id)
        assert [e["title"] for e in app.config["canned_replies"]] == [
            "On it now",
            "<script>x</script>",
        ]

        # The console's composer offers them, {name} filled in, escaped.
        ticket_id = await open_ticket(phone, "my order")
        console = (await desk.agent.get(f"/console/tickets/{ticket_id}")).text
        assert '<option value="Hi Dana, on it.">On it now</option>' in console
        assert "&lt;script&gt;x&lt;/script&gt;</option>" in console

        # Deleting every row empties the key; the composer offers nothing.
        saved = await admin.post(
            "/admin/settings/canned",
            title_1="On it now",
            body_1="x",
            delete_1="1",
            title_2="",
            body_2="",
        )
        assert saved.status_code == 303
        app = await server.core.apps.get_app(desk.app.id)
        assert app.config.get("canned_replies") is None
        console = (await desk.agent.get(f"/console/tickets/{ticket_id}")).text
        assert 'id="canned"' not in console
    finally:
        await phone.aclose()
        await admin.aclose()
        await desk.agent.aclose()


async def test_bad_canned_replies_are_refused_and_change_nothing(server: Any) -> None:
    desk = await new_desk(server, "careful canned")
    before = [{"title": "Hello", "body": "Hello {name}"}]
    await server.core.apps.update_app(desk.app.id, config={"canned_replies": before})
    admin = await Admin.sign_in(server, await admin_of(server, desk.app))
    try:
        many = {}
        for n in range(1, 52):
            many[f"title_{n}"], many[f"body_{n}"] = f"t{n}", f"b{n}"
        cases: tuple[tuple[dict[str, str], str], ...] = (
            ({"title_1": "x" * 81, "body_1": "ok"}, "canned reply 1: the title is at most 80"),
            (
                {"title_1": "ok", "body_1": "ok", "title_2": "long", "body_2": "y" * 2001},
                "canned reply 2: the text is at most 2000",
            ),
            ({"title_1": "", "body_1": "no title"}, "canned reply 1 needs a title"),
            (
                {"title_1": "a", "body_1": "b", "delete_2": "1", "title_3": "t", "body_3": " "},
                "canned reply 3 needs a text",
            ),
            (many, "at most 50 canned replies"),
        )
        for form, reason in cases:
            answer = await admin.post("/admin/settings/canned", **form)
            assert answer.status_code == 400, (reason, answer.status_code)
            assert reason in html.unescape(alert(answer)), (reason, alert(answer))
        # The refused form comes back as typed.
        typed = await admin.post("/admin/settings/canned", title_1="", body_1="kept text")
        assert rows(typed.text) == [("", "kept text")]

        # Without this session's form token, or from another site: refused.
        no_token = await admin.client.post(
            "/admin/settings/canned", data={"title_1": "a", "body_1": "b"}
        )
        assert no_token.status_code == 403
        cross_site = await admin.client.post(
            "/admin/settings/canned",
            data={"csrf": admin.csrf, "title_1": "a", "body_1": "b"},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403
        assert (await server.core.apps.get_app(desk.app.id)).config["canned_replies"] == before

        # Another app's admin saves to their own app only.
        other = await new_desk(server, "other canned")
        other_admin = await Admin.sign_in(server, await admin_of(server, other.app))
        saved = await other_admin.post("/admin/settings/canned", title_1="Theirs", body_1="B")
        assert saved.status_code == 303
        await other_admin.aclose()
        await other.agent.aclose()
        assert (await server.core.apps.get_app(desk.app.id)).config["canned_replies"] == before
        theirs = (await server.core.apps.get_app(other.app.id)).config["canned_replies"]
        assert theirs == [{"title": "Theirs", "body": "B"}]
    finally:
        await admin.aclose()
        await desk.agent.aclose()


@pytest.mark.slow
async def test_cli_sets_canned_replies_from_a_file(tmp_path: Path) -> None:
    """``tidings app update APP --canned-replies FILE.json``: checked as the panel
    checks it; a bad file is one error line, exit 1, and changes nothing."""
    env = cli_env(tmp_path)
    app = await run_cli_json(env, "app", "create", "Canned CLI")
    good = tmp_path / "canned.json"
    good.write_text(
        json.dumps([{"title": "On it", "body": "Hi {name}"}, {"title": "Bye", "body": "Bye!"}])
    )
    updated = await run_cli_json(
        env, "app", "update", str(app["app_id"]), "--canned-replies", str(good)
    )
    assert updated["settings"]["canned_replies"] == 2

    for content, reason in (
        ("{not json", "--canned-replies is not JSON"),
        ('{"title": "a", "body": "b"}', "a list of"),
        (json.dumps([{"title": "a" * 81, "body": "b"}]), "canned reply 1: the title is at most"),
        (json.dumps([{"title": f"t{n}", "body": "b"} for n in range(51)]), "at most 50"),
    ):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        code, out, err = await run_cli(
            env, "app", "update", str(app["app_id"]), "--canned-replies", str(bad)
        )
        assert code == 1 and out == "", (content, out)
        assert err.startswith("error: invalid_setting: ") and reason in err, err
        assert err.count("\n") == 1
    code, _out, err = await run_cli(
        env, "app", "update", str(app["app_id"]), "--canned-replies", str(tmp_path / "none.json")
    )
    assert code == 1 and "cannot read" in err
    (listed,) = [a for a in await run_cli_json(env, "app", "list") if a["app_id"] == app["app_id"]]
    assert listed["settings"]["canned_replies"] == 2

    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    cleared = await run_cli_json(
        env, "app", "update", str(app["app_id"]), "--canned-replies", str(empty)
    )
    assert cleared["settings"]["canned_replies"] == 0
