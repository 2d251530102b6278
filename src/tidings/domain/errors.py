"""Domain errors: what went wrong, in words a gateway can translate.

Every error carries a stable machine-readable ``code`` and the HTTP-like
``status`` the native REST gateway uses; other gateways map ``code`` onto their
own vocabulary (XMPP stanza errors, Pyrus results, Bayeux error strings).

    DomainError
     ├── InvalidInput        400  bad values the client can fix
     ├── Unauthenticated     401  no, wrong or expired credentials
     ├── Forbidden           403  known actor, not allowed
     │    └── Blocked        403  the recipient's privacy list refuses the sender
     ├── NotFound            404  unknown id, or a dialog the actor may not see
     ├── Conflict            409  state does not allow it (duplicate id reused, ...)
     ├── TooLarge            413  a body, message or file over its limit
     ├── LimitReached        422  a per-user quota (contacts, admins) is full
     ├── RateLimited         429  slow down; ``retry_after`` seconds
     └── Unavailable         503  a service we depend on failed; retry after ``retry_after``
          └── StoreUnavailable     the database connection was lost (the pool reconnects)
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    status = 400
    code = "invalid_input"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Blocked(Forbidden):
    code = "blocked"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class LimitReached(DomainError):
    status = 422
    code = "limit_reached"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, **details: Any) -> None:
        super().__init__(message, retry_after=round(retry_after, 1), **details)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Nothing is wrong with the request: a service we depend on failed for now, and
    the same request may succeed in ``retry_after`` seconds (HTTP 503 + Retry-After)."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: float = 1.0, **details: Any) -> None:
        super().__init__(message, retry_after=round(retry_after, 1), **details)
        self.retry_after = retry_after


class StoreUnavailable(Unavailable):
    """The database connection broke (server restarted, backend terminated, network).
    Raised by the store in one place; nothing of the failed transaction was committed
    unless the break came during COMMIT, which is why sends carry client ids."""

    code = "store_unavailable"
