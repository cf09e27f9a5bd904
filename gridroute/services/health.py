"""Health check: is the database reachable, is a grid loaded, does the calendar cover today."""
from __future__ import annotations

from gridroute import __version__
from gridroute.services.context import AppContext
from gridroute.services.grids import grid_overview
from gridroute.services.reference import rules_status


def health_report(ctx: AppContext) -> dict:
    report: dict = {"status": "ok", "version": __version__, "warnings": []}
    try:
        with ctx.uow(read_only=True) as uow:
            uow.ping()
        report["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        report.update(status="error", database=f"error: {exc.__class__.__name__}: {exc}")
        return report
    overview = grid_overview(ctx)
    if overview is None:
        report["status"] = "error"
        report["grid"] = None
        report["warnings"].append("no grid loaded: run `gridroute init`")
    else:
        report["grid"] = {"version_id": overview["version_id"],
                          "content_hash": overview["content_hash"],
                          "cells": overview["cell_count"], "streets": len(overview["streets"])}
    report["rules"] = rules_status(ctx)  # an error here still routes: the last good rules serve
    today = ctx.now().date()
    warning = ctx.calendar.coverage_warning(today)
    if warning:
        report["warnings"].append(warning)
    return report
