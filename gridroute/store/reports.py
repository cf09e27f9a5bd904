"""Case history for the indicators (gridroute/reports/indicators.py), read in two queries.

The cases of a period are found from history alone: the ``report``, ``file`` and
``self_handle`` events whose time falls in it (index ``ix_case_events_action_at``,
migration 0011). One query reads those cases' grouping columns, a second their events with
the time as epoch seconds (no datetime objects per row), restricted to the actions the
grouping needs. The result is the column tables of :class:`gridroute.reports.indicators.History`.

Region and unit reports read the cases' stored facts instead (``case_report_facts``, migration
0012; see reports/indicators.py ``case_facts``): one query finds the period's cases and reads
their usable facts, one short row each; the ids of the cases without usable facts come back
with it, to be replayed and stored again.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.reports.indicators import ACTIONS, CHANNELS, FACT_FLAGS, STATES, URGENCIES
from gridroute.store import tables as t
from gridroute.store.repository import public_id_of

__all__ = ["HistoryQuery", "ReportRepository", "reports_of", "store_facts", "tidy_tables"]

_log = logging.getLogger(__name__)
LATE_BIT = len(FACT_FLAGS)  # fact_rows: lateness at as_of, above the stored flags

_KEY_COLUMNS = {"cell": "cell_code", "community": "community_code", "street": "street_code",
                "district": "district_code"}


@dataclass(frozen=True)
class HistoryQuery:
    """Which cases: reported, filed or self-handled in ``[start, end)`` (``cohort_actions``),
    optionally of a category (exact 小类 or 大类 prefix) and inside grid-code prefixes (a
    manager's scope; None = everywhere). Which events: those up to ``as_of`` of ``actions``
    (all when None; every event when ``as_of`` is None). ``key_columns``: the case columns to
    read besides the fixed ones. ``case_ids``: these cases of the period only."""

    start: datetime
    end: datetime
    as_of: datetime | None
    actions: frozenset[str] | None = None
    category: str | None = None
    scope_prefixes: Sequence[str] | None = None
    key_columns: Sequence[str] = ("cell_code", "community_code", "street_code",
                                  "district_code")
    cohort_actions: Sequence[str] = ("report", "file", "self_handle")
    with_actor: bool = True
    with_inspector: bool = True
    with_public_id: bool = False
    with_category: bool = True
    #: only these cases (the period's cases whose stored facts could not serve)
    case_ids: Sequence[int] | None = None
    with_version: bool = False


def _coded(column, vocabulary):
    """CASE column WHEN name THEN its position ... END (NULL for anything else)."""
    return sa.case({name: code for code, name in enumerate(vocabulary)}, value=column)


def _like_prefix(column, prefix: str):
    escaped = prefix.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return column.like(escaped + "%", escape="\\")


class ReportRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def _epoch(self, column):
        """The instant as epoch seconds. SQLite: from julianday(), rounded to the
        millisecond (julianday's double is exact to about 20 µs at today's dates; the
        indicators compare minutes and hours)."""
        if self.conn.dialect.name == "sqlite":
            return sa.func.round((sa.func.julianday(column) - 2440587.5) * 86400000.0) / 1000.0
        return sa.cast(sa.extract("epoch", column), sa.Float)

    def _cohort(self, q: HistoryQuery):
        e, c = t.case_events.c, t.cases.c
        sel = (sa.select(e.case_id).where(e.action.in_(list(q.cohort_actions)),
                                         e.at >= q.start, e.at < q.end))
        conditions = []
        if q.category:
            conditions.append(sa.or_(c.category_code == q.category,
                                     _like_prefix(c.category_code, q.category)))
        if q.scope_prefixes is not None:
            prefixes = [p for p in q.scope_prefixes if p]
            conditions.append(sa.or_(*[_like_prefix(c.cell_code, p) for p in prefixes])
                              if prefixes else sa.false())
        if conditions:
            sel = sel.join(t.cases, t.cases.c.id == e.case_id).where(*conditions)
        return sel.distinct()

    def _frame(self, statement, columns: list[str]) -> pd.DataFrame:
        """Rows straight from the DBAPI cursor as columns (no Row objects: this is the bulk
        path; every value is text, a number or NULL by construction of the queries)."""
        result = self.conn.execute(statement)
        rows = result.cursor.fetchall()
        result.close()
        if not rows:
            return pd.DataFrame({name: pd.Series([], dtype=object) for name in columns})
        # from_records: the tuples go to one object array in C, then each column is
        # converted once (same dtypes as building the columns in Python, half the time)
        return pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)

    def history(self, q: HistoryQuery) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(cases, events) column tables of the period's cases."""
        c, e, s = t.cases.c, t.case_events.c, t.standards.c
        if self.conn.dialect.name == "postgresql":
            # two short queries: compiling them (JIT) would cost more than running them
            self.conn.exec_driver_sql("SET LOCAL jit = off")
        if q.case_ids is not None:
            in_cohort = list(q.case_ids)
        else:
            cohort = self._cohort(q).subquery()
            in_cohort = sa.select(cohort.c.case_id)
        # only the columns the indicators read; names as small integer codes (no string per
        # row), strings where they are the answer (grid codes, units, people)
        limit = sa.func.coalesce(c.routing["limit"].as_string(),
                                 c.routing["standard_limit"].as_string(),
                                 sa.cast(s.limit_amount, sa.String) + " " + s.limit_unit)
        case_cols = {"case_id": c.id, "channel": _coded(c.channel, CHANNELS),
                     "urgency": _coded(c.urgency, URGENCIES), "handle_limit": limit}
        for name in q.key_columns:
            case_cols[name] = c[name]
        if q.with_actor or q.with_inspector:
            case_cols["reporter"] = c.reporter
        if q.with_category:
            case_cols["category_code"] = c.category_code
        if q.with_public_id:
            case_cols["reported_at"] = c.reported_at
        if q.with_version:
            case_cols["version"] = c.version
        case_sel = (sa.select(*case_cols.values())
                    .select_from(t.cases.outerjoin(t.standards, s.id == c.standard_id))
                    .where(c.id.in_(in_cohort)))
        cases = self._frame(case_sel, columns=list(case_cols))
        if q.with_public_id:
            reported = pd.to_datetime(cases["reported_at"], utc=True, format="mixed")
            cases["public_id"] = [public_id_of(i, r) for i, r in
                                  zip(cases["case_id"].tolist(), reported.tolist())]
            cases = cases.drop(columns=["reported_at"])

        event_cols = {"case_id": e.case_id, "seq": e.seq,
                      "action": _coded(e.action, ACTIONS), "at": self._epoch(e.at),
                      "unit_code": sa.case((e.action == "dispatch", e.unit_code)),
                      "to_state": _coded(e.to_state, STATES)}
        if q.with_actor:
            event_cols["actor"] = e.actor
        if q.with_inspector:
            event_cols["inspector"] = sa.case((e.action.in_(["send_verify", "send_check"]),
                                               e.payload["inspector"].as_string()))
        event_sel = sa.select(*event_cols.values()).where(e.case_id.in_(in_cohort))
        if q.as_of is not None:
            event_sel = event_sel.where(e.at <= q.as_of)
        if q.actions is not None:
            event_sel = event_sel.where(e.action.in_(sorted(q.actions)))
        events = self._frame(event_sel, columns=list(event_cols))
        events["at"] = events["at"].astype("float64")
        return cases, events

    # ------------------------------------------------------------------ stored facts

    def standards_digest(self) -> str:
        """A digest of the catalogue's handling limits (a case without a routed limit takes
        its standard's, so stored facts depend on them)."""
        s = t.standards.c
        rows = self.conn.execute(sa.select(s.id, s.limit_amount, s.limit_unit)
                                 .order_by(s.id)).all()
        return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16]

    def fact_rows(self, q: HistoryQuery, *, basis: str, tq: float, with_unit: bool = True
                  ) -> tuple[pd.DataFrame, list[int]]:
        """The period's cases with usable stored facts, one row each: ``q.key_columns`` of
        the case, then (``with_unit``) the stored ``unit_code``, ``flags``, ``filed_at``,
        ``report_at``, ``work_hours``, and ``late`` at ``tq`` (what
        :func:`gridroute.reports.indicators.groups_from_facts` reads; ``deadline`` NaN, as
        the lateness is read already). The cases without usable facts (none stored, an older
        case version or basis, events after ``tq``, not exact) come back as ids, to be
        replayed. The database finds, joins and reads the clock; pandas groups (any grouping
        and sub-period of the page from the same rows)."""
        c, f = t.cases.c, t.case_report_facts.c
        if self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql("SET LOCAL jit = off")
        cohort = self._cohort(q).subquery()
        usable = sa.and_(f.case_id == c.id, f.case_version == c.version, f.basis == basis,
                         f.last_at <= tq, f.exact)
        keys = list(q.key_columns)
        late_bit = 1 << LATE_BIT
        # the clock read at tq as one more bit of the flags: fewer values to carry per row
        bits = f.flags + sa.case((f.deadline.is_(None), sa.cast(f.late, sa.Integer) * late_bit),
                                 (f.deadline < tq, late_bit), else_=0)
        selected = [c[k] for k in keys] + ([f.unit_code] if with_unit else []) + [
            bits, f.filed_at, f.report_at, f.work_hours, sa.case((f.case_id.is_(None), c.id))]
        columns = keys + (["unit_code"] if with_unit else []) + [
            "flags", "filed_at", "report_at", "work_hours", "stale"]
        sel = (sa.select(*selected)
               .select_from(t.cases.outerjoin(t.case_report_facts, usable))
               .where(c.id.in_(sa.select(cohort.c.case_id))))
        frame = self._frame(sel, columns)
        stale = frame["stale"].notna().to_numpy()
        ids = sorted(int(x) for x in frame["stale"].to_numpy()[stale])
        frame = frame[~stale].drop(columns=["stale"]).reset_index(drop=True)
        flags = frame["flags"].to_numpy(dtype="int64")
        frame["flags"] = flags & (late_bit - 1)
        frame["late"] = (flags & late_bit) != 0
        frame["deadline"] = np.nan
        frame = frame.astype({"filed_at": "float64", "report_at": "float64",
                              "work_hours": "float64"})
        return frame, ids

    def save_facts(self, facts: pd.DataFrame, versions: dict[int, int], basis: str) -> None:
        """Store (replace) the facts of these cases, computed from their history at
        ``versions`` (case id → version read with the history). In bulk: PostgreSQL copies
        them into a temporary table first, SQLite inserts them through its own cursor."""
        if not len(facts):
            return
        # in id order, so that two reports storing the same cases cannot deadlock
        facts = facts.sort_values("case_id")
        ids = facts["case_id"].astype("int64").tolist()

        def column(name, kind):
            values = facts[name]
            out = values.astype(kind).tolist() if kind is not object else values.tolist()
            return [None if v is None or (isinstance(v, float) and v != v) else v
                    for v in out] if values.isna().any() else out

        rows = list(zip(
            ids, [int(versions[i]) for i in ids], [basis] * len(ids),
            column("last_at", float), column("report_at", float), column("filed_at", float),
            facts["flags"].astype("int64").tolist(), column("unit_code", object),
            column("work_hours", float), facts["late"].astype(bool).tolist(),
            column("deadline", float), facts["exact"].astype(bool).tolist()))
        names = [c.name for c in t.case_report_facts.columns]
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "case_id")
        upsert = (f"INSERT INTO case_report_facts ({', '.join(names)}) {{source}} "
                  f"ON CONFLICT (case_id) DO UPDATE SET {updates}")
        raw = self.conn.connection.driver_connection
        if self.conn.dialect.name == "postgresql":
            with raw.cursor() as cursor:
                cursor.execute("CREATE TEMP TABLE IF NOT EXISTS case_report_facts_in "
                               "(LIKE case_report_facts) ON COMMIT DELETE ROWS")
                with cursor.copy(f"COPY case_report_facts_in ({', '.join(names)}) "
                                 "FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(upsert.format(source=f"SELECT {', '.join(names)} FROM "
                                                    "case_report_facts_in"))
                cursor.execute("TRUNCATE case_report_facts_in")
            return
        cursor = raw.cursor()
        try:
            marks = ", ".join("?" for _ in names)
            cursor.executemany(upsert.format(source=f"VALUES ({marks})"), rows)
        finally:
            cursor.close()

    def cohort_counts(self, start: datetime, end: datetime, column: str = "cell_code",
                      actions: Iterable[str] = ("file", "self_handle")) -> dict:
        """A plain ``GROUP BY`` count of the period's filed cases (the bench's yardstick)."""
        c, e = t.cases.c, t.case_events.c
        sel = (sa.select(c[column], sa.func.count())
               .select_from(t.case_events.join(t.cases, t.cases.c.id == e.case_id))
               .where(e.action.in_(list(actions)), e.at >= start, e.at < end)
               .group_by(c[column]))
        return dict(self.conn.execute(sel).all())


