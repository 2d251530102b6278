"""Global search over dialogs, messages and users: only what the caller may see."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from tidings.core import access
from tidings.domain.errors import InvalidInput
from tidings.domain.models import Actor, SearchResults
from tidings.store import apps as users_store
from tidings.store import messages as messages_store

if TYPE_CHECKING:
    from tidings.core.hub import Core

MAX_RESULTS = 100


class SearchService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def search(
        self,
        actor: Actor,
        text: str,
        *,
        limit: int = 20,
        dialog_ids: list[str] | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> SearchResults:
        if not isinstance(text, str) or not 1 <= len(text.strip()) <= 200:
            raise InvalidInput("search text is 1 to 200 characters", field="q")
        if not 1 <= limit <= MAX_RESULTS:
            raise InvalidInput(f"limit is 1 to {MAX_RESULTS}", field="limit")
        for d in dialog_ids or []:
            access.check_dialog_id(d)
        text = _printable(text)
        if not text.strip():
            raise InvalidInput("search text needs a letter or digit", field="q")
        needle = text.strip().lower()
        _total, dialogs = await self.core.dialogs.list_dialogs(actor, limit=1000)
        matching = [
            d
            for d in dialogs
            if needle in (d.name or "").lower() or needle in (d.description or "").lower()
        ][:limit]
        async with self.core.db.read() as conn:
            messages = await messages_store.search_messages(
                conn,
                actor.app_id,
                actor.user_id,
                text.strip(),
                dialog_ids=dialog_ids,
                since_ms=since_ms,
                until_ms=until_ms,
                limit=limit,
            )
            users = await users_store.list_users(conn, actor.app_id, text=needle, limit=limit)
        return SearchResults(dialogs=matching, messages=messages, users=users)


def _printable(text: str) -> str:
    """Drop control characters (NUL and friends): no database accepts them in a query."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
