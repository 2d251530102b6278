"""RFC 6121 Appendix A: the subscription states and their transitions, one direction
at a time, with the other user's row always the mirror image."""

from __future__ import annotations

import itertools

import pytest

from tidings.core.subscriptions import Sub, approve, cancel_from, cancel_to, mutual, subscribe

#: Every state of Appendix A: (to, from, pending out, pending in).
STATES = [
    Sub(to, from_, out, in_)
    for to, from_, out, in_ in itertools.product((False, True), repeat=4)
    if not (to and out) and not (from_ and in_)
]


def test_nine_states_have_distinct_names_that_round_trip() -> None:
    """Appendix A.1 lists nine states; the contact-list API's three names are kept."""
    assert len(STATES) == 9
    assert len({s.status for s in STATES}) == 9
    for state in STATES:
        assert Sub.parse(state.status) == state
    assert mutual().status == "confirmed"
    assert Sub(out=True).status == "requested"
    assert Sub(in_=True).status == "pending"


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.status)
def test_mirror_is_an_involution(state: Sub) -> None:
    assert state.mirror().mirror() == state
    assert state.mirror().to == state.from_ and state.mirror().out == state.in_


def test_request_then_approval() -> None:
    """§3.1: subscribe sets pending out (and in, on the contact); subscribed turns it
    into to/from; a second round trip the other way makes both."""
    mine = subscribe(Sub())
    assert mine.status == "requested" and mine.mirror().status == "pending"
    theirs = approve(mine.mirror())
    assert theirs is not None and theirs.status == "from"
    mine = theirs.mirror()
    assert (mine.status, mine.subscription) == ("to", "to")
    mine = approve(subscribe(theirs).mirror())
    assert mine is not None and mine.subscription == "both"


def test_no_op_transitions() -> None:
    """Appendix A.2/A.3: an approval without a request, a subscribe to what one has,
    a cancellation of nothing: no state change (the stanza is ignored)."""
    assert approve(Sub()) is None
    assert subscribe(Sub(to=True)) == Sub(to=True)
    assert cancel_to(Sub(from_=True)) is None
    assert cancel_from(Sub(to=True)) is None


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.status)
def test_cancellations_leave_the_other_direction(state: Sub) -> None:
    """§3.2/§3.3: unsubscribed ends only ``from``/pending in; unsubscribe only
    ``to``/pending out."""
    after = cancel_from(state)
    if after is not None:
        assert (after.to, after.out, after.from_, after.in_) == (state.to, state.out, False, False)
    after = cancel_to(state)
    if after is not None:
        assert (after.from_, after.in_, after.to, after.out) == (
            state.from_,
            state.in_,
            False,
            False,
        )
