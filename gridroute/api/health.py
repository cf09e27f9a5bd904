"""GET /healthz: database reachable, grid version loaded, calendar coverage warnings."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from gridroute.services.health import health_report

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    report = health_report(current_app.extensions["gridroute"])
    return jsonify(report), (200 if report["status"] == "ok" else 503)
