"""The APScheduler set-up: job options, error containment and a real background run."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from gridroute import scheduler as sched
from gridroute.config import load_config
from gridroute.services.context import AppContext

from helpers_cases import at, create_case, escalation_rows, make_context, seed_units


def _offline_context(**scheduler_settings) -> AppContext:
    config = load_config().replace(scheduler=scheduler_settings or {})
    return AppContext(config=config, engine=None)  # type: ignore[arg-type]


def _check_jobs(scheduler, tick_seconds: int, grace: int) -> None:
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {sched.TICK_JOB_ID, sched.DELIVERY_JOB_ID}
    intervals = {sched.TICK_JOB_ID: tick_seconds, sched.DELIVERY_JOB_ID: 30}
    for job_id, job in jobs.items():
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(seconds=intervals[job_id])
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == grace
    assert jobs[sched.TICK_JOB_ID].func is sched.run_tick
    assert jobs[sched.DELIVERY_JOB_ID].func is sched.run_delivery
    assert str(scheduler.timezone) == "Asia/Shanghai"


def test_background_scheduler_jobs_are_configured():
    ctx = _offline_context(tick_seconds=45, misfire_grace_seconds=40)
    scheduler = sched.build_scheduler(ctx)
    assert isinstance(scheduler, BackgroundScheduler)
    _check_jobs(scheduler, 45, 40)


def test_blocking_scheduler_jobs_are_configured():
    ctx = _offline_context()
    scheduler = sched.build_scheduler(ctx, blocking=True)
    assert isinstance(scheduler, BlockingScheduler)
    _check_jobs(scheduler, 60, 50)


def test_time_zone_comes_from_the_configuration():
    config = load_config().replace(app={"time_zone": "Asia/Urumqi"})
    scheduler = sched.build_scheduler(AppContext(config=config, engine=None))  # type: ignore[arg-type]
    assert str(scheduler.timezone) == "Asia/Urumqi"
    assert all(str(job.trigger.timezone) == "Asia/Urumqi" for job in scheduler.get_jobs())
    tick_job = scheduler.get_job(sched.TICK_JOB_ID)
    assert tick_job.next_run_time.tzinfo is not None


def test_jobs_log_exceptions_instead_of_raising(caplog):
    ctx = _offline_context()   # no engine: every database call fails
    with caplog.at_level(logging.ERROR, logger="gridroute.scheduler"):
        sched.run_tick(ctx)
        sched.run_delivery(ctx)
    messages = [r.getMessage() for r in caplog.records if r.name == "gridroute.scheduler"]
    assert any("escalation tick failed" in m for m in messages)
    assert any("notification delivery failed" in m for m in messages)


def test_background_scheduler_runs_the_tick(db_url, engine, monkeypatch):
    ctx = make_context(db_url, engine)
    seed_units(ctx)
    case = create_case(ctx, started_at=at("2026-11-25 09:00"))
    # Pretend it is 16:00 on that day, and tick every second starting at once.
    monkeypatch.setattr(AppContext, "now", lambda self: at("2026-11-25 16:00"))
    monkeypatch.setattr(sched, "FIRST_TICK_DELAY_S", 0)
    ctx = AppContext(config=ctx.config.replace(scheduler={"tick_seconds": 1}), engine=engine)
    done = threading.Event()
    original = sched.run_tick

    def watched(context):
        original(context)
        done.set()

    monkeypatch.setattr(sched, "run_tick", watched)
    scheduler = sched.start_background_scheduler(ctx)
    try:
        assert scheduler.running
        assert done.wait(15), "the tick job did not run"
    finally:
        scheduler.shutdown(wait=True)
    kinds = [(r.kind, r.level) for r in escalation_rows(engine) if r.case_id == case.id]
    assert kinds == [("yellow", 0), ("red", 0), ("escalate", 1), ("escalate", 2)]


def test_blocking_scheduler_stops_cleanly(monkeypatch):
    ctx = _offline_context()
    started = []

    def fake_start(self, *args, **kwargs):
        started.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(BlockingScheduler, "start", fake_start)
    sched.run_blocking_scheduler(ctx)
    assert len(started) == 1 and isinstance(started[0], BlockingScheduler)
