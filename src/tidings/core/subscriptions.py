"""RFC 6121 §3 and Appendix A: the subscription state of one direction of a contact pair.

A row of ``contacts`` is what ``user_id`` sees of ``contact_id``: whether it gets the
contact's presence (``to``), whether the contact gets its presence (``from``), and
the requests under way (pending out: it asked; pending in: it was asked). The other
user's row is always the mirror image, so both are written together.

The row's ``status`` string keeps the three names the contact-list API always had
(``confirmed`` = both, ``requested`` = none + pending out, ``pending`` = none +
pending in) and names the other six states after the RFC. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

_NAMES = {
    # (to, from, out, in) -> status
    (True, True, False, False): "confirmed",
    (True, False, False, False): "to",
    (True, False, False, True): "to+in",
    (False, True, False, False): "from",
    (False, True, True, False): "from+out",
    (False, False, False, False): "none",
    (False, False, True, False): "requested",
    (False, False, False, True): "pending",
    (False, False, True, True): "in+out",
}
_STATES = {name: key for key, name in _NAMES.items()}


@dataclass(frozen=True, slots=True)
class Sub:
    to: bool = False
    from_: bool = False
    out: bool = False
    in_: bool = False

    @classmethod
    def parse(cls, status: str | None) -> Sub:
        if status is None:
            return cls()
        to, from_, out, in_ = _STATES.get(status, (False, False, False, False))
        return cls(to, from_, out, in_)

    @property
    def status(self) -> str:
        return _NAMES[(self.to, self.from_, self.out and not self.to, self.in_ and not self.from_)]

    @property
    def subscription(self) -> str:
        """The roster item's ``subscription`` attribute (RFC 6121 §2.1.2.5)."""
        if self.to and self.from_:
            return "both"
        return "to" if self.to else "from" if self.from_ else "none"

    @property
    def is_none(self) -> bool:
        return not (self.to or self.from_ or self.out or self.in_)

    def mirror(self) -> Sub:
        return Sub(to=self.from_, from_=self.to, out=self.in_, in_=self.out)


def subscribe(mine: Sub) -> Sub:
    """§3.1.2: I ask for the contact's presence (no change if I have it already)."""
    return mine if mine.to else replace(mine, out=True)


def approve(mine: Sub) -> Sub | None:
    """§3.1.5: I approve the contact's pending request; None when none is pending."""
    return replace(mine, in_=False, from_=True) if mine.in_ else None


def cancel_to(mine: Sub) -> Sub | None:
    """§3.3 ``unsubscribe``: I stop (or stop asking for) the contact's presence."""
    return replace(mine, to=False, out=False) if mine.to or mine.out else None


def cancel_from(mine: Sub) -> Sub | None:
    """§3.2 ``unsubscribed``: the contact stops (or is refused) getting my presence."""
    return replace(mine, from_=False, in_=False) if mine.from_ or mine.in_ else None


def mutual() -> Sub:
    """The contact-list API's "confirmed": each has the other's presence."""
    return Sub(to=True, from_=True)
