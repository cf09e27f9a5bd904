"""Case list queries for the API and pages: filters, scope, sort by remaining time and keyset
(cursor) pagination. The services hand in a plain `CaseFilter`; only this module builds SQL."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.store import tables as t
from gridroute.store.repository import row_to_case

# Cases with no running clock (closed, rejected, merged, paused) sort after every deadline.
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


@dataclass
class CaseFilter:
    states: Sequence[str] = ()
    lights: Sequence[str] = ()
    categories: Sequence[str] = ()
    units: Sequence[str] = ()
    streets: Sequence[str] = ()
    cells: Sequence[str] = ()
    channels: Sequence[str] = ()
    reporters: Sequence[str] = ()  # the reporter's name as filed (an inspector's own reports)
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    text: str | None = None
    # scope of the caller: None = everything; otherwise grid-code prefixes and/or a unit
    scope_prefixes: Sequence[str] | None = None
    scope_unit: str | None = None
    code_lengths: dict[int, str] = field(default_factory=dict)  # len → cases column


@dataclass
class CasePage:
    cases: list
    deadlines: dict[int, datetime | None]
    next_key: tuple[Any, int] | None


def _next_deadline():
    """The earliest deadline among the case's running clocks (remaining time ordering)."""
    k = t.case_clocks.c
    return (sa.select(sa.func.min(k.deadline))
            .where(k.case_id == t.cases.c.id, k.state == "running")
            .correlate(t.cases).scalar_subquery())


def _light_condition(lights: Sequence[str]):
    """Lights as the escalation tick recorded them for the running run of a running clock:
    red once a red mark exists, yellow once only a yellow one does, green otherwise."""
    k, e = t.case_clocks.c, t.escalations.c

    def marked(kind: str):
        return sa.exists().where(k.case_id == t.cases.c.id, k.state == "running",
                                 e.case_id == k.case_id, e.phase == k.phase, e.run == k.run,
                                 e.kind == kind)
    red, yellow = marked("red"), marked("yellow")
    parts = []
    if "red" in lights:
        parts.append(red)
    if "yellow" in lights:
        parts.append(sa.and_(yellow, ~red))
    if "green" in lights:
        parts.append(sa.and_(~yellow, ~red))
    return sa.or_(*parts) if parts else sa.false()


def _code_condition(code: str, lengths: dict[int, str]):
    column = lengths.get(len(code))
    if column is not None:
        return t.cases.c[column] == code
    return t.cases.c.cell_code.like(code.replace("%", r"\%").replace("_", r"\_") + "%",
                                    escape="\\")


def _where(f: CaseFilter) -> list:
    c = t.cases.c
    where: list = []
    if f.scope_prefixes is not None or f.scope_unit is not None:
        parts = [_code_condition(p, f.code_lengths) for p in (f.scope_prefixes or ())]
        if f.scope_unit is not None:
            parts.append(c.unit_code == f.scope_unit)
        where.append(sa.or_(*parts) if parts else sa.false())
    for values, column in ((f.states, c.state), (f.categories, c.category_code),
                           (f.units, c.unit_code), (f.streets, c.street_code),
                           (f.cells, c.cell_code), (f.channels, c.channel),
                           (f.reporters, c.reporter)):
        if values:
            where.append(column.in_(list(values)))
    if f.reported_from is not None:
        where.append(c.reported_at >= f.reported_from)
    if f.reported_to is not None:
        where.append(c.reported_at < f.reported_to)
    if f.text:
        needle = "%" + f.text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        where.append(c.description.ilike(needle, escape="\\"))
    if f.lights:
        where.append(_light_condition(f.lights))
    return where


class CaseListRepository:
    """`uow.case_lists`: the filtered, scoped, paged case lists."""

    def __init__(self, conn: Connection):
        self._conn = conn

    def page(self, f: CaseFilter, *, sort: str, limit: int,
             after: tuple[Any, int] | None) -> CasePage:
        return list_cases(self._conn, f, sort=sort, limit=limit, after=after)

    def count_by_state(self, f: CaseFilter) -> dict[str, int]:
        return count_by_state(self._conn, f)


def list_cases(conn: Connection, f: CaseFilter, *, sort: str, limit: int,
               after: tuple[Any, int] | None) -> CasePage:
    """One page in `sort` order ("remaining", "reported_at" or "-reported_at"), starting after
    the key of the previous page's last case."""
    c = t.cases.c
    deadline = _next_deadline().label("next_deadline")
    if sort == "remaining":
        key = sa.func.coalesce(_next_deadline(), _FAR_FUTURE)
        order = [key.asc(), c.id.asc()]
        ascending = True
    elif sort == "reported_at":
        key, order, ascending = c.reported_at, [c.reported_at.asc(), c.id.asc()], True
    else:
        key, order, ascending = c.reported_at, [c.reported_at.desc(), c.id.desc()], False
    where = _where(f)
    if after is not None:
        value, last_id = after
        if ascending:
            where.append(sa.or_(key > value, sa.and_(key == value, c.id > last_id)))
        else:
            where.append(sa.or_(key < value, sa.and_(key == value, c.id < last_id)))
    query = (sa.select(t.cases, deadline).where(*where).order_by(*order).limit(limit + 1))
    rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cases = [row_to_case(r) for r in rows]
    deadlines = {}
    for case, row in zip(cases, rows):
        value = row.next_deadline
        if value is not None and not isinstance(value, datetime):
            value = datetime.fromisoformat(str(value))
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        deadlines[case.id] = value
    next_key = None
    if more and cases:
        last = cases[-1]
        if sort == "remaining":
            next_key = (deadlines[last.id] or _FAR_FUTURE, last.id)
        else:
            next_key = (last.reported_at, last.id)
    return CasePage(cases, deadlines, next_key)


def count_by_state(conn: Connection, f: CaseFilter) -> dict[str, int]:
    c = t.cases.c
    rows = conn.execute(sa.select(c.state, sa.func.count()).where(*_where(f))
                        .group_by(c.state)).all()
    return {state: n for state, n in rows}
