"""/healthz: always JSON; 200 with every fact an operator needs, 503 with `status: error` and
the reason when the instance cannot serve. Both databases."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import gridroute.web.pages  # noqa: F401 - imported before any test patches what it imports
from gridroute.app import create_app
from gridroute.config import load_config
from gridroute.services.context import build_context
from gridroute.store.schema import head_revision, upgrade_database

HEAD = head_revision()
NOW = datetime(2026, 11, 25, 10, 0)


def _get(ctx):
    response = create_app(context=ctx).test_client().get("/healthz")
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


@pytest.fixture
def at_now(app_ctx, monkeypatch):
    """The context's clock set to `now` (mutable: `at_now[0] = ...`)."""
    moment = [NOW.replace(tzinfo=app_ctx.tz)]
    monkeypatch.setattr(app_ctx, "now", lambda: moment[0])
    return moment


def test_a_healthy_instance_reports_every_fact(app_ctx, at_now):
    status, body = _get(app_ctx)
    assert status == 200, body
    assert body["status"] == "ok" and body["reasons"] == [] and "reason" not in body
    assert body["checked_at"] == "2026-11-25T10:00:00+08:00"
    assert body["database"] == {"reachable": True, "backend": app_ctx.engine.dialect.name}
    assert body["schema"] == {"revision": HEAD, "head": HEAD, "status": "current",
                              "problem": None}
    assert body["grid"]["version_id"] == 1 and body["grid"]["cells"] == 1226
    assert body["grid"]["streets"] == 10 and len(body["grid"]["content_hash"]) == 64
    ruleset = app_ctx.rules.current()
    assert body["rules"]["sha256"] == ruleset.content_hash
    assert body["rules"]["rules"] == 36 and body["rules"]["status"] == "ok"
    assert body["scheduler"] == {"tick_seconds": 60, "last_tick_at": None,
                                 "last_tick_ok": None, "jobs": {}}
    assert body["warnings"] == ["scheduler: no escalation tick recorded yet "
                                "(is a scheduler running?)"]
    assert body["calendar"] == {"warnings": []}
    assert body["outbox"] == {"pending": 0, "failed": 0, "oldest_pending_at": None}
    assert body["overdue"] == {"total": 0, "by_phase": {}}


def test_outbox_depth_and_overdue_counts(app_ctx, at_now):
    from gridroute.services.intake import ReportInput, submit_report

    for n in range(2):
        submit_report(app_ctx, ReportInput(channel="inspector", category_code="E0102",
                                           lon=121.48 + n / 1000, lat=31.23,
                                           description=f"垃圾 {n}"))
    status, body = _get(app_ctx)
    assert status == 200
    assert body["outbox"] == {"pending": 2, "failed": 0,
                              "oldest_pending_at": "2026-11-25T10:00:00+08:00"}
    assert body["overdue"] == {"total": 0, "by_phase": {}}
    # the file clock (受理) runs 0.5 natural hours: past it both cases are overdue there
    at_now[0] += timedelta(minutes=31)
    status, body = _get(app_ctx)
    assert body["overdue"] == {"total": 2, "by_phase": {"file": 2}}


def test_scheduler_runs_show_up_and_a_stalled_or_failing_tick_is_a_warning(app_ctx, at_now,
                                                                           monkeypatch):
    from gridroute import scheduler

    scheduler.run_tick(app_ctx)
    status, body = _get(app_ctx)
    assert status == 200
    tick = body["scheduler"]["jobs"]["escalation-tick"]
    assert tick["ok"] is True and tick["error"] is None
    assert body["scheduler"]["last_tick_ok"] is True
    assert body["scheduler"]["last_tick_at"] == tick["finished_at"] == tick["last_ok_at"]
    assert not [w for w in body["warnings"] if w.startswith("scheduler")]

    at_now[0] += timedelta(minutes=10)
    age = (at_now[0] - datetime.fromisoformat(tick["finished_at"])).total_seconds()
    body = _get(app_ctx)[1]
    assert body["status"] == "ok"
    assert f"scheduler: last escalation tick {age:.0f} s ago, expected every 60 s" \
        in body["warnings"]

    def broken(ctx, now):
        raise RuntimeError("clock table unreadable")

    monkeypatch.setattr("gridroute.services.escalation.tick", broken)
    scheduler.run_tick(app_ctx)
    body = _get(app_ctx)[1]
    assert body["scheduler"]["last_tick_ok"] is False
    assert body["scheduler"]["jobs"]["escalation-tick"]["last_ok_at"] == tick["last_ok_at"]
    assert ("scheduler: the last escalation tick failed: RuntimeError: clock table unreadable"
            in body["warnings"])


