"""XEP-0115 §6.2, §5.4: learning what a client's ``<c/>`` means, once per ``ver``.

A session's available presence may carry ``<c/>``. A ``ver`` seen before (and
verified) is looked up in the process's :class:`~.cache.CapsCache`; an unknown
one is asked of the announcing resource with a disco#info to ``node#ver``, from
the server. The answer counts only if it hashes to ``ver``: a wrong hash is not
cached, the session is treated as one without caps, and the next session that
announced the same ``ver`` meanwhile is asked instead. One query per ``ver`` is
in flight at a time; other sessions announcing it wait for its answer.

What the features are for: XEP-0163 §4.3 ``+notify`` filtering
(:mod:`..xep_0163.notify`). A session whose first caps are still being resolved
is sent no PEP notification; once they are known it gets the last item of each
node it newly asks ``+notify`` for (§4.3.2).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import E, child
from tidings.gateways.xmpp.xep_0115.cache import CapsCache
from tidings.gateways.xmpp.xep_0115.stanza import Caps, matches, notify_nodes
from tidings.gateways.xmpp.xep_0163 import notify as pep_notify

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

log = logging.getLogger("tidings.gateways.xmpp")

#: How long an announcing resource has to answer our disco#info.
TIMEOUT_SECONDS = 30.0
#: Sessions that may wait on one query (more just stay without caps until it ends).
MAX_WAITING = 1000


@dataclass(eq=False)
class _Query:
    caps: Caps
    iq_id: str
    session: Session
    waiting: list[Session] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class CapsResolver:
    """Entity capabilities of this process's sessions; one per gateway."""

    def __init__(self, *, cache_size: int = 1000, timeout: float = TIMEOUT_SECONDS) -> None:
        self.cache = CapsCache(cache_size)
        self.timeout = timeout
        self._by_id: dict[str, _Query] = {}
        self._by_ver: dict[tuple[str, str], _Query] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- from the session ----------------------------------------------------------

    def announced(self, session: Session, caps: Caps | None, *, initial: bool) -> None:
        """A broadcast available presence with ``caps`` (None: no usable ``<c/>``; what
        an earlier presence announced stays). ``initial``: the caller replays the last
        items itself (XEP-0163 §4.3.2)."""
        if caps is None or caps == session.caps:
            return
        self._leave(session)
        session.caps = caps
        key = (caps.hash, caps.ver)
        known = self.cache.get(key)
        if known is not None:
            self._learned(session, known, replay=not initial)
            return
        # Being resolved: a first announcement wants no PEP notification meanwhile; a
        # changed one keeps the features it had until the new ones are known.
        query = self._by_ver.get(key)
        if query is not None:
            if len(query.waiting) < MAX_WAITING:
                query.waiting.append(session)
            return
        self._ask(session, caps, [])

    def answered(self, session: Session, iq: Element) -> bool:
        """An iq result or error from the client: True if it answers one of our queries."""
        query = self._by_id.get(iq.get("id") or "")
        if query is None or query.session is not session:
            return False
        self._done(query)
        found = child(iq, ns.DISCO_INFO, "query")
        if iq.get("type") == "result" and found is not None and matches(found, query.caps):
            features = frozenset(
                f.get("var", "") for f in found.findall(f"{{{ns.DISCO_INFO}}}feature")
            )
            self.cache.put((query.caps.hash, query.caps.ver), features)
            for each in (query.session, *query.waiting):
                if each.caps == query.caps and not each.ended:
                    self._learned(each, features, replay=True)
            return True
        log.info("xmpp: caps %s of %s not verified", query.caps.ver, session.jid)
        self._failed(query)
        return True

    def ended(self, session: Session) -> None:
        """The session is gone: it answers nothing and waits for nothing."""
        self._leave(session)

    def close(self) -> None:
        for query in list(self._by_id.values()):
            self._done(query)
        for task in list(self._tasks):
            task.cancel()

    # -- internals -----------------------------------------------------------------

    def _ask(self, session: Session, caps: Caps, waiting: list[Session]) -> None:
        iq_id = f"caps-{secrets.token_hex(8)}"
        query = _Query(caps, iq_id, session, waiting)
        self._by_id[iq_id] = query
        self._by_ver[(caps.hash, caps.ver)] = query
        query.timer = asyncio.get_running_loop().call_later(self.timeout, self._timed_out, query)
        node = f"{caps.node}#{caps.ver}"
        session.send(
            E(
                ns.CLIENT,
                "iq",
                {
                    "type": "get",
                    "id": iq_id,
                    "from": session.addressing.domain,
                    "to": str(session.jid),
                },
                E(ns.DISCO_INFO, "query", {"node": node}),
            )
        )

    def _done(self, query: _Query) -> None:
        self._by_id.pop(query.iq_id, None)
        if self._by_ver.get((query.caps.hash, query.caps.ver)) is query:
            del self._by_ver[(query.caps.hash, query.caps.ver)]
        if query.timer is not None:
            query.timer.cancel()
            query.timer = None

    def _timed_out(self, query: _Query) -> None:
        query.timer = None
        if self._by_id.get(query.iq_id) is query:
            self._done(query)
            self._failed(query)

    def _failed(self, query: _Query) -> None:
        """§5.4: not cached; the asked session counts as one without caps, and
        the next that announced the same ``ver`` is asked in its place."""
        if query.session.caps == query.caps:
            query.session.caps = None
            query.session.features = None
        waiting = [s for s in query.waiting if s.caps == query.caps and not s.ended]
        if waiting:
            self._ask(waiting[0], query.caps, waiting[1:])

    def _leave(self, session: Session) -> None:
        """Drop the session from the query it was asked or waits for."""
        caps = session.caps
        if caps is None:
            return
        query = self._by_ver.get((caps.hash, caps.ver))
        if query is None:
            return
        if session in query.waiting:
            query.waiting.remove(session)
        elif query.session is session:
            self._done(query)
            if query.waiting:
                self._ask(query.waiting[0], query.caps, query.waiting[1:])

    def _learned(self, session: Session, features: frozenset[str], *, replay: bool) -> None:
        before = notify_nodes(session.features or frozenset())
        session.features = features
        new = notify_nodes(features) - before
        if replay and new and session.available:
            task = asyncio.get_running_loop().create_task(self._replay(session, new))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _replay(self, session: Session, nodes: frozenset[str]) -> None:
        """XEP-0163 §4.3.2: the last item of each node the session now asks for."""
        try:
            for element in await pep_notify.last_items(session, only=nodes):
                session.send(element)
        except Exception:
            log.exception("xmpp: could not send the last PEP items")
