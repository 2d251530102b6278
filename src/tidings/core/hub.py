"""The container every gateway is handed: settings, store, bus, files, clock, services.

One ``Core`` per process (as Synapse's ``HomeServer``): gateways call its
services and never reach the store or each other.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tidings.core.clock import Clock
from tidings.domain.events import Event
from tidings.settings import Settings

if TYPE_CHECKING:
    from tidings.bus.base import Bus
    from tidings.files.base import FileStorage
    from tidings.outbound.base import Outbound
    from tidings.store.database import Database

log = logging.getLogger("tidings.core")


class Core:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        files: FileStorage,
        clock: Clock | None = None,
        outbound: Outbound | None = None,
    ) -> None:
        from tidings.core.apps import AppService
        from tidings.core.auth import AuthService
        from tidings.core.contacts import ContactService
        from tidings.core.delivered_marks import DeliveredMarks
        from tidings.core.dialogs import DialogService
        from tidings.core.files import FileService
        from tidings.core.messages import MessageService
        from tidings.core.presence import PresenceService
        from tidings.core.privacy import PrivacyService
        from tidings.core.receipts import ReceiptService
        from tidings.core.search import SearchService
        from tidings.core.typing import TypingService
        from tidings.core.users import UserService

        self.settings = settings
        self.db = db
        self.bus = bus
        self.storage = files
        self.clock = clock or Clock()
        if outbound is None:
            from tidings.outbound.http import HttpxOutbound

            outbound = HttpxOutbound()
        #: Calls to services an app's operator names (the desk auth service).
        self.outbound = outbound
        self.apps = AppService(self)
        self.users = UserService(self)
        self.auth = AuthService(self)
        self.dialogs = DialogService(self)
        self.messages = MessageService(self)
        self.receipts = ReceiptService(self)
        self.delivered_marks = DeliveredMarks(self)
        self.typing = TypingService(self)
        self.contacts = ContactService(self)
        self.presence = PresenceService(self)
        self.privacy = PrivacyService(self)
        self.search = SearchService(self)
        self.files = FileService(self)
        from tidings.core.devices import DeviceService
        from tidings.core.push import PushService

        self.devices = DeviceService(self)
        self.push = PushService(self)
        from tidings.core.dialog_lists import DialogLists
        from tidings.core.user_lists import UserLists

        #: Filtered, counted, sorted and paged lists, all in SQL.
        self.dialog_lists = DialogLists(self)
        self.user_lists = UserLists(self)
        from tidings.core.desk_agents import AgentDesk
        from tidings.core.desk_auth import DeskAuthService
        from tidings.core.tickets import TicketService

        self.tickets = TicketService(self)
        self.desk_auth = DeskAuthService(self)
        self.desk = AgentDesk(self)
        from tidings.core.callbacks import CallbackService
        from tidings.core.gms_chats import GmsChatService

        self.callbacks = CallbackService(self)
        self.gms_chats = GmsChatService(self)
        from tidings.core.pep import PepService

        #: XEP-0163 personal eventing nodes (avatars, nick, bookmarks, device lists).
        self.pep = PepService(self)

    def now_ms(self) -> int:
        return self.clock.now_ms()

    async def publish(self, *events: Event) -> None:
        """Publish after commit. A bus failure is logged, never undoes the write."""
        for event in events:
            try:
                await self.bus.publish(event)
            except (TypeError, ValueError):
                raise  # an event that cannot be encoded is a bug: fail where it was made
            except Exception:  # pragma: no cover - depends on the bus backend failing
                log.exception("could not publish %s", type(event).__name__)
