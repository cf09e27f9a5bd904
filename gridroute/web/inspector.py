"""Pages: the inspector's phone pages (上报, 我的上报, 我的任务)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("inspector", __name__)
