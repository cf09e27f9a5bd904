"""The audit log (审计日志): who logged in or failed to, who changed users and roles, who
created or revoked tokens and API keys. Rows are only ever appended (the database refuses
UPDATE and DELETE on `audit_log`).

`record(uow_or_ctx, kind, actor, detail)`:
- given the caller's UnitOfWork, the row joins its transaction (a user change and its audit
  row commit together or not at all);
- given an AppContext, it is written and committed on its own (a failed login has nothing
  else to write).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from gridroute.services.context import AppContext
from gridroute.store.repository import UnitOfWork

#: The kinds in use; a new kind is added here so that readers of the log know them all.
KINDS = frozenset({
    "login", "login_failed", "login_throttled", "logout",
    "user_added", "user_changed", "user_deactivated",
    "token_created", "token_revoked",
    "apikey_created", "apikey_revoked",
})


def record(uow_or_ctx: UnitOfWork | AppContext, kind: str, actor: str,
           detail: Mapping[str, Any] | None = None, *, subject: str = "",
           remote_addr: str = "", at: datetime | None = None) -> int:
    """Append one audit row; returns its id. `detail` must be JSON-ready and must never hold
    a password, a token or an API key (only names and ids)."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}; add it to services.audit.KINDS")
    data = dict(detail or {})
    if isinstance(uow_or_ctx, AppContext):
        ctx = uow_or_ctx
        with ctx.uow() as uow:
            row_id = uow.audit.add(at=at or ctx.now(), kind=kind, actor=actor or "",
                                   subject=subject, remote_addr=remote_addr, detail=data)
            uow.commit()
        return row_id
    return uow_or_ctx.audit.add(at=at or datetime.now().astimezone(), kind=kind,
                                actor=actor or "", subject=subject, remote_addr=remote_addr,
                                detail=data)


def entries(ctx: AppContext, *, kind: str | None = None, subject: str | None = None,
            limit: int = 100):
    """The newest audit rows first."""
    with ctx.uow(read_only=True) as uow:
        return uow.audit.list(kind=kind, subject=subject, limit=limit)
