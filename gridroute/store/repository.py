"""Repositories and the unit of work. Each use case opens one `UnitOfWork`; everything it
writes (case, history, clocks, outbox) commits or rolls back together."""
from __future__ import annotations

import dataclasses
import functools
import operator
import re
from datetime import datetime
from enum import Enum
import contextlib
from typing import Any, Iterable, Iterator, NamedTuple, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gridroute.cases.model import Case, CaseEvent
from gridroute.sla.calendar import DEFAULT_TZ
from gridroute.store import tables as t
from gridroute.store.clocks import ClockRepository, EscalationRepository
from gridroute.store.db import READ_ONLY
from gridroute.store.grids import GridRepository
from gridroute.store.health import HealthRepository
from gridroute.store.outbox import OutboxRepository
from gridroute.store.prepared import PreparedInsert, PreparedSelect
from gridroute.store.reference import ReferenceRepository
from gridroute.store.users import AuditRepository, TokenRepository, UserRepository

CITY_TZ = ZoneInfo(DEFAULT_TZ)  # unless the unit of work is given the configured zone

_CASE_FIELDS = [f.name for f in dataclasses.fields(Case)]
_CASE_COLUMNS = set(t.cases.c.keys())


# Intake's writes and its duplicate query run at driver level (see store/prepared.py).
_INSERT_CASE = PreparedInsert(t.cases, exclude=("id",), returning="id")
_INSERT_EVENT = PreparedInsert(t.case_events, exclude=("id",))


@functools.lru_cache(maxsize=8)
def _duplicate_query(states: tuple[str, ...]) -> PreparedSelect:
    """Built once per state set with bound parameters: intake runs it for every report. The
    states are literals so the SQL text never changes (an expanding IN would be re-rendered)."""
    c = t.cases.c
    return PreparedSelect(sa.select(c.id, c.category_code, c.state, c.reported_at, c.x, c.y).where(
        c.category_code == sa.bindparam("category"),
        c.state.in_([sa.literal_column(f"'{s}'") for s in states]),
        c.reported_at >= sa.bindparam("since"),
        c.x >= sa.bindparam("minx"), c.x <= sa.bindparam("maxx"),
        c.y >= sa.bindparam("miny"), c.y <= sa.bindparam("maxy")))


class DuplicateCandidate(NamedTuple):
    id: int
    public_id: str
    category_code: str
    state: str
    reported_at: datetime
    x: float
    y: float


class ConcurrentUpdate(RuntimeError):
    """The case changed since it was read (optimistic lock lost)."""


class IdempotencyKeyTaken(RuntimeError):
    """Another transaction stored a case with this idempotency key first (a client retrying
    while its first request is still in flight). The unit of work must be rolled back."""

    def __init__(self, key: str):
        super().__init__(f"idempotency key {key!r} was stored by a concurrent request")
        self.key = key


def aware(value: datetime | None, tz: ZoneInfo = CITY_TZ) -> datetime | None:
    """Stored timestamps come back in UTC (see tables.UtcDateTime); show them in the city zone."""
    if value is None:
        return None
    return value.astimezone(tz)


_PUBLIC_ID = re.compile(r"GR-(\d{8})-(\d{6,})")


def public_id_of(case_id: int, reported_at: datetime | None, tz: ZoneInfo = CITY_TZ) -> str:
    """The case number people quote (案卷号), derived from id and report date, not stored:
    GR-<report date in the city>-<id, at least 6 digits>."""
    day = reported_at.astimezone(tz).strftime("%Y%m%d") if reported_at else "00000000"
    return f"GR-{day}-{case_id:06d}"


_ROW_FIELDS = tuple(name for name in _CASE_FIELDS if name in _CASE_COLUMNS and name != "id")


_ROW_VALUES = operator.attrgetter(*_ROW_FIELDS)


def case_to_row(case: Case) -> dict[str, Any]:
    row = dict(zip(_ROW_FIELDS, _ROW_VALUES(case)))
    for name in ("channel", "state", "previous_state", "urgency", "locate_status"):  # enums
        value = row[name]
        if isinstance(value, Enum):
            row[name] = value.value
    return row


