"""The canned-reply rules both writers share (admin editor, ``app update``): pure."""

from __future__ import annotations

import pytest

from tidings.admin.settings_forms import canned_changes, canned_rows
from tidings.core.canned_replies import MAX_BODY, MAX_CANNED, MAX_TITLE, check_canned_replies
from tidings.domain.errors import InvalidInput


def test_entries_are_kept_in_order_with_titles_tidied() -> None:
    entries = [{"title": "  On \n it ", "body": " Hi {name} "}, {"title": "B", "body": "b"}]
    assert check_canned_replies(entries) == [
        {"title": "On it", "body": "Hi {name}"},
        {"title": "B", "body": "b"},
    ]
    assert check_canned_replies([]) == []


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({"title": "a", "body": "b"}, "a list of"),
        (["bare string"], "canned reply 1 is not a"),
        ([{"title": "a", "body": "b"}, {"body": "b"}], "canned reply 2 needs a title"),
        ([{"title": "a", "body": "  "}], "canned reply 1 needs a text"),
        ([{"title": "a", "body": 7}], "canned reply 1 needs a text"),
        ([{"title": "x" * (MAX_TITLE + 1), "body": "b"}], f"at most {MAX_TITLE} characters"),
        ([{"title": "t", "body": "x" * (MAX_BODY + 1)}], f"at most {MAX_BODY} characters"),
        ([{"title": "t", "body": "b"}] * (MAX_CANNED + 1), f"at most {MAX_CANNED} canned"),
    ],
)
def test_bad_entries_are_refused_naming_the_entry(entries: object, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_canned_replies(entries)
    assert reason in refused.value.message


def test_limits_themselves_are_accepted() -> None:
    full = [{"title": "x" * MAX_TITLE, "body": "y" * MAX_BODY}] * MAX_CANNED
    assert len(check_canned_replies(full)) == MAX_CANNED


def test_the_editor_form_drops_deleted_and_blank_rows_and_numbers_as_shown() -> None:
    form = {
        "csrf": "x",
        "title_2": "Second",
        "body_2": "two\r\nlines",
        "title_1": "First",
        "body_1": "one",
        "delete_1": "1",
        "title_3": "",
        "body_3": "",
    }
    assert [r["title"] for r in canned_rows(form)] == ["First", "Second", ""]
    assert canned_changes(form, {}) == {
        "config": {"canned_replies": [{"title": "Second", "body": "two\nlines"}]}
    }
    with pytest.raises(InvalidInput) as refused:
        canned_changes({**form, "title_3": "No text"}, {})
    assert refused.value.message == "canned reply 3 needs a text"
    assert canned_changes({"delete_1": "1", "title_1": "a", "body_1": "b"}, {}) == {
        "config": {"canned_replies": None}
    }
