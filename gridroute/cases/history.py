"""A case's state rebuilt from its history alone (案卷流转记录).

Indicators (KPIs) are computed from `case_events`, never from the mutable case row; this
module is the proof that the events carry enough: folding them in `seq` order gives the
state, the counters, the milestones and the unit of the case. See docs/design.md, "History
events", for the vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from .model import CaseEvent, State

__all__ = ["CaseHistoryState", "rebuild"]

#: Milestone field set by each action (the latest occurrence wins, as on the case row).
_MILESTONES = {
    "file": "filed_at", "self_handle": "closed_at", "dispatch": "dispatched_at",
    "accept": "accepted_at", "resolve": "resolved_at", "check_pass": "checked_at",
    "close": "closed_at", "close_with_parent": "closed_at", "void": "closed_at",
}


@dataclass
class CaseHistoryState:
    """What the history says about a case."""

    state: State | None = None
    version: int = 0
    unit_code: str | None = None
    returns: int = 0
    reworks: int = 0
    extensions: int = 0
    supervising_level: int = 0
    inspector: str | None = None
    self_handled: bool = False
    overdue_excluded: bool = False
    filed_at: datetime | None = None
    dispatched_at: datetime | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    checked_at: datetime | None = None
    closed_at: datetime | None = None


def rebuild(events: Iterable[CaseEvent]) -> CaseHistoryState:
    """Fold the events of one case (any order; sorted by ``seq``). Raises ValueError when the
    history has a gap or does not start with the report."""
    out = CaseHistoryState()
    for expected, event in enumerate(sorted(events, key=lambda e: e.seq), start=1):
        if event.seq != expected:
            raise ValueError(f"history has a gap: event {expected} is missing")
        if expected == 1 and event.action != "report":
            raise ValueError(f"history starts with {event.action!r}, not 'report'")
        out.version = event.seq
        out.state = event.to_state
        out.unit_code = event.unit_code
        action, payload = event.action, event.payload or {}
        if action == "return":
            out.returns += 1
        elif action in ("check_fail", "review_fail"):
            out.reworks += 1
        elif action == "approve_extension":
            out.extensions += 1
        elif action == "escalate":
            out.supervising_level = max(out.supervising_level, int(payload["level"]))
        elif action == "approve_appeal":
            out.overdue_excluded = True
        elif action == "self_handle":
            out.self_handled = True
            out.filed_at = out.resolved_at = event.at
        if action in ("send_verify", "send_check"):
            out.inspector = payload.get("inspector")
        elif action in ("verify", "verify_false", "check_pass", "check_fail", "void"):
            out.inspector = None
        field = _MILESTONES.get(action)
        if field is not None:
            setattr(out, field, event.at)
        if action == "dispatch":
            out.accepted_at = None  # a new dispatch needs a new signature
    return out