def row_to_case(row: sa.Row, tz: ZoneInfo = CITY_TZ) -> Case:
    data = {k: v for k, v in row._mapping.items() if k in _CASE_FIELDS}
    for key, value in list(data.items()):
        if isinstance(value, datetime):
            data[key] = aware(value, tz)
    data["public_id"] = public_id_of(data["id"], data["reported_at"], tz)
    return Case(**data)


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(CaseEvent))
_EVENT_VALUES = operator.attrgetter(*_EVENT_FIELDS)


def _event_row(event: CaseEvent) -> dict[str, Any]:
    row = dict(zip(_EVENT_FIELDS, _EVENT_VALUES(event)))
    for key in ("role", "from_state", "to_state"):
        if row[key] is not None:
            row[key] = getattr(row[key], "value", row[key])
    return row


class CaseRepository:
    def __init__(self, conn: Connection, tz: ZoneInfo = CITY_TZ):
        self._conn = conn
        self._tz = tz

    def add(self, case: Case) -> Case:
        try:
            case.id = _INSERT_CASE.one(self._conn, case_to_row(case))
        except sa.exc.IntegrityError as exc:
            # both backends name the column in the unique violation's message
            if case.idempotency_key and "idempotency_key" in str(exc.orig):
                raise IdempotencyKeyTaken(case.idempotency_key) from exc
            raise
        case.public_id = public_id_of(case.id, case.reported_at, self._tz)
        return case

    def get(self, case_id: int, *, for_update: bool = False) -> Case | None:
        query = sa.select(t.cases).where(t.cases.c.id == case_id)
        if for_update and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        return row_to_case(row, self._tz) if row else None

    def get_many(self, case_ids: Iterable[int]) -> dict[int, Case]:
        ids = sorted(set(case_ids))
        if not ids:
            return {}
        rows = self._conn.execute(sa.select(t.cases).where(t.cases.c.id.in_(ids))).all()
        return {r.id: row_to_case(r, self._tz) for r in rows}

    def get_by_public_id(self, public_id: str) -> Case | None:
        match = _PUBLIC_ID.fullmatch(public_id.strip())
        if match is None:
            return None
        case = self.get(int(match.group(2)))
        return case if case is not None and case.public_id == public_id.strip() else None

    def get_by_idempotency_key(self, key: str) -> Case | None:
        row = self._conn.execute(
            sa.select(t.cases).where(t.cases.c.idempotency_key == key)).first()
        return row_to_case(row, self._tz) if row else None

    def save(self, case: Case, *, read_version: int) -> None:
        """Write the changed case; refuses if someone else saved since `read_version`."""
        row = case_to_row(case)
        result = self._conn.execute(
            t.cases.update().where(t.cases.c.id == case.id, t.cases.c.version == read_version)
            .values(**row))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"case {case.public_id} was changed by someone else")

    def add_event(self, event: CaseEvent) -> None:
        self.add_events([event])

    def add_events(self, events: Sequence[CaseEvent]) -> None:
        _INSERT_EVENT.many(self._conn, [_event_row(e) for e in events])

    def last_event_at(self, case_id: int) -> datetime | None:
        """When the case's latest history event happened (a new one may not precede it)."""
        e = t.case_events.c
        return aware(self._conn.execute(
            sa.select(sa.func.max(e.at)).where(e.case_id == case_id)).scalar(), self._tz)

    def events(self, case_id: int) -> list[CaseEvent]:
        rows = self._conn.execute(sa.select(t.case_events).where(t.case_events.c.case_id == case_id)
                                 .order_by(t.case_events.c.seq)).all()
        result = []
        for row in rows:
            data = dict(row._mapping)
            data.pop("id")
            data["at"] = aware(data["at"], self._tz)
            result.append(CaseEvent(**data))
        return result

    def duplicate_candidates(self, category_code: str, bbox: Sequence[float],
                             since: datetime, states: Iterable[str]) -> list[DuplicateCandidate]:
        """Cases of the category in the box since `since`: only what the duplicate rule reads."""
        minx, miny, maxx, maxy = bbox
        rows = _duplicate_query(tuple(sorted(states))).all(self._conn, {
            "category": category_code, "since": since,
            "minx": minx, "maxx": maxx, "miny": miny, "maxy": maxy})
        return [DuplicateCandidate(id_, public_id_of(id_, at, self._tz), category, state,
                                   aware(at, self._tz), x, y)
                for id_, category, state, at, x, y in rows]

    def children(self, parent_id: int) -> list[Case]:
        rows = self._conn.execute(sa.select(t.cases).where(t.cases.c.parent_id == parent_id)
                                 .order_by(t.cases.c.id)).all()
        return [row_to_case(r, self._tz) for r in rows]

    def list(self, *, where: Sequence[Any] = (), order_by: Sequence[Any] = (),
             limit: int | None = None, offset: int = 0) -> list[Case]:
        query = sa.select(t.cases).where(*where).order_by(*(order_by or (t.cases.c.id,)))
        if limit is not None:
            query = query.limit(limit).offset(offset)
        return [row_to_case(r, self._tz) for r in self._conn.execute(query).all()]

    def count(self, *, where: Sequence[Any] = ()) -> int:
        return self._conn.execute(sa.select(sa.func.count()).select_from(t.cases).where(*where)).scalar_one()


