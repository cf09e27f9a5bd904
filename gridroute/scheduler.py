"""The escalation scheduler (APScheduler 3): the tick every `scheduler.tick_seconds` and the
outbox delivery every 30 s.

`gridroute serve` runs it in a background thread (`start_background_scheduler`); with several
web workers, `app.run_scheduler = false` and one `gridroute scheduler` process runs it instead
(`run_blocking_scheduler`). Running it in more than one process is safe (the tick records every
item once and delivery claims rows), only wasteful.

Both jobs coalesce missed runs into one, never overlap themselves (`max_instances=1`) and may
start up to `scheduler.misfire_grace_seconds` late. A failing run is logged and the next one
runs as planned.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

from gridroute.services.health import DELIVERY_JOB as DELIVERY_JOB_ID  # noqa: E402
from gridroute.services.health import TICK_JOB as TICK_JOB_ID  # noqa: E402

DELIVERY_SECONDS = 30
#: The first tick after start-up runs this soon (catches up after downtime).
FIRST_TICK_DELAY_S = 5


def run_tick(ctx) -> None:
    """One escalation tick at the current time; exceptions are logged, never raised."""
    from gridroute.services.escalation import tick

    _guarded("escalation tick", lambda: tick(ctx, ctx.now()), ctx, TICK_JOB_ID)


def run_delivery(ctx) -> None:
    """One outbox delivery round at the current time; exceptions are logged, never raised."""
    from gridroute.services.notify import deliver

    _guarded("notification delivery", lambda: deliver(ctx, ctx.now()), ctx, DELIVERY_JOB_ID)


def _guarded(name: str, job: Callable[[], object], ctx=None, job_id: str | None = None) -> None:
    started = ctx.now() if ctx is not None else None
    error = None
    try:
        job()
    except Exception as exc:  # noqa: BLE001 - a scheduler job must survive any failure
        log.exception("%s failed; the next run is still scheduled", name)
        error = f"{type(exc).__name__}: {exc}"
    if ctx is None or job_id is None:
        return
    # every instance's /healthz shows when the scheduler last ran, wherever it runs
    from gridroute.services.health import record_job_run

    try:
        record_job_run(ctx, job_id, started_at=started, finished_at=ctx.now(),
                       error=error)
    except Exception:  # noqa: BLE001 - losing the record must not stop the scheduler
        log.exception("could not record the %s run", name)


def build_scheduler(ctx, blocking: bool = False) -> BaseScheduler:
    """A scheduler (not started) with the tick and delivery jobs."""
    cfg = ctx.config
    tz = cfg.app.time_zone
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(timezone=tz)
    common = {"coalesce": True, "max_instances": 1,
              "misfire_grace_time": cfg.scheduler.misfire_grace_seconds,
              "replace_existing": True}
    scheduler.add_job(
        run_tick, IntervalTrigger(seconds=cfg.scheduler.tick_seconds, timezone=tz),
        args=(ctx,), id=TICK_JOB_ID, name="escalation tick",
        next_run_time=datetime.now(ctx.tz) + timedelta(seconds=FIRST_TICK_DELAY_S), **common)
    scheduler.add_job(
        run_delivery, IntervalTrigger(seconds=DELIVERY_SECONDS, timezone=tz),
        args=(ctx,), id=DELIVERY_JOB_ID, name="notification delivery", **common)
    return scheduler


def start_background_scheduler(ctx) -> BackgroundScheduler:
    """Start the jobs in a daemon thread of this process (for `gridroute serve`)."""
    scheduler = build_scheduler(ctx, blocking=False)
    scheduler.start()
    log.info("escalation scheduler started: tick every %s s, delivery every %s s (%s)",
             ctx.config.scheduler.tick_seconds, DELIVERY_SECONDS, ctx.config.app.time_zone)
    return scheduler  # type: ignore[return-value]


def run_blocking_scheduler(ctx) -> None:
    """Run the jobs in the foreground until interrupted (for `gridroute scheduler`)."""
    scheduler = build_scheduler(ctx, blocking=True)
    log.info("escalation scheduler running: tick every %s s, delivery every %s s (%s)",
             ctx.config.scheduler.tick_seconds, DELIVERY_SECONDS, ctx.config.app.time_zone)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("escalation scheduler stopping")
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
