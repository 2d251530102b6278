"""Personal eventing (XEP-0163): every user's own nodes, their items, who may read them.

A node is created by its owner's first publish (XEP-0163 §3, auto-create) with the
configuration the publish asked for (XEP-0060 §7.1.5 publish-options) or the
gateway's defaults for that node; a later publish whose options disagree with the
node's configuration is refused (``precondition_not_met``), not applied. Only the
owner publishes, retracts or deletes.

Who may read a node is its access model (XEP-0060 §4.5): ``presence`` (the default,
XEP-0163 §4.1) lets the contacts with a ``from``/``both`` subscription read it,
``open`` everyone of the app, ``whitelist`` the owner alone. Payloads are opaque
text here: the gateway parses and writes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.domain.errors import Conflict, Forbidden, InvalidInput, LimitReached, NotFound
from tidings.domain.events import PepChanged
from tidings.domain.models import Actor
from tidings.store import apps as users_store
from tidings.store import pep as store
from tidings.store import social
from tidings.store.pep import PepNodeRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

ACCESS_MODELS = ("presence", "open", "whitelist")
#: ``contacts`` statuses of a contact subscribed to the user's presence (``from``/``both``).
SUBSCRIBED = ("confirmed", "from", "from+out")
#: ``contacts`` statuses of a contact whose presence the user gets (``to``/``both``).
PUBLISHING = ("confirmed", "to", "to+in")
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """Node configuration asked for (XEP-0060 §16.4 subset); ``None``: not asked."""

    access_model: str | None = None
    persist_items: bool | None = None
    #: 0 means "as many as the server allows" (``max``, XEP-0060 §7.1.5).
    max_items: int | None = None


@dataclass(frozen=True, slots=True)
class NodeConfig:
    access_model: str
    persist_items: bool
    max_items: int


@dataclass(frozen=True, slots=True)
class PepItem:
    item_id: str
    payload: str
    published_ms: int


@dataclass(frozen=True, slots=True)
class PepLast:
    """The newest item of a node, for a user's initial presence (XEP-0163 §4.3.2)."""

    owner_id: int
    node: str
    item: PepItem


def _item(row: store.PepItemRow) -> PepItem:
    return PepItem(row.item_id, row.payload, row.published_ms)


def _config(row: PepNodeRow) -> NodeConfig:
    return NodeConfig(row.access_model, row.persist_items, row.max_items)


