"""Pages: managers: indicators, rankings and closure-rate maps."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
