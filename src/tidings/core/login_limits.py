"""Login throttling that counts failures, as ejabberd's mod_fail2ban and Prosody's
mod_limit_auth do, so a stranger cannot lock an owner out.

Two budgets, both counted in the shared limiter (every node sees the same counts):

- **per client address**, all accounts together (``TIDINGS_LOGIN_RATE_PER_ADDRESS``
  failures per ``TIDINGS_LOGIN_WINDOW``): stops one address guessing many accounts.
- **per account and address** (``TIDINGS_LOGIN_RATE``): slows guessing one
  account. It is keyed by the address too, so failures from address X never
  refuse the owner's correct password from address Y, and the owner's own
  success clears the count for the owner's address.

An attempt is charged before the password is checked (a burst of parallel
guesses cannot slip through between check and count) and given back when the
password is right, so only failures stay counted. A refused attempt costs no
hash and changes no count. Every refusal is logged at WARNING with the address.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tidings.core.ratelimit import Limiter, Rate
from tidings.domain.errors import RateLimited

if TYPE_CHECKING:
    from tidings.settings import Settings

log = logging.getLogger("tidings.core.auth")


class LoginAttempt:
    """One charged attempt; call :meth:`succeeded` when the password was right."""

    def __init__(self, limits: LoginLimits, address_key: str, account_key: str) -> None:
        self._limits = limits
        self._address_key = address_key
        self._account_key = account_key

    async def succeeded(self) -> None:
        limiter = self._limits.limiter
        await limiter.hit(self._address_key, self._limits.per_address, cost=-1)
        await limiter.reset(self._account_key)


class LoginLimits:
    def __init__(self, limiter: Limiter, settings: Settings) -> None:
        self.limiter = limiter
        window = max(1, settings.login_window)
        self.per_address = Rate(max(1, settings.login_rate_per_address), window)
        self.per_account = Rate(max(1, settings.login_rate), window)

    async def attempt(self, app_id: int, account: str, address: str) -> LoginAttempt:
        """Charge one attempt to ``address`` and to ``account`` there, or raise
        :class:`RateLimited` (nothing charged) when either budget is spent."""
        address = address or "unknown"
        address_key = f"login:addr:{address}"
        account_key = f"login:acct:{app_id}:{account.casefold()}:{address}"
        verdict = await self.limiter.hit(address_key, self.per_address)
        if not verdict.allowed:
            self._refused(address, app_id, account, verdict.retry_after, "this address")
        verdict = await self.limiter.hit(account_key, self.per_account)
        if not verdict.allowed:
            await self.limiter.hit(address_key, self.per_address, cost=-1)
            self._refused(address, app_id, account, verdict.retry_after, "this login")
        return LoginAttempt(self, address_key, account_key)

    def _refused(
        self, address: str, app_id: int, account: str, retry_after: float, scope: str
    ) -> None:
        log.warning(
            "login refused: too many failed logins from %s for %s; retry in %.0f s",
            address,
            scope,
            retry_after,
            extra={"address": address, "app_id": app_id, "login": account[:64]},
        )
        raise RateLimited(
            f"too many failed logins for {scope}; try again later",
            retry_after=max(retry_after, 1.0),
        )
