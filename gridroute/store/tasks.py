"""Verify and check tasks (核实 / 核查任务) read from the case history.

A task is the `send_verify` or `send_check` event that created it; its id is that event's
row id. It is open while the case is still in the task's state (verifying / checking) and no
newer task of the same kind was sent; it ends with the first later event that takes the case
out of that state (the inspector's outcome, or a void). Nothing is stored twice: the history
is the only record, so tasks of imported or replayed histories appear as well.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.cases.model import Case, CaseEvent
from gridroute.store import tables as t
from gridroute.store.case_queries import CaseFilter, _where
from gridroute.store.repository import CITY_TZ, aware, row_to_case

#: send action → task kind, and the case state while a task of that kind is out
SEND_ACTIONS = {"send_verify": "verify", "send_check": "check"}
KIND_STATES = {"verify": "verifying", "check": "checking"}


@dataclass
class TaskRecord:
    """One task as the history tells it."""

    id: int
    kind: str
    case: Case
    sent: CaseEvent
    ended: CaseEvent | None  # the event that ended it; None while open
    superseded: bool  # a newer task of the same kind was sent on the case
    due_at: datetime | None  # the task clock's deadline (the latest task of its kind only)

    @property
    def inspector(self) -> str | None:
        value = (self.sent.payload or {}).get("inspector")
        return value if isinstance(value, str) else None

    @property
    def is_open(self) -> bool:
        return (self.ended is None and not self.superseded
                and self.case.state.value == KIND_STATES[self.kind])


def _event(row: Any, tz) -> CaseEvent:
    return CaseEvent(case_id=row.case_id, seq=row.seq, action=row.action, actor=row.actor,
                     role=row.role, from_state=row.from_state, to_state=row.to_state,
                     reason=row.reason, at=aware(row.at, tz), payload=row.payload or {},
                     unit_code=row.unit_code)


_E = t.case_events.c
_EVENT_COLS = [_E.id.label("event_id"), _E.case_id, _E.seq, _E.action, _E.actor, _E.role,
               _E.from_state, _E.to_state, _E.reason, _E.at, _E.payload,
               _E.unit_code.label("event_unit_code")]


class TaskRepository:
    """`uow.tasks`: tasks by id, and tasks of the cases a filter selects."""

    def __init__(self, conn: Connection, tz=CITY_TZ):
        self._conn = conn
        self._tz = tz

    def get(self, task_id: int) -> TaskRecord | None:
        row = self._conn.execute(
            sa.select(*_EVENT_COLS).where(_E.id == task_id,
                                          _E.action.in_(list(SEND_ACTIONS)))).first()
        if row is None:
            return None
        case_row = self._conn.execute(sa.select(t.cases).where(t.cases.c.id == row.case_id)
                                      ).first()
        if case_row is None:
            return None
        return self._build({row.case_id: row_to_case(case_row, self._tz)}, [row])[0]

    def find(self, f: CaseFilter, *, kinds: Sequence[str] = ("verify", "check"),
             open_only: bool = False, inspector: str | None = None,
             case_ids: Sequence[int] | None = None, before_id: int | None = None,
             max_rows: int | None = None) -> list[TaskRecord]:
        """Tasks of the kinds on the cases `f` selects, oldest first. `open_only` keeps the
        open tasks (cheap: only cases now in a task state are read); `inspector` keeps the
        tasks sent to that inspector; `case_ids` keeps the tasks of those cases. `max_rows`
        reads at most that many of the newest tasks with an id below `before_id` (a page of
        a long history; fewer may remain after the `inspector` filter)."""
        sends = [a for a, k in SEND_ACTIONS.items() if k in kinds]
        if not sends:
            return []
        where = _where(f)
        c = t.cases.c
        if case_ids is not None:
            where.append(c.id.in_(list(case_ids)))
        if open_only:
            where.append(c.state.in_([KIND_STATES[k] for k in kinds]))
            if inspector is not None:
                where.append(c.inspector == inspector)
        if before_id is not None:
            where.append(_E.id < before_id)
        query = (sa.select(t.cases, *_EVENT_COLS)
                 .join(t.case_events, _E.case_id == c.id)
                 .where(_E.action.in_(sends), *where))
        if max_rows is not None:
            query = query.order_by(_E.id.desc()).limit(max_rows)
        rows = sorted(self._conn.execute(query).all(), key=lambda r: r.event_id)
        cases: dict[int, Case] = {}
        for row in rows:
            if row.case_id not in cases:
                cases[row.case_id] = row_to_case(row, self._tz)
        tasks = self._build(cases, rows)
        if open_only:
            tasks = [task for task in tasks if task.is_open]
        if inspector is not None:
            tasks = [task for task in tasks if task.inspector == inspector]
        return tasks

    def _build(self, cases: dict[int, Case], send_rows: Sequence[Any]) -> list[TaskRecord]:
        ids = list(cases)
        if not ids:
            return []
        # the events that take a case out of a task state, and the latest task of each kind
        enders: dict[int, list[Any]] = {}
        for row in self._conn.execute(
                sa.select(*_EVENT_COLS).where(
                    _E.case_id.in_(ids), _E.from_state.in_(list(KIND_STATES.values())),
                    sa.or_(_E.to_state.is_(None), _E.to_state != _E.from_state))
                .order_by(_E.case_id, _E.seq)).all():
            enders.setdefault(row.case_id, []).append(row)
        latest: dict[tuple[int, str], int] = {}
        for case_id, action, seq in self._conn.execute(
                sa.select(_E.case_id, _E.action, sa.func.max(_E.seq))
                .where(_E.case_id.in_(ids), _E.action.in_(list(SEND_ACTIONS)))
                .group_by(_E.case_id, _E.action)).all():
            latest[(case_id, SEND_ACTIONS[action])] = seq
        k = t.case_clocks.c
        deadlines = {(case_id, phase): aware(deadline, self._tz)
                     for case_id, phase, deadline in self._conn.execute(
                         sa.select(k.case_id, k.phase, k.deadline).where(
                             k.case_id.in_(ids), k.phase.in_(list(KIND_STATES)))).all()}
        out = []
        for row in send_rows:
            kind = SEND_ACTIONS[row.action]
            state = KIND_STATES[kind]
            sent = _event(_EventRow(row), self._tz)
            ended = next((_event(_EventRow(e), self._tz) for e in enders.get(row.case_id, ())
                          if e.seq > row.seq and e.from_state == state), None)
            is_latest = latest.get((row.case_id, kind)) == row.seq
            out.append(TaskRecord(
                id=row.event_id, kind=kind, case=cases[row.case_id], sent=sent, ended=ended,
                superseded=not is_latest,
                due_at=deadlines.get((row.case_id, kind)) if is_latest else None))
        return out


class _EventRow:
    """The event columns of a joined row (the case's own `unit_code` has the plain name)."""

    __slots__ = ("_row",)

    def __init__(self, row: Any):
        self._row = row

    def __getattr__(self, name: str) -> Any:
        if name == "unit_code":
            return self._row.event_unit_code
        return getattr(self._row, name)