def store_facts(open_uow, facts: pd.DataFrame, versions: dict[int, int], basis: str) -> bool:
    """Save indicator facts in a unit of work of their own (``open_uow()``); False, and
    nothing written, when the database refuses (read-only, a conflict): facts are a cache."""
    try:
        with open_uow() as uow:
            reports_of(uow).save_facts(facts, versions, basis)
            uow.commit()
    except sa.exc.DBAPIError as exc:
        _log.warning("indicator facts not stored (%s): the next report replays them again",
                     exc.__class__.__name__)
        return False
    return True


def reports_of(uow) -> ReportRepository:
    """The report queries on a unit of work's connection (services never see it)."""
    return ReportRepository(uow._conn)


# --------------------------------------------------------------------------- bulk loading

def bulk_insert_history(engine, cases: pd.DataFrame, events: pd.DataFrame,
                        chunk: int = 200_000) -> None:
    """Insert ready-made case rows and their events in bulk (benchmarks, migrations from
    another system): column names are those of ``cases`` and ``case_events``; times are
    UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``, JSON columns JSON text. No intake, no clocks:
    the caller answers for the rows being a valid history. PostgreSQL uses COPY."""
    for table, frame in ((t.cases, cases), (t.case_events, events)):
        columns = list(frame.columns)
        unknown = [c for c in columns if c not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column {unknown[0]!r}")
        if engine.dialect.name == "postgresql":
            _copy(engine, table.name, columns, frame)
            continue
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            for first in range(0, len(frame), chunk):
                part = frame.iloc[first:first + chunk]
                cursor.executemany(sql, part.itertuples(index=False, name=None))
            cursor.close()
    if engine.dialect.name == "postgresql":
        # COPY leaves the id sequences behind the rows given with their ids
        with engine.begin() as conn:
            for table in ("cases", "case_events"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT coalesce(max(id), 1) FROM {table}))")
    tidy_tables(engine)


def tidy_tables(engine, table: str | None = None) -> None:
    """Fresh planner statistics for ``table`` (every table when None) after bulk changes;
    on PostgreSQL VACUUM too: dead rows go and the visibility map allows index-only scans
    of the history index (what autovacuum would do, later)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM ANALYZE" + (f" {table}" if table else ""))
        else:
            conn.exec_driver_sql("ANALYZE" + (f" {table}" if table else ""))
            conn.commit()


def _copy(engine, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")  # the text times are UTC
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in frame.itertuples(index=False, name=None):
                    copy.write_row(row)
