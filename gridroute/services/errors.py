"""Errors a use case reports to its caller; entrypoints render them (HTTP 4xx, CLI exit ≠ 0)."""
from __future__ import annotations


class ServiceError(Exception):
    """A refused request: `field` names what was wrong, `message` says why."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def to_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "message": self.message}


class NotFound(ServiceError):
    status = 404

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message, field=field, code="not_found")


class Conflict(ServiceError):
    status = 409

    def __init__(self, message: str, *, field: str | None = None, code: str = "conflict"):
        super().__init__(message, field=field, code=code)


class Unauthorized(ServiceError):
    """No valid credentials (HTTP 401)."""

    status = 401

    def __init__(self, message: str, *, field: str | None = None, code: str = "unauthorized"):
        super().__init__(message, field=field, code=code)


class Forbidden(ServiceError):
    """Authenticated, but the role may not do this (HTTP 403)."""

    status = 403

    def __init__(self, message: str, *, field: str | None = None, code: str = "forbidden"):
        super().__init__(message, field=field, code=code)


class TooManyAttempts(ServiceError):
    """Refused until `retry_after` seconds have passed (HTTP 429 + Retry-After)."""

    status = 429

    def __init__(self, message: str, *, retry_after: int, field: str | None = None,
                 code: str = "too_many_attempts"):
        super().__init__(message, field=field, code=code)
        self.retry_after = max(1, int(retry_after))


class Unavailable(ServiceError):
    """The request may be right but cannot be served now (HTTP 503); `retry_after` is the
    suggested wait in seconds, when trying again soon can help."""

    status = 503
    retry_after: int | None = None

    def __init__(self, message: str, *, field: str | None = None, code: str = "unavailable",
                 retry_after: int | None = None):
        super().__init__(message, field=field, code=code)
        if retry_after is not None:
            self.retry_after = retry_after


class DatabaseBusy(Unavailable):
    """A lock wait ran out (SQLite busy timeout, PostgreSQL lock_timeout, deadlock): nothing was
    written; the same request is expected to succeed when retried (CLI exit 75, HTTP 503 with
    Retry-After)."""

    retry_after = 1
    exit_code = 75  # EX_TEMPFAIL (sysexits.h)

    def __init__(self, message: str = "database busy, try again"):
        super().__init__(message, code="database_busy")


class SchemaNotCurrent(Unavailable):
    """The database's schema is not the one this code needs: not initialised, behind (needs
    `gridroute db upgrade`) or ahead (written by a newer gridroute). Nothing is done on it."""

    def __init__(self, message: str, *, code: str, current: str | None, head: str):
        super().__init__(message, code=code)
        self.current = current
        self.head = head


def from_database_error(exc: BaseException, url: str | None = None) -> ServiceError | None:
    """The ServiceError an entrypoint shows for a database driver error, or None when it is
    not one the user can act on (a bug: let it surface as an internal error). `url` (shown
    without its password) says which database could not be reached."""
    from gridroute.store.db import display_url, is_busy, is_unreachable

    if is_busy(exc):
        return DatabaseBusy()
    if is_unreachable(exc):
        original = getattr(exc, "orig", None) or exc
        reason = str(original).strip().splitlines()[0] if str(original).strip() else \
            type(original).__name__
        where = ""
        if url:
            where = f" ({display_url(url)})"
        return Unavailable(f"database unreachable{where}: {reason}",
                           code="database_unreachable", retry_after=5)
    return None
