"""External authorization of service-desk users (Pyrus "authorization web service").

The app's ``auth_url`` is asked ``POST {app_id, user_id, security_key}``:
200 grants, 400 and 403 refuse (the SDK then gets 403 and closes the chat). A
slow or failing service is a temporary failure (503, the SDK retries later),
never a hang or a 500: each call has a short deadline. Positive answers are
cached per (app, user, key) for a short while because SDKs poll every few
seconds. Refusals are not cached, so a user who fixes their key gets in at once.

The call itself goes through ``core.outbound`` (:mod:`tidings.outbound`): the
core decides what an answer means, the outbound client does the HTTP and the
SSRF guard webhooks use, so an auth URL pointing into our own network is refused
unless the operator (``TIDINGS_WEBHOOK_ALLOW_PRIVATE``) or the app's config
(``allow_private_destinations``) allows private destinations.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING

from tidings.domain.errors import Forbidden, Unavailable
from tidings.outbound.base import OutboundFailed

if TYPE_CHECKING:
    from tidings.core.hub import Core
    from tidings.domain.models import App

log = logging.getLogger("tidings.desk")

#: Seconds to wait for the auth service; app config ``desk_auth_timeout``.
DEFAULT_TIMEOUT = 3.0
#: Seconds a positive answer is reused; app config ``desk_auth_cache_seconds``.
DEFAULT_CACHE_SECONDS = 60.0
MAX_CACHED = 50_000


class AuthUnavailable(Unavailable):
    """The authorization service did not answer in time, failed, or its URL was
    refused by the SSRF guard: try again later (the operator must fix the URL)."""

    code = "auth_unavailable"


class DeskAuthService:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._granted: dict[str, float] = {}

    async def verify(self, app: App, user_id: str, security_key: str) -> None:
        """Return if the app's auth service grants access; raise otherwise.

        :class:`Forbidden` for a refusal (400/403, or no auth URL configured);
        :class:`AuthUnavailable` when the service is slow, unreachable or answers
        anything else.
        """
        if not app.auth_url:
            raise Forbidden("this app has no external authorization", code="auth_refused")
        key = hashlib.sha256(
            f"{app.id}\0{app.auth_url}\0{user_id}\0{security_key}".encode()
        ).hexdigest()
        now = time.monotonic()
        if self._granted.get(key, 0) > now:
            return
        timeout = float(app.config.get("desk_auth_timeout", DEFAULT_TIMEOUT))
        payload = {"app_id": app.desk_app_id, "user_id": user_id, "security_key": security_key}
        allow_private = self.core.settings.webhook_allow_private or bool(
            app.config.get("allow_private_destinations")
        )
        try:
            status = await self.core.outbound.post_json(
                app.auth_url, payload, deadline=timeout, allow_private=allow_private
            )
        except OutboundFailed as exc:
            if exc.reason == "refused":
                # The operator's URL is wrong, not the user: say so in the log.
                log.warning("app %s: auth URL refused: %s", app.id, exc.detail)
            raise AuthUnavailable(f"the authorization service failed ({exc.reason})") from exc
        if status == 200:
            if len(self._granted) >= MAX_CACHED:
                self._granted = {k: v for k, v in self._granted.items() if v > now}
                if len(self._granted) >= MAX_CACHED:
                    self._granted.clear()
            ttl = float(app.config.get("desk_auth_cache_seconds", DEFAULT_CACHE_SECONDS))
            self._granted[key] = now + ttl
            return
        if status in (400, 403):
            raise Forbidden("the authorization service refused this user", code="auth_refused")
        raise AuthUnavailable(f"the authorization service answered {status}")
