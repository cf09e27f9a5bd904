"""Pages: the dispatch centre (受理/立案/派遣): the queue and the case page."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("centre", __name__)
