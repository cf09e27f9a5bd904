"""Phase clocks and escalation marks as stored rows (`case_clocks`, `escalations`).

The services see clocks as `PhaseClock` values and marks as `(kind, level)` pairs; the SQL,
the dialect differences (row locks that skip held rows on PostgreSQL, `INSERT ... ON CONFLICT
DO NOTHING` per dialect) and the hot-path insert stay here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from gridroute.sla.clock import PhaseClock
from gridroute.store import tables as t
from gridroute.store.prepared import PreparedInsert

# intake starts a clock for every report: run at driver level (see store/prepared.py)
_INSERT_CLOCK = PreparedInsert(t.case_clocks)

_c = t.case_clocks.c
# values go as parameters, not .values(...): the statement compiles once and is cached
_UPDATE_CLOCK = t.case_clocks.update().where(_c.case_id == sa.bindparam("key_case_id"),
                                             _c.phase == sa.bindparam("key_phase"))
_SET_NEXT_DUE = (t.case_clocks.update()
                 .where(_c.case_id == sa.bindparam("b_case_id"),
                        _c.phase == sa.bindparam("b_phase"))
                 .values(next_due=sa.bindparam("b_next_due", type_=t.TS)))


class StoredClock(NamedTuple):
    """One phase clock of a case as stored: the clock, its run number and its unit."""

    clock: PhaseClock
    run: int
    unit_code: str | None


class DueClock(NamedTuple):
    """A clock row the escalation tick claimed (its `next_due` has come). The stored clock
    is read when asked for, so a row that does not parse fails on its own."""

    case_id: int
    phase: str
    run: int
    unit_code: str | None
    state: str
    next_due: datetime
    stored: dict

    @property
    def clock(self) -> PhaseClock:
        return PhaseClock.from_dict(self.stored)


Mark = tuple[str, int]  # (kind, level) of a recorded light or escalation level


def skips_locked_rows(engine: Engine) -> bool:
    """Whether claiming due rows passes over rows another transaction holds (PostgreSQL's
    SKIP LOCKED); SQLite serialises writers instead, so nothing is ever skipped there."""
    return _skips_locked(engine.dialect.name)


def _skips_locked(dialect_name: str) -> bool:
    return dialect_name == "postgresql"


class ClockRepository:
    def __init__(self, conn: Connection):
        self._conn = conn

    @property
    def skips_locked(self) -> bool:
        return _skips_locked(self._conn.dialect.name)

    def load(self, case_id: int) -> dict[str, StoredClock]:
        rows = self._conn.execute(sa.select(t.case_clocks).where(_c.case_id == case_id)).all()
        return {r.phase: StoredClock(PhaseClock.from_dict(r.clock), r.run, r.unit_code)
                for r in rows}

    def running_of_cases(self, case_ids: Iterable[int]) -> dict[int, list[PhaseClock]]:
        """The running clocks of several cases in one query (a queue page's lights)."""
        ids = list(case_ids)
        out: dict[int, list[PhaseClock]] = {i: [] for i in ids}
        if not ids:
            return out
        for r in self._conn.execute(sa.select(_c.case_id, _c.clock)
                                    .where(_c.case_id.in_(ids), _c.state == "running")):
            out[r.case_id].append(PhaseClock.from_dict(r.clock))
        return out

    def save(self, case_id: int, clock: PhaseClock, *, run: int, unit_code: str | None,
             next_due: datetime | None, exists: bool) -> None:
        values = {"run": run, "unit_code": unit_code, "state": clock.state.value,
                  "started_at": clock.started_at, "deadline": clock.deadline,
                  "next_due": next_due, "clock": clock.to_dict()}
        if exists:
            self._conn.execute(_UPDATE_CLOCK,
                               {"key_case_id": case_id, "key_phase": clock.phase, **values})
        else:
            _INSERT_CLOCK.one(self._conn, {"case_id": case_id, "phase": clock.phase, **values})

    def set_next_due(self, case_id: int, phase: str, due: datetime | None) -> None:
        self._conn.execute(_SET_NEXT_DUE, {"b_case_id": case_id, "b_phase": phase,
                                           "b_next_due": due})

    def claim_due(self, now: datetime, after: tuple[datetime, int, str] | None,
                  limit: int) -> list[DueClock]:
        """Clock rows due by `now` after the keyset `after` (next_due, case_id, phase), in that
        order. On PostgreSQL the clock rows *and* their case rows are locked, skipping rows
        another transaction holds: locking both in one statement without waiting keeps the
        web requests' lock order (case, then clocks) free of deadlocks."""
        query = (sa.select(_c.case_id, _c.phase, _c.run, _c.unit_code, _c.state, _c.next_due,
                           _c.clock)
                 .select_from(t.case_clocks.join(t.cases, t.cases.c.id == _c.case_id))
                 .where(_c.next_due <= now))
        if after is not None:
            due, case_id, phase = after
            query = query.where(sa.or_(
                _c.next_due > due,
                sa.and_(_c.next_due == due, _c.case_id > case_id),
                sa.and_(_c.next_due == due, _c.case_id == case_id, _c.phase > phase)))
        query = query.order_by(_c.next_due, _c.case_id, _c.phase).limit(limit)
        if self.skips_locked:
            query = query.with_for_update(skip_locked=True, of=[t.case_clocks, t.cases])
        return [DueClock(r.case_id, r.phase, r.run, r.unit_code, r.state, r.next_due, r.clock)
                for r in self._conn.execute(query).all()]


_e = t.escalations.c
_INSERT_ONCE = {
    "postgresql": pg_dialect.insert(t.escalations).on_conflict_do_nothing()
    .returning(_e.id),
    "sqlite": sqlite_dialect.insert(t.escalations).on_conflict_do_nothing()
    .returning(_e.id),
}


class EscalationRepository:
    """Lights and levels recorded per (case, phase, run): each at most once, whatever the
    number of tick processes (unique constraint + insert that skips a conflict)."""

    def __init__(self, conn: Connection):
        self._conn = conn

    def marks(self, case_id: int, phase: str, run: int) -> set[Mark]:
        return {(r.kind, r.level) for r in self._conn.execute(
            sa.select(_e.kind, _e.level).where(_e.case_id == case_id, _e.phase == phase,
                                               _e.run == run))}

    def marks_of_cases(self, case_ids: Iterable[int]) -> dict[tuple[int, str, int], set[Mark]]:
        """(case_id, phase, run) → recorded marks, for several cases in one query."""
        out: dict[tuple[int, str, int], set[Mark]] = {}
        ids = list(case_ids)
        if not ids:
            return out
        for r in self._conn.execute(sa.select(_e.case_id, _e.phase, _e.run, _e.kind, _e.level)
                                    .where(_e.case_id.in_(ids))):
            out.setdefault((r.case_id, r.phase, r.run), set()).add((r.kind, r.level))
        return out

    def record_once(self, *, case_id: int, phase: str, run: int, kind: str, level: int,
                    due_at: datetime, recorded_at: datetime, late_seconds: float,
                    notified: bool) -> bool:
        """Insert the mark unless it exists; True when this call inserted it.

        RETURNING yields the new id, or no row when the conflict skipped the insert (rowcount
        is not reliable for this statement on every driver)."""
        statement = _INSERT_ONCE.get(self._conn.dialect.name)
        if statement is None:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise RuntimeError(f"unsupported database dialect {self._conn.dialect.name}")
        values: dict[str, Any] = {
            "case_id": case_id, "phase": phase, "run": run, "kind": kind, "level": level,
            "due_at": due_at, "recorded_at": recorded_at, "late_seconds": late_seconds,
            "notified": notified}
        return self._conn.execute(statement, values).first() is not None