def test_a_calendar_past_its_data_is_a_warning(app_ctx, monkeypatch):
    monkeypatch.setattr(app_ctx, "now", lambda: datetime(2028, 3, 2, 10, 0, tzinfo=app_ctx.tz))
    status, body = _get(app_ctx)
    expected = ("working calendar has no statutory data for 2028; weekday rule in use since "
                "2028-01-01 — add overrides")
    assert body["calendar"] == {"warnings": [expected]}
    assert f"calendar: {expected}" in body["warnings"]
    assert status == 200 and body["status"] == "ok"


def test_no_grid_is_an_error(db_url):
    ctx = build_context(load_config(env={}).replace(database={"url": db_url}))
    try:
        status, body = _get(ctx)
    finally:
        ctx.close()
    assert status == 503
    assert body["status"] == "error"
    assert body["reasons"][0] == "grid: no grid loaded: run gridroute init"
    # nor reference data: the shipped rules name categories the database lacks
    assert body["reasons"][1].startswith("rules: no valid rules loaded: ")
    assert body["reason"] == "; ".join(body["reasons"])


def _blank_context(url):
    return build_context(load_config(env={}).replace(database={"url": url}))


def test_a_database_not_initialised_is_json_503_and_no_file_appears(tmp_path):
    path = tmp_path / "absent.db"
    ctx = _blank_context(f"sqlite:///{path}")
    try:
        status, body = _get(ctx)
    finally:
        ctx.close()
    assert status == 503
    assert body["reason"] == "schema: database not initialised: run gridroute init"
    assert body["database"]["reachable"] is False
    assert body["schema"]["status"] == "missing" and body["schema"]["revision"] is None
    assert not path.exists()


def test_a_schema_behind_is_json_503_naming_both_revisions(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_database(url, "0001")
    ctx = _blank_context(url)
    try:
        status, body = _get(ctx)
    finally:
        ctx.close()
    assert status == 503
    assert body["reason"] == (f"schema: schema at 0001, this version needs {HEAD}: "
                              "run gridroute db upgrade")
    assert body["schema"]["revision"] == "0001" and body["schema"]["head"] == HEAD


def test_an_unreachable_database_is_json_503():
    ctx = _blank_context("postgresql+psycopg://gr:s3cret@127.0.0.1:1/nowhere")
    try:
        status, body = _get(ctx)
    finally:
        ctx.close()
    assert status == 503
    assert body["reason"].startswith(
        "database: database unreachable (postgresql+psycopg://gr:***@127.0.0.1:1/nowhere): ")
    assert body["database"] == {"reachable": False}
    assert "s3cret" not in str(body)


def test_a_failing_probe_or_report_is_still_json(app_ctx, monkeypatch):
    def boom(ctx):
        raise RuntimeError("grid table corrupt")

    monkeypatch.setattr("gridroute.services.grids.grid_overview", boom)
    status, body = _get(app_ctx)
    assert status == 503 and body["reason"] == "grid: RuntimeError: grid table corrupt"
    assert body["overdue"] == {"total": 0, "by_phase": {}}  # the other probes still ran

    def broken(ctx):
        raise RuntimeError("no memory")

    monkeypatch.setattr("gridroute.api.health.health_report", broken)
    status, body = _get(app_ctx)
    assert status == 503
    assert body == {"status": "error", "reason": "health check failed: RuntimeError: no memory",
                    "reasons": [], "warnings": []}


def test_a_busy_database_is_reported_as_busy(app_ctx, monkeypatch):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def locked(self):
        err = sqlite3.OperationalError("database is locked")
        err.sqlite_errorcode = 5
        raise OperationalError("SELECT 1", {}, err)

    monkeypatch.setattr("gridroute.store.repository.UnitOfWork.ping", locked)
    status, body = _get(app_ctx)
    assert status == 503 and body["reason"] == "database: database busy, try again"


def test_any_page_on_a_busy_database_is_503_with_retry_after(app_ctx, monkeypatch):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def locked(ctx):
        err = sqlite3.OperationalError("database is locked")
        err.sqlite_errorcode = 5
        raise OperationalError("SELECT 1", {}, err)

    monkeypatch.setattr("gridroute.web.pages.grid_overview", locked)
    response = create_app(context=app_ctx).test_client().get("/grid")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json() == {"error": {"code": "database_busy", "field": None,
                                             "message": "database busy, try again"}}
