"""The outbox (notifications waiting to be sent) as stored rows.

Writers queue messages inside their own transaction (`add`); the deliverer claims due rows
(`claim_due`, a lease), sends outside any transaction and records each outcome
(`mark_delivered`, `mark_attempt_failed`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.store import tables as t
from gridroute.store.prepared import PreparedInsert

# every report queues one message: run at driver level (see store/prepared.py)
_INSERT_OUTBOX = PreparedInsert(t.outbox, exclude=("id",))
_o = t.outbox.c

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    topic: str
    case_id: int | None
    recipient: str
    channel: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime

    @property
    def address(self) -> str:
        return str(self.payload.get("to") or self.recipient)


class OutboxRepository:
    def __init__(self, conn: Connection):
        self._conn = conn

    def add(self, *, topic: str, case_id: int | None, recipient: str, channel: str,
            payload: dict[str, Any], at: datetime) -> None:
        _INSERT_OUTBOX.one(self._conn, {
            "created_at": at, "topic": topic, "case_id": case_id, "recipient": recipient,
            "channel": channel, "payload": payload, "status": PENDING, "attempts": 0,
            "next_attempt_at": at})

    def claim_due(self, now: datetime, limit: int, *, lease_until: datetime) -> list[OutboxMessage]:
        """Pending rows whose attempt time has come, oldest first, hidden from other deliverers
        until `lease_until`. On PostgreSQL rows another deliverer holds are skipped."""
        query = (sa.select(t.outbox).where(_o.status == PENDING, _o.next_attempt_at <= now)
                 .order_by(_o.next_attempt_at, _o.id).limit(limit))
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = self._conn.execute(query).all()
        if not rows:
            return []
        self._conn.execute(t.outbox.update().where(_o.id.in_([r.id for r in rows]))
                           .values(next_attempt_at=lease_until))
        return [OutboxMessage(id=r.id, topic=r.topic, case_id=r.case_id, recipient=r.recipient,
                              channel=r.channel, payload=dict(r.payload or {}),
                              attempts=r.attempts, created_at=r.created_at) for r in rows]

    def mark_delivered(self, message_id: int, *, at: datetime, attempts: int) -> None:
        self._conn.execute(t.outbox.update().where(_o.id == message_id, _o.status == PENDING)
                           .values(status=DELIVERED, delivered_at=at, attempts=attempts,
                                   last_error=None))

    def mark_attempt_failed(self, message_id: int, *, attempts: int, error: str,
                            next_attempt_at: datetime, give_up: bool) -> None:
        """Record a failed attempt: retried at `next_attempt_at`, or failed for good."""
        values: dict[str, Any] = {"attempts": attempts, "last_error": error,
                                  "next_attempt_at": next_attempt_at}
        if give_up:
            values["status"] = FAILED
        self._conn.execute(t.outbox.update().where(_o.id == message_id, _o.status == PENDING)
                           .values(**values))
