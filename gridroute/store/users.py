"""Repositories for users, their bearer tokens and the append-only audit log."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.store import tables as t

CITY_TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class UserRecord:
    id: int
    name: str
    password_hash: str
    role: str
    unit_code: str | None
    scope: str
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass
class AuditEntry:
    id: int
    at: datetime
    kind: str
    actor: str
    subject: str
    remote_addr: str
    detail: dict[str, Any]


def _user(row) -> UserRecord:
    data = dict(row._mapping)
    data["created_at"] = data["created_at"].astimezone(CITY_TZ)
    data["updated_at"] = data["updated_at"].astimezone(CITY_TZ)
    return UserRecord(**data)


class UserRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, *, name: str, password_hash: str, role: str, unit_code: str | None,
            scope: str, at: datetime) -> UserRecord:
        user_id = self.conn.execute(t.users.insert().values(
            name=name, password_hash=password_hash, role=role, unit_code=unit_code, scope=scope,
            active=True, created_at=at, updated_at=at).returning(t.users.c.id)).scalar_one()
        return self.get(user_id)

    def get(self, user_id: int) -> UserRecord | None:
        row = self.conn.execute(sa.select(t.users).where(t.users.c.id == user_id)).first()
        return _user(row) if row else None

    def get_by_name(self, name: str) -> UserRecord | None:
        row = self.conn.execute(sa.select(t.users).where(t.users.c.name == name)).first()
        return _user(row) if row else None

    def update(self, user_id: int, *, at: datetime, **values: Any) -> None:
        self.conn.execute(t.users.update().where(t.users.c.id == user_id)
                          .values(updated_at=at, **values))

    def list(self) -> list[UserRecord]:
        return [_user(r) for r in self.conn.execute(sa.select(t.users).order_by(t.users.c.name))]


class TokenRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, *, user_id: int, token_hash: str, label: str, at: datetime) -> int:
        return self.conn.execute(t.user_tokens.insert().values(
            user_id=user_id, token_hash=token_hash, label=label, created_at=at)
            .returning(t.user_tokens.c.id)).scalar_one()

    def user_for(self, token_hash: str) -> UserRecord | None:
        """The active user holding this unrevoked token."""
        row = self.conn.execute(
            sa.select(t.users).join(t.user_tokens, t.user_tokens.c.user_id == t.users.c.id)
            .where(t.user_tokens.c.token_hash == token_hash,
                   t.user_tokens.c.revoked_at.is_(None), t.users.c.active)).first()
        return _user(row) if row else None

    def owner(self, token_id: int) -> str | None:
        return self.conn.execute(
            sa.select(t.users.c.name).join(t.user_tokens, t.user_tokens.c.user_id == t.users.c.id)
            .where(t.user_tokens.c.id == token_id)).scalar()

    def revoke(self, token_id: int, *, user_id: int | None, at: datetime) -> bool:
        query = t.user_tokens.update().where(t.user_tokens.c.id == token_id,
                                             t.user_tokens.c.revoked_at.is_(None))
        if user_id is not None:
            query = query.where(t.user_tokens.c.user_id == user_id)
        return self.conn.execute(query.values(revoked_at=at)).rowcount == 1

    def revoke_all(self, user_id: int, at: datetime) -> int:
        return self.conn.execute(t.user_tokens.update().where(
            t.user_tokens.c.user_id == user_id, t.user_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)).rowcount


class AuditRepository:
    """Only `add` writes: the table refuses UPDATE and DELETE (migration 0004 triggers)."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, *, at: datetime, kind: str, actor: str, subject: str = "",
            remote_addr: str = "", detail: dict[str, Any] | None = None) -> int:
        return self.conn.execute(t.audit_log.insert().values(
            at=at, kind=kind, actor=actor, subject=subject, remote_addr=remote_addr or "",
            detail=detail or {}).returning(t.audit_log.c.id)).scalar_one()

    def count(self, kind: str, *, since: datetime, subject: str | None = None,
              remote_addr: str | None = None) -> int:
        c = t.audit_log.c
        query = sa.select(sa.func.count()).select_from(t.audit_log).where(
            c.kind == kind, c.at >= since)
        if subject is not None:
            query = query.where(c.subject == subject)
        if remote_addr is not None:
            query = query.where(c.remote_addr == remote_addr)
        return self.conn.execute(query).scalar_one()

    def oldest_since(self, kind: str, *, since: datetime, subject: str) -> datetime | None:
        c = t.audit_log.c
        value = self.conn.execute(sa.select(sa.func.min(c.at)).where(
            c.kind == kind, c.at >= since, c.subject == subject)).scalar()
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite aggregate bypasses the column type
            from datetime import timezone
            value = datetime.fromisoformat(str(value)).replace(tzinfo=timezone.utc)
        return value.astimezone(CITY_TZ)

    def list(self, *, kind: str | None = None, subject: str | None = None,
             limit: int = 100) -> list[AuditEntry]:
        c = t.audit_log.c
        query = sa.select(t.audit_log).order_by(c.id.desc()).limit(limit)
        if kind:
            query = query.where(c.kind == kind)
        if subject:
            query = query.where(c.subject == subject)
        out = []
        for row in self.conn.execute(query):
            data = dict(row._mapping)
            data["at"] = data["at"].astimezone(CITY_TZ)
            out.append(AuditEntry(**data))
        return out
