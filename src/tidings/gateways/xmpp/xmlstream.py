"""Incremental XML for XMPP (RFC 6120 §11): bytes in, complete top-level elements out.

expat parses whatever arrives, in pieces, and this module turns its callbacks
into ``xml.etree.ElementTree.Element`` trees, one per stanza. RFC 6120 §11.1
forbids DTDs, comments, processing instructions and entity references other than
the five predefined ones, so a ``<!DOCTYPE`` (the only door to a billion-laughs
bomb) is refused before any entity is declared. Depth and the size of one stanza
are bounded so a peer cannot make us build an unbounded tree.

With ``stream_root=True`` (TCP) the first element is the ``<stream:stream>``
wrapper and its children are the stanzas; with ``False`` (WebSocket, RFC 7395)
every top-level element is a stanza of its own (``<open/>`` and ``<close/>`` too).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.parsers import expat

#: Separator expat puts between a namespace and a local name ("ns local").
_SEP = "\x01"
MAX_DEPTH = 32
#: Large enough for WebRTC SDPs in signalling messages (connectycube-wire §10.8).
MAX_STANZA_BYTES = 256 * 1024
#: Data is fed in slices so the size limit trips before a huge chunk is parsed whole.
_SLICE = 8192
#: A ``<stream:stream>`` start tag longer than this is not kept, so its parser is never dropped.
_MAX_HEADER = 4096


class XmlStreamError(Exception):
    """The peer broke XML or our limits; ``condition`` is the RFC 6120 §4.9.3 stream error."""

    def __init__(self, condition: str, text: str) -> None:
        super().__init__(f"{condition}: {text}")
        self.condition = condition
        self.text = text


@dataclass(frozen=True, slots=True)
class StreamHeader:
    """The ``<stream:stream>`` start tag (TCP only)."""

    tag: str
    attrs: dict[str, str]


@dataclass(frozen=True, slots=True)
class StreamFooter:
    """``</stream:stream>``: the peer closed its half of the stream."""


@dataclass(frozen=True, slots=True)
class ElementReceived:
    element: Element


Item = StreamHeader | StreamFooter | ElementReceived


def _clark(name: str) -> str:
    if _SEP in name:
        ns, local = name.split(_SEP, 1)
        return f"{{{ns}}}{local}"
    return name


def _refuse(what: str):  # type: ignore[no-untyped-def]
    def handler(*_args: object) -> None:
        raise XmlStreamError("restricted-xml", f"{what} is not allowed in XMPP")

    return handler


# Shared by every parser rather than four closures per connection.
_REFUSE_DTD = _refuse("a DTD")
_REFUSE_ENTITY = _refuse("an entity declaration")
_REFUSE_PI = _refuse("a processing instruction")
_REFUSE_COMMENT = _refuse("a comment")


class XmlStreamParser:
    """Feed bytes with :meth:`feed`; it returns the items completed by them."""

    def __init__(
        self,
        *,
        stream_root: bool,
        max_depth: int = MAX_DEPTH,
        max_stanza_bytes: int = MAX_STANZA_BYTES,
    ) -> None:
        self.stream_root = stream_root
        self.max_depth = max_depth
        self.max_stanza_bytes = max_stanza_bytes
        self._items: list[Item] = []
        self._stack: list[Element] = []
        self._depth = 0
        self._stanza_start = -1
        self._fed = 0
        self._closed = False
        # Between stanzas of a TCP stream the expat parser (several KiB) is dropped
        # and rebuilt from the raw stream header when data comes: most connections
        # are idle, and the header is all the state there is at that point.
        self._base = 0  # stream position of the current expat parser's first byte
        self._head: bytes | None = b"" if stream_root else None  # until the header is whole
        self._header: bytes | None = None
        self._header_at = -1
        self._replaying = False
        self._parser: expat.XMLParserType | None = self._new_parser()

    @property
    def _stanza_level(self) -> int:
        return 2 if self.stream_root else 1

    def _new_parser(self) -> expat.XMLParserType:
        # intern=None: no per-parser dict of every name seen; it outlives the stanzas.
        parser = expat.ParserCreate("UTF-8", _SEP, intern=None)
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        if hasattr(parser, "SetReparseDeferralEnabled"):
            # Deliver each stanza as soon as its last byte arrives, not when more data comes.
            parser.SetReparseDeferralEnabled(False)
        parser.buffer_text = False
        parser.ordered_attributes = False
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.StartDoctypeDeclHandler = _REFUSE_DTD
        parser.EntityDeclHandler = _REFUSE_ENTITY
        parser.ProcessingInstructionHandler = _REFUSE_PI
        parser.CommentHandler = _REFUSE_COMMENT
        parser.DefaultHandler = self._default
        return parser

    def _default(self, data: str) -> None:
        # Reached for an undeclared entity reference such as "&foo;".
        if data.startswith("&") and data.endswith(";"):
            raise XmlStreamError("restricted-xml", "entity references are not allowed")

    def feed(self, data: bytes) -> list[Item]:
        """Parse ``data``; raises :class:`XmlStreamError` on bad XML or a broken limit."""
        if self._closed:
            return []
        parser = self._parser or self._resume()
        for start in range(0, len(data), _SLICE):
            chunk = data[start : start + _SLICE]
            try:
                parser.Parse(chunk, False)
            except expat.ExpatError as exc:
                if self._closed:
                    # Bytes after the closing tag, which RFC 6120 §4.4 forbids (slixmpp
                    # sends queued answers after it): dropped, the close stays clean.
                    break
                raise XmlStreamError("not-well-formed", str(exc)) from None
            self._fed += len(chunk)
            self._check_size(self._fed)
        if self._head is not None:
            self._keep_header(self._head, data)
        if (
            self._header is not None
            and self._depth == 1
            and not self._closed
            and self._base + parser.CurrentByteIndex == self._fed  # expat holds no partial token
        ):
            self._parser = None
        items, self._items = self._items, []
        return items

    def _keep_header(self, kept: bytes, data: bytes) -> None:
        """Collect the raw ``<stream:stream ...>`` start tag once expat has accepted it
        (``kept``: what was collected so far)."""
        head = kept + data
        if self._header_at >= 0:
            quote = 0
            for index in range(self._header_at, len(head)):
                byte = head[index]
                if quote:
                    if byte == quote:
                        quote = 0
                elif byte in b"'\"":
                    quote = byte
                elif byte == 62:  # ">": the end of the start tag (it may sit in a quoted value)
                    self._header = head[self._header_at : index + 1]
                    self._head = None
                    return
        self._head = head if len(head) <= _MAX_HEADER else None

    def _resume(self) -> expat.XMLParserType:
        """A fresh expat parser, positioned just inside the stream header again."""
        if self._header is None:  # the parser is only ever dropped after a header
            raise XmlStreamError("internal-server-error", "no stream header to resume from")
        parser = self._parser = self._new_parser()
        self._depth = 0
        self._replaying = True
        try:
            parser.Parse(self._header, False)
        finally:
            self._replaying = False
        self._base = self._fed - len(self._header)
        return parser

    def _position(self) -> int:
        parser = self._parser
        return self._base + (parser.CurrentByteIndex if parser is not None else 0)

    def _check_size(self, position: int) -> None:
        if self._stanza_start >= 0 and position - self._stanza_start > self.max_stanza_bytes:
            raise XmlStreamError(
                "policy-violation", f"a stanza is at most {self.max_stanza_bytes} bytes"
            )

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > self.max_depth:
            raise XmlStreamError("policy-violation", f"elements nest at most {self.max_depth} deep")
        tag = _clark(name)
        attributes = {_clark(k): v for k, v in attrs.items()}
        if self.stream_root and self._depth == 1:
            if not self._replaying:
                self._header_at = self._position()
                self._items.append(StreamHeader(tag, attributes))
            return
        if self._depth == self._stanza_level:
            self._stanza_start = self._position()
        element = Element(tag, attributes)
        if self._stack:
            self._stack[-1].append(element)
        self._stack.append(element)

    def _end(self, name: str) -> None:
        self._depth -= 1
        if self.stream_root and self._depth == 0:
            self._closed = True
            self._items.append(StreamFooter())
            return
        element = self._stack.pop()
        if not self._stack:
            self._check_size(self._position())
            self._stanza_start = -1
            self._items.append(ElementReceived(element))

    def _text(self, data: str) -> None:
        if not self._stack:
            if data.strip():
                raise XmlStreamError("not-well-formed", "text outside of any stanza")
            return
        element = self._stack[-1]
        if len(element):
            last = element[-1]
            last.tail = (last.tail or "") + data
        else:
            element.text = (element.text or "") + data


def parse_one(data: bytes, *, max_stanza_bytes: int = MAX_STANZA_BYTES) -> Element:
    """Exactly one complete element, as one WebSocket frame carries (RFC 7395 §3.3.3)."""
    if len(data) > max_stanza_bytes:
        raise XmlStreamError("policy-violation", f"a stanza is at most {max_stanza_bytes} bytes")
    parser = XmlStreamParser(stream_root=False, max_stanza_bytes=max_stanza_bytes)
    items = parser.feed(data)
    if parser._depth != 0 or len(items) != 1:
        raise XmlStreamError("not-well-formed", "a frame carries exactly one complete element")
    item = items[0]
    if not isinstance(item, ElementReceived):
        raise XmlStreamError("not-well-formed", "a frame carries exactly one complete element")
    return item.element
