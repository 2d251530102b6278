"""What a client confirmed reading: XEP-0198 §4 acks and XEP-0199 §4.2 pings; no sockets."""

from __future__ import annotations

from tidings.gateways.xmpp import confirmations
from tidings.gateways.xmpp.confirmations import Confirmations
from tidings.gateways.xmpp.xmlstream import StreamFooter, XmlStreamParser


def test_a_ping_answer_confirms_what_was_written_before_the_ping() -> None:
    """XEP-0199 §4.2: the client answers in stream order, so the answer covers earlier writes."""
    books: Confirmations[str] = Confirmations()
    books.wrote("m1")
    first = books.ping()
    books.wrote("m2")
    second = books.ping()
    books.wrote("m3")
    assert books.answered("someone-elses-iq") == []
    assert books.answered(second) == ["m1", "m2"]
    assert books.answered(first) == []  # overtaken: nothing left to confirm
    assert len(books) == 1
    assert books.rest() == ["m3"]
    assert len(books) == 0


def test_an_ack_confirms_the_stanzas_its_h_counts() -> None:
    """XEP-0198 §4: h is the number of stanzas handled; messages before <enable/> go first."""
    books: Confirmations[str] = Confirmations()
    books.wrote("before-enable")
    books.wrote("m1", sm_count=1)
    books.wrote("m3", sm_count=3)  # stanza 2 was an iq result, not a message
    assert books.acked(0) == ["before-enable"]
    assert books.acked(2) == ["m1"]
    assert books.acked(2) == []
    assert books.acked(3) == ["m3"]


def test_acks_wrap_at_two_to_the_32() -> None:
    books: Confirmations[str] = Confirmations()
    books.wrote("last", sm_count=2**32 - 1)
    books.wrote("wrapped", sm_count=0)
    assert books.acked(2**32 - 1) == ["last"]
    assert books.acked(0) == ["wrapped"]


def test_pending_and_pings_are_bounded() -> None:
    books: Confirmations[int] = Confirmations()
    for n in range(confirmations.MAX_PENDING + 3):
        books.wrote(n)
    assert len(books) == confirmations.MAX_PENDING
    assert books.forgotten == 3
    ids = [books.ping() for _ in range(confirmations.MAX_PINGS + 5)]
    assert books.answered(ids[0]) == []  # forgotten; a later answer covers as much
    assert len(books.answered(ids[-1])) == confirmations.MAX_PENDING


def test_bytes_after_the_closing_tag_leave_the_close_clean() -> None:
    """RFC 6120 §4.4: nothing may follow </stream:stream>; what does is dropped, not an error.

    slixmpp writes its closing tag directly but queued iq answers after it.
    """
    parser = XmlStreamParser(stream_root=True)
    parser.feed(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
        b" to='localhost' version='1.0'>"
    )
    items = parser.feed(b"</stream:stream><iq type='result' id='dlv-2'/>")
    assert [type(item) for item in items] == [StreamFooter]
    assert parser.feed(b"<more/>") == []
