"""Health check (`/healthz`): what an operator or a load balancer needs to know about one
instance — is the database reachable and at the right schema revision, which grid and rules are
serving, when the scheduler last ran, whether the calendar covers today, how many notifications
wait and how many cases are overdue.

`health_report` never raises: each probe that fails adds its reason, and `status` is "error"
when the instance cannot serve (database unreachable, schema not current, no grid, no rules).
Things an operator should look at but that do not stop serving (a stalled scheduler, the
calendar running out, a refused rules file with the last good one still serving) are warnings.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable

from gridroute import __version__
from gridroute.services.context import AppContext
from gridroute.services.errors import ServiceError, from_database_error

log = logging.getLogger(__name__)

#: The scheduler jobs whose runs are recorded (ids as in gridroute.scheduler).
TICK_JOB = "escalation-tick"
DELIVERY_JOB = "notify-deliver"
#: A tick is late when none finished within this many tick intervals.
STALE_TICKS = 3


def _iso(value: datetime | None, ctx: AppContext) -> str | None:
    return value.astimezone(ctx.tz).isoformat() if value is not None else None


def _reason(exc: Exception) -> str:
    """One line for a failed probe: the service's message, the database's, or the error."""
    if isinstance(exc, ServiceError):
        return str(exc)
    translated = from_database_error(exc)
    if translated is not None:
        return str(translated)
    errors = getattr(exc, "errors", None)  # rules and reference data: many file:line errors
    if isinstance(errors, (list, tuple)) and len(errors) > 1:
        return f"{len(errors)} errors, the first: {errors[0]}"
    return f"{type(exc).__name__}: {exc}"


def health_report(ctx: AppContext, now: datetime | None = None) -> dict[str, Any]:
    now = now or ctx.now()
    report: dict[str, Any] = {"status": "ok", "version": __version__,
                              "checked_at": now.isoformat(), "reasons": [], "warnings": []}

    def probe(name: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except Exception as exc:  # noqa: BLE001 - a health check reports, never raises
            log.warning("health check %s failed: %s", name, exc)
            report["reasons"].append(f"{name}: {_reason(exc)}")
            return None

    database = probe("database", lambda: _database(ctx))
    report["database"] = database or {"reachable": False}
    schema = database.pop("schema") if database else None
    report["schema"] = schema
    if schema is not None and schema["problem"]:
        report["reasons"].append(f"schema: {schema['problem']}")
    if database and (schema is None or not schema["problem"]):
        report["grid"] = probe("grid", lambda: _grid(ctx))
        report["rules"] = probe("rules", lambda: _rules(ctx, report))
        report["scheduler"] = probe("scheduler", lambda: _scheduler(ctx, now, report))
        stored = probe("store", lambda: _stored(ctx, now))
        if stored:
            report["outbox"], report["overdue"] = stored
    report["calendar"] = probe("calendar", lambda: _calendar(ctx, now, report))
    if report["reasons"]:
        report["status"] = "error"
        report["reason"] = "; ".join(report["reasons"])
    return report


def _database(ctx: AppContext) -> dict[str, Any]:
    from gridroute.services.database import schema_problem, schema_state
    from gridroute.store.schema import sqlite_path

    url = ctx.config.database.url
    state = schema_state(url)  # first: it creates no file where there is no database
    problem = schema_problem(state)
    schema = {"revision": state.current, "head": state.head, "status": state.status,
              "problem": str(problem) if problem else None}
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return {"reachable": False, "backend": ctx.engine.dialect.name,
                "error": f"no database file {path}", "schema": schema}
    with ctx.uow(read_only=True) as uow:
        uow.ping()
    return {"reachable": True, "backend": ctx.engine.dialect.name, "schema": schema}


def _grid(ctx: AppContext) -> dict[str, Any]:
    from gridroute.services.grids import grid_overview

    overview = grid_overview(ctx)
    if overview is None:
        raise ServiceError("no grid loaded: run gridroute init")
    return {"version_id": overview["version_id"], "content_hash": overview["content_hash"],
            "loaded_at": overview["loaded_at"], "cells": overview["cell_count"],
            "streets": len(overview["streets"])}


def _rules(ctx: AppContext, report: dict[str, Any]) -> dict[str, Any]:
    from gridroute.services.reference import rules_status

    status = rules_status(ctx)  # picks up a changed file, as intake would
    if status.get("error"):
        if status.get("sha256") is None:  # nothing ever loaded: intake cannot route
            first = status["error"].splitlines()[0]
            report["reasons"].append(f"rules: no valid rules loaded: {first}")
        else:
            report["warnings"].append(
                f"rules: the file on disk was refused, the last good rules "
                f"({status['sha256'][:12]}) keep serving: {status['error'].splitlines()[0]}")
    return status


def _scheduler(ctx: AppContext, now: datetime, report: dict[str, Any]) -> dict[str, Any]:
    with ctx.uow(read_only=True) as uow:
        runs = uow.health.job_runs()
    tick_seconds = ctx.config.scheduler.tick_seconds
    jobs = {job: {"started_at": _iso(run["started_at"], ctx),
                  "finished_at": _iso(run["finished_at"], ctx), "ok": run["ok"],
                  "error": run["error"], "last_ok_at": _iso(run["last_ok_at"], ctx)}
            for job, run in sorted(runs.items())}
    tick = runs.get(TICK_JOB)
    result = {"tick_seconds": tick_seconds,
              "last_tick_at": _iso(tick["finished_at"], ctx) if tick else None,
              "last_tick_ok": tick["ok"] if tick else None, "jobs": jobs}
    if tick is None:
        report["warnings"].append("scheduler: no escalation tick recorded yet "
                                  "(is a scheduler running?)")
    else:
        age = (now - tick["finished_at"]).total_seconds()
        result["last_tick_age_seconds"] = round(age, 1)
        if age > STALE_TICKS * tick_seconds:
            report["warnings"].append(
                f"scheduler: last escalation tick {age:.0f} s ago, expected every "
                f"{tick_seconds} s")
        if not tick["ok"]:
            report["warnings"].append(f"scheduler: the last escalation tick failed: "
                                      f"{tick['error']}")
    return result


def _stored(ctx: AppContext, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    with ctx.uow(read_only=True) as uow:
        outbox = uow.health.outbox_depth()
        overdue = uow.health.overdue_counts(now)
    outbox["oldest_pending_at"] = _iso(outbox["oldest_pending_at"], ctx)
    return outbox, {"total": sum(overdue.values()), "by_phase": overdue}


def _calendar(ctx: AppContext, now: datetime, report: dict[str, Any]) -> dict[str, Any]:
    warnings = [w for w in (ctx.calendar.coverage_warning(now.astimezone(ctx.tz).date()),) if w]
    report["warnings"].extend(f"calendar: {w}" for w in warnings)
    return {"warnings": warnings}


def record_job_run(ctx: AppContext, job: str, *, started_at: datetime, finished_at: datetime,
                   error: str | None = None) -> None:
    """Remember that a scheduler job ran (and whether it failed) for every instance's
    `/healthz`."""
    with ctx.uow() as uow:
        uow.health.record_job_run(job, started_at=started_at,
                                                  finished_at=finished_at, error=error)
        uow.commit()
