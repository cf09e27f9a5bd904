"""Browser pages. For now: the loaded grid (streets, communities, cells, version)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, render_template

from gridroute.services.grids import grid_overview

bp = Blueprint("pages", __name__)


@bp.get("/")
def grid_page():
    overview = grid_overview(current_app.extensions["gridroute"])
    return render_template("grid.html", overview=overview, lang=g.lang)
