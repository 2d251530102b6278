"""Reading a MAM query (XEP-0313 §5.1) and its RSM set (XEP-0059 §2) into a :class:`Query`.

Pure: it never touches the archive. A field the server does not understand is
refused with ``feature-not-implemented`` (the fields it has are listed by
:func:`fields_form`, "Retrieving form fields"), so a client never takes an
unfiltered answer for a filtered one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, child

NS = "urn:xmpp:mam:2"
DATA = "jabber:x:data"
RSM = "http://jabber.org/protocol/rsm"

#: The page size when the client names none, and the most one page holds.
DEFAULT_MAX = 50
MOST = 100

#: The form fields this archive filters on (§5.1.1); FORM_TYPE aside.
FIELDS = ("with", "start", "end")


class QueryError(ValueError):
    """An RFC 6120 condition and a text for the client."""

    def __init__(self, condition: str, text: str) -> None:
        super().__init__(text)
        self.condition = condition
        self.text = text


@dataclass(frozen=True, slots=True)
class Query:
    query_id: str | None
    with_: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    max: int = DEFAULT_MAX
    after: str | None = None
    #: ``before`` was given; ``before_id`` None then means "the last page" (XEP-0059 §2.5).
    backwards: bool = False
    before_id: str | None = None


def read(query: Element) -> Query:
    values: dict[str, str] = {}
    form = child(query, DATA, "x")
    if form is not None:
        for field in form.findall(f"{{{DATA}}}field"):
            var = field.get("var") or ""
            value = field.findtext(f"{{{DATA}}}value") or ""
            if var == "FORM_TYPE":
                if value and value != NS:
                    raise QueryError("bad-request", f"FORM_TYPE is {NS}")
                continue
            if var not in FIELDS:
                raise QueryError("feature-not-implemented", f"no field {var!r}")
            if value:
                values[var] = value
    rsm = child(query, RSM, "set")
    size, after, backwards, before_id = DEFAULT_MAX, None, False, None
    if rsm is not None:
        text = (rsm.findtext(f"{{{RSM}}}max") or "").strip()
        if text:
            if not text.isdigit():
                raise QueryError("bad-request", "<max/> is a number")
            size = min(MOST, int(text))
        after = (rsm.findtext(f"{{{RSM}}}after") or "").strip() or None
        before = child(rsm, RSM, "before")
        if before is not None:
            backwards = True
            before_id = (before.text or "").strip() or None
    return Query(
        query_id=query.get("queryid"),
        with_=values.get("with"),
        start_ms=_ms(values.get("start"), "start"),
        end_ms=_ms(values.get("end"), "end"),
        max=size,
        after=after,
        backwards=backwards,
        before_id=before_id,
    )


def _ms(text: str | None, name: str) -> int | None:
    """XEP-0082 date-time -> unix ms."""
    if text is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise QueryError("bad-request", f"{name} is an XEP-0082 date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def fields_form() -> Element:
    """ "Retrieving form fields": what a query may filter on."""
    return E(
        NS,
        "query",
        {},
        E(
            DATA,
            "x",
            {"type": "form"},
            E(
                DATA,
                "field",
                {"var": "FORM_TYPE", "type": "hidden"},
                E(DATA, "value", text=NS),
            ),
            E(DATA, "field", {"var": "with", "type": "jid-single"}),
            E(DATA, "field", {"var": "start", "type": "text-single"}),
            E(DATA, "field", {"var": "end", "type": "text-single"}),
        ),
    )
