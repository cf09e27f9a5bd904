"""Pages: a responsible unit's inbox (处置单位)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("unit", __name__)