_REPOSITORIES = ("cases", "clocks", "escalations", "grids", "outbox", "health", "reference",
                 "users", "tokens", "audit", "case_lists", "grid_maps", "api_keys", "public",
                 "tasks")


class UnitOfWork:
    """`with UnitOfWork(engine) as uow: ...; uow.commit()` — leaving without commit rolls back.

    Services reach the database only through its repositories (`cases`, `clocks`,
    `escalations`, `grids`, `outbox`) and `savepoint()`; the connection stays inside `store`."""

    def __init__(self, engine: Engine, *, read_only: bool = False, tz: ZoneInfo | None = None):
        self.engine = engine
        self.read_only = read_only
        self.tz = tz or CITY_TZ  # stored instants are shown in this zone
        self._conn: Connection | None = None

    def __enter__(self) -> "UnitOfWork":
        conn = self.engine.connect()
        if self.read_only:
            conn = conn.execution_options(**READ_ONLY)
        self._conn = conn
        self._tx = conn.begin()
        for name in _REPOSITORIES:  # a unit of work entered again starts with fresh ones
            self.__dict__.pop(name, None)
        return self

    # Repositories are built on first use: a unit of work pays only for those it touches
    # (intake's touches four of fourteen).
    @functools.cached_property
    def cases(self) -> CaseRepository:
        return CaseRepository(self._conn, self.tz)

    @functools.cached_property
    def clocks(self) -> ClockRepository:
        return ClockRepository(self._conn)

    @functools.cached_property
    def escalations(self) -> EscalationRepository:
        return EscalationRepository(self._conn)

    @functools.cached_property
    def grids(self) -> GridRepository:
        return GridRepository(self._conn)

    @functools.cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self._conn)

    @functools.cached_property
    def health(self) -> HealthRepository:
        return HealthRepository(self._conn)

    @functools.cached_property
    def reference(self) -> ReferenceRepository:
        return ReferenceRepository(self._conn)

    @functools.cached_property
    def users(self) -> UserRepository:
        return UserRepository(self._conn)

    @functools.cached_property
    def tokens(self) -> TokenRepository:
        return TokenRepository(self._conn)

    @functools.cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self._conn)

    @functools.cached_property
    def case_lists(self):
        from gridroute.store.case_queries import CaseListRepository

        return CaseListRepository(self._conn)

    @functools.cached_property
    def grid_maps(self):
        from gridroute.store.grid_queries import GridMapRepository

        return GridMapRepository(self._conn)

    # Built on first use (they import this module): intake never pays for them.
    @functools.cached_property
    def api_keys(self):
        from gridroute.store.apikeys import ApiKeyRepository

        return ApiKeyRepository(self._conn)

    @functools.cached_property
    def public(self):
        """Read-only queries behind the public Open311 listing."""
        from gridroute.store.public import PublicCaseQueries

        return PublicCaseQueries(self._conn)

    @functools.cached_property
    def tasks(self):
        """Verify and check tasks, read from the history (store/tasks.py)."""
        from gridroute.store.tasks import TaskRepository

        return TaskRepository(self._conn, self.tz)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self._conn.close()

    def commit(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        self._tx.rollback()

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: kept when the block ends normally, undone (and the error
        re-raised) when it raises, so one bad item never leaves half its rows behind."""
        nested = self._conn.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            raise
        nested.commit()

    def ping(self) -> None:
        """One round trip to the database (health checks)."""
        self._conn.exec_driver_sql("SELECT 1")

