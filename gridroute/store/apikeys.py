"""API keys of client systems (Open311): only the key's SHA-256 is stored."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.store import tables as t
from gridroute.store.repository import aware


@dataclass(frozen=True)
class ApiKeyRecord:
    id: int
    name: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _record(row) -> ApiKeyRecord:
    return ApiKeyRecord(row.id, row.name, row.key_prefix, aware(row.created_at),
                        aware(row.revoked_at))


class ApiKeyRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, *, name: str, key_hash: str, key_prefix: str, at: datetime) -> ApiKeyRecord:
        key_id = self.conn.execute(t.api_keys.insert().values(
            name=name, key_hash=key_hash, key_prefix=key_prefix, created_at=at)
            .returning(t.api_keys.c.id)).scalar_one()
        return ApiKeyRecord(key_id, name, key_prefix, at, None)

    def by_name(self, name: str) -> ApiKeyRecord | None:
        row = self.conn.execute(sa.select(t.api_keys).where(t.api_keys.c.name == name)).first()
        return _record(row) if row else None

    def by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        row = self.conn.execute(
            sa.select(t.api_keys).where(t.api_keys.c.key_hash == key_hash)).first()
        return _record(row) if row else None

    def revoke(self, key_id: int, at: datetime) -> None:
        self.conn.execute(t.api_keys.update().where(t.api_keys.c.id == key_id)
                          .values(revoked_at=at))

    def all(self) -> list[ApiKeyRecord]:
        rows = self.conn.execute(sa.select(t.api_keys).order_by(t.api_keys.c.name)).all()
        return [_record(r) for r in rows]