class PepService:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- the owner ---------------------------------------------------------------------

    async def publish(
        self,
        actor: Actor,
        node: str,
        item_id: str | None,
        payload: str,
        options: NodeOptions | None = None,
        defaults: NodeOptions | None = None,
    ) -> str:
        """XEP-0060 §7.1: store the item (the newest of its node) and tell the readers.

        ``defaults`` configure a node this publish creates unless ``options`` say
        otherwise; ``options`` must match an existing node's configuration.
        """
        self._check_node(node)
        item_id = item_id if item_id else secrets.token_hex(8)
        if len(item_id) > MAX_NAME:
            raise InvalidInput(f"an item id has at most {MAX_NAME} characters", code="bad_item")
        limit = self.core.settings.pep_max_payload_bytes
        if len(payload.encode()) > limit:
            raise InvalidInput(f"a payload is at most {limit} bytes", code="payload_too_big")
        wanted = self._resolve(options or NodeOptions())
        now = self.core.now_ms()
        async with self.core.db.transaction() as conn:
            row = await store.get_node(conn, actor.user_id, node)
            if row is None:
                if await store.count_nodes(conn, actor.user_id) >= self.core.settings.pep_max_nodes:
                    raise LimitReached(
                        f"a user has at most {self.core.settings.pep_max_nodes} nodes",
                        code="max_nodes",
                    )
                config = self._merge(wanted, self._resolve(defaults or NodeOptions()))
                row = await store.create_node(
                    conn,
                    app_id=actor.app_id,
                    owner_id=actor.user_id,
                    name=node,
                    access_model=config.access_model,
                    persist_items=config.persist_items,
                    max_items=config.max_items,
                    now_ms=now,
                )
            elif not self._matches(wanted, _config(row)):
                raise Conflict("the node is configured otherwise", code="precondition_not_met")
            await store.put_item(conn, row.id, item_id, payload, now)
            await store.trim_items(conn, row.id, row.max_items if row.persist_items else 1)
            recipients = await self._readers(conn, row)
        await self.core.publish(
            PepChanged(
                app_id=actor.app_id,
                recipients=recipients,
                owner_id=actor.user_id,
                node=node,
                change="published",
                item_id=item_id,
                payload=payload,
            )
        )
        return item_id

    async def retract(self, actor: Actor, node: str, item_id: str, *, notify: bool) -> None:
        """XEP-0060 §7.2: delete one item; its readers hear of it if ``notify``."""
        self._check_node(node)
        async with self.core.db.transaction() as conn:
            row = await self._own_node(conn, actor, node)
            if not await store.delete_item(conn, row.id, item_id):
                raise NotFound(f"no item {item_id!r}", code="item_not_found")
            recipients = await self._readers(conn, row)
        if notify:
            await self.core.publish(
                PepChanged(
                    app_id=actor.app_id,
                    recipients=recipients,
                    owner_id=actor.user_id,
                    node=node,
                    change="retracted",
                    item_id=item_id,
                )
            )

    async def delete_node(self, actor: Actor, node: str) -> None:
        """XEP-0060 §8.4: the node and all its items; its readers are told."""
        self._check_node(node)
        async with self.core.db.transaction() as conn:
            row = await self._own_node(conn, actor, node)
            recipients = await self._readers(conn, row)
            await store.delete_node(conn, row.id)
        await self.core.publish(
            PepChanged(
                app_id=actor.app_id,
                recipients=recipients,
                owner_id=actor.user_id,
                node=node,
                change="deleted",
            )
        )

    async def configuration(self, actor: Actor, node: str) -> NodeConfig:
        """XEP-0060 §8.2: the owner's node's configuration."""
        self._check_node(node)
        async with self.core.db.read() as conn:
            return _config(await self._own_node(conn, actor, node))

    async def configure(self, actor: Actor, node: str, options: NodeOptions) -> NodeConfig:
        """XEP-0060 §8.2.4: change what ``options`` name; items beyond a lower
        ``max_items`` go, oldest first."""
        self._check_node(node)
        wanted = self._resolve(options)
        async with self.core.db.transaction() as conn:
            row = await self._own_node(conn, actor, node)
            config = self._merge(wanted, _config(row))
            await store.configure_node(
                conn,
                row.id,
                access_model=config.access_model,
                persist_items=config.persist_items,
                max_items=config.max_items,
            )
            await store.trim_items(conn, row.id, config.max_items if config.persist_items else 1)
        return config

    # -- readers -----------------------------------------------------------------------

    async def items(
        self,
        actor: Actor,
        owner_id: int,
        node: str,
        *,
        item_ids: Sequence[str] = (),
        newest: int | None = None,
    ) -> list[PepItem]:
        """XEP-0060 §6.5: the items the caller may read, oldest first.

        A user of another app, or one that does not exist, has no nodes
        (``node_not_found``); a node the caller may not read is refused by its access
        model (``presence_subscription_required`` or ``closed_node``).
        """
        self._check_node(node)
        async with self.core.db.read() as conn:
            if owner_id != actor.user_id and (
                await users_store.get_user(conn, actor.app_id, owner_id) is None
            ):
                raise NotFound("no such node", code="node_not_found")
            row = await store.get_node(conn, owner_id, node)
            if row is None or row.app_id != actor.app_id:
                raise NotFound("no such node", code="node_not_found")
            await self._check_reader(conn, row, actor.user_id)
            rows = await store.list_items(conn, row.id, item_ids=item_ids, newest=newest)
        if item_ids and not rows:
            raise NotFound("no such item", code="item_not_found")
        return [_item(r) for r in rows]

    async def last_items(self, actor: Actor) -> list[PepLast]:
        """XEP-0163 §4.3.2: the newest item of every node the user may read among its
        own and those of the contacts whose presence it gets."""
        async with self.core.db.read() as conn:
            publishers = await social.contact_ids_with_status(conn, actor.user_id, PUBLISHING)
            found = await store.last_items(conn, [actor.user_id, *publishers])
        return [
            PepLast(node.owner_id, node.name, _item(item))
            for node, item in found
            if node.app_id == actor.app_id
            and (node.owner_id == actor.user_id or node.access_model != "whitelist")
        ]

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _check_node(node: str) -> None:
        if not node:
            raise InvalidInput("a node is named", code="node_required")
        if len(node) > MAX_NAME or not node.isprintable():
            raise InvalidInput(
                f"a node name is at most {MAX_NAME} printable characters", code="bad_node"
            )

    def _resolve(self, options: NodeOptions) -> NodeOptions:
        """Validate what was asked; ``max_items`` 0 becomes the server's ceiling."""
        ceiling = self.core.settings.pep_max_items
        if options.access_model is not None and options.access_model not in ACCESS_MODELS:
            raise InvalidInput(
                f"access models served: {', '.join(ACCESS_MODELS)}", code="unsupported_access"
            )
        max_items = options.max_items
        if max_items is not None:
            if max_items < 0 or max_items > ceiling:
                raise InvalidInput(f"max_items is 1 to {ceiling}, or max", code="bad_options")
            max_items = max_items or ceiling
        return NodeOptions(options.access_model, options.persist_items, max_items)

    def _merge(self, wanted: NodeOptions, base: NodeOptions | NodeConfig) -> NodeConfig:
        access = wanted.access_model or base.access_model or "presence"
        persist = wanted.persist_items
        if persist is None:
            persist = True if base.persist_items is None else base.persist_items
        max_items = wanted.max_items or base.max_items or self.core.settings.pep_max_items
        return NodeConfig(access, persist, max_items)

    @staticmethod
    def _matches(wanted: NodeOptions, config: NodeConfig) -> bool:
        return (
            (wanted.access_model is None or wanted.access_model == config.access_model)
            and (wanted.persist_items is None or wanted.persist_items == config.persist_items)
            and (wanted.max_items is None or wanted.max_items == config.max_items)
        )

    @staticmethod
    async def _own_node(conn: AsyncConnection, actor: Actor, node: str) -> PepNodeRow:
        row = await store.get_node(conn, actor.user_id, node)
        if row is None:
            raise NotFound("no such node", code="node_not_found")
        return row

    @staticmethod
    async def _check_reader(conn: AsyncConnection, row: PepNodeRow, reader_id: int) -> None:
        if reader_id == row.owner_id or row.access_model == "open":
            return
        if row.access_model == "whitelist":
            raise Forbidden("only the owner reads this node", code="closed_node")
        contact = await social.get_contact(conn, row.owner_id, reader_id)
        if contact is None or contact.status not in SUBSCRIBED:
            raise Forbidden(
                "a presence subscription to the owner is required",
                code="presence_subscription_required",
            )

    @staticmethod
    async def _readers(conn: AsyncConnection, row: PepNodeRow) -> tuple[int, ...]:
        """Who hears of a change: the owner, and the presence subscribers unless the node
        is the owner's alone (XEP-0163 §4.3.1: notifications follow presence)."""
        if row.access_model == "whitelist":
            return (row.owner_id,)
        subscribers = await social.contact_ids_with_status(conn, row.owner_id, SUBSCRIBED)
        return (row.owner_id, *subscribers)
