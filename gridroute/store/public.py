"""Read-only queries behind the public Open311 listing (GeoReport v2 `GET requests`)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.cases.model import Case, CaseEvent
from gridroute.store import tables as t
from gridroute.store.repository import aware, row_to_case


class PublicCaseQueries:
    def __init__(self, conn: Connection):
        self.conn = conn

    def search(self, *, categories: Sequence[str] = (), states: Sequence[str] = (),
               start: datetime | None = None, end: datetime | None = None,
               limit: int = 50, offset: int = 0) -> list[Case]:
        """Cases reported in [start, end], newest first; empty filters match everything."""
        c = t.cases.c
        query = sa.select(t.cases)
        if categories:
            query = query.where(c.category_code.in_(list(categories)))
        if states:
            query = query.where(c.state.in_(list(states)))
        if start is not None:
            query = query.where(c.reported_at >= start)
        if end is not None:
            query = query.where(c.reported_at <= end)
        query = query.order_by(c.reported_at.desc(), c.id.desc()).limit(limit).offset(offset)
        return [row_to_case(r) for r in self.conn.execute(query).all()]

    def last_event_times(self, case_ids: Sequence[int]) -> dict[int, datetime]:
        if not case_ids:
            return {}
        e = t.case_events.c
        rows = self.conn.execute(sa.select(e.case_id, sa.func.max(e.at))
                                 .where(e.case_id.in_(list(case_ids))).group_by(e.case_id)).all()
        return {case_id: aware(at) for case_id, at in rows}

    def events(self, case_ids: Sequence[int]) -> dict[int, list[CaseEvent]]:
        result: dict[int, list[CaseEvent]] = defaultdict(list)
        if not case_ids:
            return result
        e = t.case_events.c
        rows = self.conn.execute(sa.select(t.case_events).where(e.case_id.in_(list(case_ids)))
                                 .order_by(e.case_id, e.seq)).all()
        for row in rows:
            data = dict(row._mapping)
            data.pop("id")
            data["at"] = aware(data["at"])
            result[row.case_id].append(CaseEvent(**data))
        return result

    def clocks(self, case_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """Each case's phase clocks as stored: phase, state, started_at, deadline, clock."""
        result: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if not case_ids:
            return result
        k = t.case_clocks.c
        rows = self.conn.execute(sa.select(k.case_id, k.phase, k.state, k.started_at, k.deadline,
                                           k.clock).where(k.case_id.in_(list(case_ids)))).all()
        for row in rows:
            result[row.case_id].append({"phase": row.phase, "state": row.state,
                                        "started_at": aware(row.started_at),
                                        "deadline": aware(row.deadline), "clock": row.clock})
        return result
