"""GET /healthz: always JSON — 200 when the instance can serve, 503 with `status: error` and
the `reason` when it cannot (never an HTML error page, whatever fails)."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

from gridroute.services.health import health_report

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    try:
        report = health_report(current_app.extensions["gridroute"])
    except Exception as exc:  # noqa: BLE001 - the health check must answer, in JSON
        log.exception("health report failed")
        report = {"status": "error", "reason": f"health check failed: {type(exc).__name__}: "
                                               f"{exc}", "reasons": [], "warnings": []}
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response
