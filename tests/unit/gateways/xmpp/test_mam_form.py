"""XEP-0313 query forms and XEP-0059 sets read into a MAM ``Query`` (pure)."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

import pytest

from tidings.gateways.xmpp.xep_0313.form import MOST, QueryError, read

MAM = "urn:xmpp:mam:2"
RSM = "http://jabber.org/protocol/rsm"


def query(inner: str) -> object:
    return read(fromstring(f'<query xmlns="{MAM}" queryid="q1">{inner}</query>'))


def form(*fields: tuple[str, str]) -> str:
    body = "".join(f'<field var="{v}"><value>{x}</value></field>' for v, x in fields)
    return f'<x xmlns="jabber:x:data" type="submit">{body}</x>'


def test_fields_and_set_are_read() -> None:
    """§4.1 with/start/end (XEP-0082 times, UTC when no zone) and XEP-0059 §2.2 after/max."""
    got = query(
        form(
            ("FORM_TYPE", MAM),
            ("with", "1-2@localhost"),
            ("start", "2024-01-02T03:04:05Z"),
            ("end", "2024-01-02T03:04:06.5"),
        )
        + f'<set xmlns="{RSM}"><max>500</max><after>abc</after></set>'
    )
    assert got.query_id == "q1" and got.with_ == "1-2@localhost"
    assert got.start_ms == 1704164645000 and got.end_ms == 1704164646500
    assert got.max == MOST and got.after == "abc" and not got.backwards


def test_empty_before_asks_for_the_last_page() -> None:
    """XEP-0059 §2.5: ``<before/>`` without an id pages back from the end."""
    got = query(f'<set xmlns="{RSM}"><max>3</max><before/></set>')
    assert got.backwards and got.before_id is None and got.max == 3
    assert query(f'<set xmlns="{RSM}"><before>x</before></set>').before_id == "x"


@pytest.mark.parametrize(
    ("inner", "condition"),
    [
        (form(("start", "last tuesday")), "bad-request"),
        (form(("FORM_TYPE", "urn:xmpp:mam:1")), "bad-request"),
        (form(("urn:example:flavour", "mint")), "feature-not-implemented"),
        (f'<set xmlns="{RSM}"><max>-1</max></set>', "bad-request"),
    ],
)
def test_odd_queries_are_refused_precisely(inner: str, condition: str) -> None:
    """Fields the archive does not filter on are refused, not ignored (a client must
    not take an unfiltered answer for a filtered one)."""
    with pytest.raises(QueryError) as raised:
        query(inner)
    assert raised.value.condition == condition
