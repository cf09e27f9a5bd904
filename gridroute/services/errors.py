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


class Forbidden(ServiceError):
    """A missing, unknown or revoked credential (Open311 answers 403)."""

    status = 403

    def __init__(self, message: str, *, field: str | None = None, code: str = "forbidden"):
        super().__init__(message, field=field, code=code)
