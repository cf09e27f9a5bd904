"""Stored indicator facts in the database (case_report_facts): a report stores what it
replayed, the next one groups the stored facts in SQL and gives the same rows; a case changed
since, another calendar or a past as_of is replayed again; a database that refuses the write
still gets its report (SQLite and PostgreSQL)."""
from __future__ import annotations

import logging
from datetime import datetime

import pytest
import sqlalchemy as sa

from gridroute.services import kpi
from gridroute.services.context import build_context
from gridroute.services.workflow import perform
from gridroute.store.reports import ReportRepository
from test_kpi_api import AS_OF, SH, STREET_1_ROW, STREET_2_ROW, U1, U2, build_history, m

pytestmark = pytest.mark.db

START, END = datetime(2026, 11, 25, tzinfo=SH), datetime(2026, 11, 26, tzinfo=SH)
AS_OF_T = datetime.fromisoformat(AS_OF)


@pytest.fixture
def replays(monkeypatch):
    """How many cases each report replayed from their history."""
    calls: list[int] = []
    real = kpi.case_facts

    def counting(history, **kw):
        calls.append(len(history.cases))
        return real(history, **kw)
    monkeypatch.setattr(kpi, "case_facts", counting)
    return calls


def _rows(ctx, by="street", as_of=AS_OF_T):
    return kpi.kpi_report(ctx, None, start=START, end=END, as_of=as_of, by=by).rows


def _replayed_rows(ctx, by="street", as_of=AS_OF_T):
    """The same report from the history alone (no stored facts involved)."""
    history = kpi.history_for(ctx, start=START, end=END, as_of=as_of, by=by)
    frame = kpi.compute_frame(history, start=START, end=END, as_of=as_of, by=by,
                              calendar=ctx.calendar, limits=kpi.centre_limits(ctx.config),
                              settings=kpi.report_settings(ctx.config),
                              default_handle_limit=ctx.config.sla.handle_default_limit)
    return kpi.rows_of(frame)


def _stored(ctx):
    with ctx.engine.connect() as conn:
        return {r.case_id: r for r in conn.execute(sa.text(
            "SELECT case_id, case_version, basis FROM case_report_facts")).all()}


def test_a_second_report_reads_the_stored_facts(app_ctx, replays):
    ids = build_history(app_ctx)
    assert _rows(app_ctx) == [STREET_1_ROW, STREET_2_ROW]
    assert replays == [4]  # the first report replays the four cases ...
    stored = _stored(app_ctx)
    assert set(stored) == set(ids.values())  # ... and stores their facts
    assert _rows(app_ctx) == [STREET_1_ROW, STREET_2_ROW]
    assert replays == [4]  # the second one replays none
    assert _rows(app_ctx, "unit") == _replayed_rows(app_ctx, "unit")
    assert replays == [4]


def test_a_case_changed_since_is_replayed_and_counted_anew(app_ctx, replays):
    ids = build_history(app_ctx)
    before = {r["group"]: r for r in _rows(app_ctx, "unit")}
    assert (before[U1]["handled"], before[U1]["overdue_open"]) == (1, 1)
    # case b (U1, accepted, overdue) is resolved: one more handled, no overdue left
    perform(app_ctx, ids["b"], "resolve", actor="u1", role="unit",
            payload={"reply": "已处理"}, at=m(300))
    after = {r["group"]: r for r in _rows(app_ctx, "unit")}
    assert replays[-1] == 1  # only the changed case
    assert (after[U1]["handled"], after[U1]["overdue_open"]) == (2, 0)
    assert after[U2] == before[U2]
    assert list(after.values()) == _replayed_rows(app_ctx, "unit")
    version = _stored(app_ctx)[ids["b"]].case_version
    with app_ctx.engine.connect() as conn:
        assert version == conn.execute(sa.text("SELECT version FROM cases WHERE id = :i"),
                                       {"i": ids["b"]}).scalar()


def test_another_calendar_recomputes_every_case(app_ctx, replays):
    build_history(app_ctx)
    _rows(app_ctx, "unit")
    other = build_context(app_ctx.config.replace(sla={"working_hours": "09:00-12:00"}))
    try:
        rows = _rows(other, "unit")
        assert replays == [4, 4]
        assert rows == _replayed_rows(other, "unit")
        assert {s.basis for s in _stored(other).values()} == \
            {kpi.facts_basis(other, _digest(other))}
    finally:
        other.close()


def _digest(ctx):
    with ctx.engine.connect() as conn:
        return ReportRepository(conn).standards_digest()


def test_a_past_as_of_replays_the_cases_with_later_events(app_ctx, replays):
    build_history(app_ctx)
    _rows(app_ctx)
    # minute 15: a is resolved later (minute 70) and c voided (minute 30), so those two are
    # replayed; b's and d's last indicator events (dispatch, minute 10) precede it (b's
    # acceptance at minute 20 changes no indicator)
    then = m(15)
    assert _rows(app_ctx, "street", as_of=then) == _replayed_rows(app_ctx, "street", then)
    assert replays[-1] == 2
    assert _rows(app_ctx) == [STREET_1_ROW, STREET_2_ROW]
    assert replays == [4, 2]  # the stored facts were kept: nothing new to replay


def test_a_database_that_refuses_the_facts_still_answers(app_ctx, replays, monkeypatch,
                                                         caplog):
    build_history(app_ctx)

    def refuse(self, *args, **kw):
        raise sa.exc.OperationalError("INSERT", {}, Exception("attempt to write a readonly "
                                                              "database"))
    monkeypatch.setattr(ReportRepository, "save_facts", refuse)
    with caplog.at_level(logging.WARNING):
        assert _rows(app_ctx) == [STREET_1_ROW, STREET_2_ROW]
    assert "indicator facts not stored (OperationalError)" in caplog.text
    assert _stored(app_ctx) == {}
    assert _rows(app_ctx) == [STREET_1_ROW, STREET_2_ROW]
    assert replays == [4, 4]
