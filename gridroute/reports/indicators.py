"""综合评价指标: the published 数字城管 evaluation indicators, computed from case history alone.

One module holds every formula (DOMAIN.md "Evaluation indicators"; design.md "History
events"). Input is a :class:`History`: the cases of interest with their event log
(``case_events``: action, time, actor, unit after the action, state after the action). The
same columnar code serves a hand-built history of a few cases (tests) and a million cases read
from the database (``bench/maps.py``): everything below is numpy/pandas over event arrays,
never a Python loop over cases.

Period and cohort
-----------------
For a period ``[start, end)`` the **cohort** is the cases filed (立案: a ``file`` or
``self_handle`` event) in it. ``as_of`` is the moment states and lateness are read: events after
it are ignored, so a report for a past period can be rerun and gives the same numbers.
``reported`` counts the reports received (``report`` event) in the period, and the inspector's
reports and 核实 tasks are taken from those cases (a report that is never filed is never in the
filed cohort).

Region (区域: cell, community, street, district)
------------------------------------------------
- ``reported`` 上报数: reports received in the period.
- ``filed`` 立案数: the cohort. ``filing_rate`` 立案率 = filed / reported.
- ``voided`` 作废数: cohort cases whose state at ``as_of`` is ``voided``.
  ``accurate_filing_rate`` 准确立案率 = (filed − voided) / filed.
- ``merged`` 合并数: cohort cases merged into a parent (a ``merge`` event; they close with the
  parent and are never counted as closed themselves). ``suspended`` 挂账数: state ``suspended``
  at ``as_of``.
- ``due_to_close`` 应结案数 = filed − voided − merged − suspended.
- ``closed`` 结案数: state ``closed`` at ``as_of``, merged cases excepted (self-handled cases
  included). ``closure_rate`` 结案率 = closed / due_to_close.
- ``closed_on_time`` 按期结案数: closed, and the last 处置 reply (``resolve``) came within the
  handling limit with its extensions (see "Handling clock"); a self-handled case is on time;
  an approved overtime appeal counts the case as on time. ``on_time_closure_rate`` 按期结案率 =
  closed_on_time / due_to_close.
- ``public_share`` 监督举报率 = cohort cases from the public or the 12345 hotline that were
  verified (``verify`` event) / filed.
- ``self_handled`` 自行处置数: cohort cases fixed on the spot by the inspector. They count for
  the region and the inspector, never for a unit (they have none).

Unit (责任单位)
---------------
A cohort case belongs to the unit of its last ``dispatch``.
- ``due_to_handle`` 应处置数: dispatched to the unit and not returned away (state at ``as_of``
  not ``returned``), neither voided nor suspended at ``as_of``.
- ``handled`` 处置数: of those, the unit has replied and no failed check is pending (state
  ``resolved``, ``reviewed``, ``checking``, ``checked`` or ``closed``).
- ``handled_on_time`` 按期处置数: handled, the last reply within the limit (or an approved
  appeal). ``handling_rate`` 处置率 = handled / due_to_handle; ``on_time_handling_rate``
  按期处置率 = handled_on_time / due_to_handle.
- ``reworked`` 返工数: due cases with at least one failed check (``check_fail``, or
  ``review_fail`` when the dispatcher reviews replies) while with this unit. ``rework_rate``
  返工率 = reworked / handled; the denominator is ``reports.rework_denominator`` (``handled``,
  ``due_to_close`` or ``filed``: cities differ).
- ``overdue_open`` 超期待处置数: due, not handled, and the handling clock past its limit at
  ``as_of``, approved appeals excepted. ``overdue_open_rate`` 超期待处置率 = overdue_open /
  due_to_handle.
- ``extended`` 延期数: due cases with an approved extension (``approve_extension``) while with
  this unit. ``extension_rate`` 延期率 = extended / due_to_handle.
- ``avg_handling_working_hours`` 平均处置用时: over handled cases, the working hours (SLA
  calendar) the handling clock ran in the unit's runs, pauses (退回, 挂账) excluded.

Handling clock (处置时限)
-------------------------
Replayed from the events exactly as ``services/clocks.py`` runs it: the first ``dispatch``
starts it with the case's handling limit; ``return`` pauses it and a re-dispatch to the same
unit resumes it (another unit starts a fresh run); ``approve_suspension``/``suspend`` pause it
and ``resume`` resumes it; ``approve_extension`` adds one original limit to the run;
``check_fail``/``review_fail`` start a fresh run with the original limit; ``resolve``
completes it. Time is counted in the limit's own unit (working seconds for 工作时/工作日,
natural seconds for 紧急工作时/紧急工作日). A run is late when the time it ran exceeds its
allotted time (limit × (1 + extensions in the run)).

Posts (岗位)
------------
- dispatcher 派遣员 (the ``dispatch`` actor, cohort cases): ``dispatched``; ``dispatched_on_time``
  — a first dispatch within ``sla.file_limit`` (``file_limit_urgent`` for urgent cases) of the
  report (立案 + 派遣 share one centre limit), a re-dispatch within ``sla.dispatch_limit`` of the
  return; ``on_time_dispatch_rate`` 按时派遣率 = dispatched_on_time / dispatched; ``returned``:
  dispatches the unit returned as not its own; ``accurate_dispatch_rate`` 准确派遣率 =
  (dispatched − returned) / dispatched.
- inspector 网格监督员: ``reports`` (own patrol reports received in the period), ``valid_reports``
  (of those, filed or self-handled and not voided), ``valid_report_rate`` 有效上报率;
  ``verify_tasks`` (核实 tasks on reports received in the period, completed or already late),
  ``verified_on_time`` (completed within ``sla.verify_limit``), ``on_time_verify_rate`` 按时核实率;
  ``check_tasks`` / ``checked_on_time`` / ``on_time_check_rate`` 按时核查率 likewise for 核查 tasks on
  cohort cases (``sla.check_limit``); ``self_handled``. A task cancelled with its case (voided
  while checking) is left out.
- shift lead 值班长 (the ``file`` actor): ``filed``, ``filed_on_time`` (filed within
  ``sla.file_limit`` of the report), ``on_time_filing_rate`` 按时立案率.

An approved overtime appeal (``approve_appeal``) takes a case out of every overdue count of the
handling clock (closed_on_time, handled_on_time, overdue_open); the overdue fact stays in the
history.

Composite score and grade
-------------------------
Per row, ``score`` = 100 × Σ wᵢ·vᵢ / Σ wᵢ over the weighted rates that are defined (vᵢ is the
rate, or 1 − rate for rates where lower is better: rework, overdue, extension), from
``reports.*_weights``; ``grade`` A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below (DOMAIN.md; the
weights are local practice). No defined rate: score and grade are None.

A rate with a zero denominator is None (shown as "—"), never an error.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from gridroute.reports.timeline import WorkingTimeline
from gridroute.reports.weights import (DEFAULT_WEIGHTS, LOWER_IS_BETTER, WEIGHTABLE,
                                       grade_of, parse_weights)
from gridroute.sla.calendar import WorkingCalendar
from gridroute.sla.clock import Limit

__all__ = [
    "ACTIONS", "STATES", "GROUPINGS", "GEO_GROUPINGS", "REGION_KEYS", "UNIT_KEYS",
    "DISPATCHER_KEYS", "INSPECTOR_KEYS", "SHIFT_LEAD_KEYS", "LOWER_IS_BETTER",
    "CentreLimits", "ReportSettings", "History", "columns_for", "compute", "grade_of",
    "parse_weights", "needed_actions", "compute_frame", "rows_of", "FACT_FLAGS",
    "FACTS_FORMAT", "GROUP_COLUMNS", "case_facts", "groups_of", "groups_from_facts",
    "region_frame",
]

# --------------------------------------------------------------------------- vocabulary

#: Every history action (``report`` + the rows of the workflow table), in a fixed order: the
#: position is the action's code in the columnar arrays.
ACTIONS: tuple[str, ...] = (
    "report", "send_verify", "verify", "verify_false", "file", "reject", "self_handle",
    "merge", "dispatch", "accept", "return", "resolve", "review_pass", "review_fail",
    "send_check", "check_pass", "check_fail", "close", "void", "close_with_parent",
    "request_extension", "approve_extension", "deny_extension", "request_suspension",
    "approve_suspension", "deny_suspension", "suspend", "resume", "appeal",
    "approve_appeal", "deny_appeal", "escalate",
)
A = {name: code for code, name in enumerate(ACTIONS)}

STATES: tuple[str, ...] = (
    "reported", "verifying", "verified", "filed", "rejected", "merged", "dispatched",
    "accepted", "returned", "resolved", "reviewed", "checking", "rework", "checked",
    "suspended", "closed", "voided",
)
S = {name: code for code, name in enumerate(STATES)}
CHANNELS: tuple[str, ...] = ("inspector", "public", "hotline", "import")
URGENCIES: tuple[str, ...] = ("normal", "urgent")
_HANDLED_STATES = [S[s] for s in ("resolved", "reviewed", "checking", "checked", "closed")]

#: Actions the region and unit indicators read; the inspector and shift-lead ones need the
#: task events too. A loader may fetch only these (the others never change the result).
_CORE_ACTIONS = frozenset({
    "report", "verify", "file", "self_handle", "merge", "dispatch", "return", "resolve",
    "review_fail", "check_fail", "close", "void", "close_with_parent", "approve_extension",
    "approve_suspension", "suspend", "resume", "approve_appeal", "reject", "verify_false",
})
_POST_ACTIONS = frozenset({"send_verify", "verify", "verify_false", "send_check",
                           "check_pass", "check_fail", "void", "reject", "close"})

GEO_GROUPINGS = ("cell", "community", "street", "district")
GROUPINGS = GEO_GROUPINGS + ("unit", "inspector", "dispatcher", "shift_lead")


def needed_actions(by: str) -> frozenset[str]:
    """The actions :func:`compute` reads for a grouping (the others may be left unloaded)."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    if by in ("inspector", "shift_lead"):
        return _CORE_ACTIONS | _POST_ACTIONS
    return _CORE_ACTIONS


REGION_KEYS = (
    "reported", "filed", "filing_rate", "voided", "accurate_filing_rate", "merged",
    "suspended", "due_to_close", "closed", "closure_rate", "closed_on_time",
    "on_time_closure_rate", "public_share", "self_handled",
)
UNIT_KEYS = (
    "due_to_handle", "handled", "handled_on_time", "handling_rate", "on_time_handling_rate",
    "reworked", "rework_rate", "overdue_open", "overdue_open_rate", "extended",
    "extension_rate", "avg_handling_working_hours",
)
DISPATCHER_KEYS = ("dispatched", "dispatched_on_time", "on_time_dispatch_rate", "returned",
                   "accurate_dispatch_rate")
INSPECTOR_KEYS = ("reports", "valid_reports", "valid_report_rate", "verify_tasks",
                  "verified_on_time", "on_time_verify_rate", "check_tasks", "checked_on_time",
                  "on_time_check_rate", "self_handled")
SHIFT_LEAD_KEYS = ("filed", "filed_on_time", "on_time_filing_rate")
SCORE_KEYS = ("score", "grade")

_ROW_KEYS = {"unit": UNIT_KEYS, "dispatcher": DISPATCHER_KEYS, "inspector": INSPECTOR_KEYS,
             "shift_lead": SHIFT_LEAD_KEYS}
_WEIGHT_SET = {"unit": "unit", "dispatcher": "dispatcher", "inspector": "inspector",
               "shift_lead": "shift_lead"}


def columns_for(by: str) -> tuple[str, ...]:
    """The columns of a row for a grouping, ``group`` first."""
    keys = _ROW_KEYS.get(by, REGION_KEYS + UNIT_KEYS)
    return ("group",) + keys + SCORE_KEYS


# --------------------------------------------------------------------------- settings

REWORK_DENOMINATORS = ("handled", "due_to_close", "filed")


@dataclass(frozen=True)
class ReportSettings:
    """Local choices (config ``[reports]``): score weights per row kind, the 返工率
    denominator, the chronic-problem threshold (N cases of one 小类 in a cell in D days)."""

    weights: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: {
        kind: parse_weights(text, WEIGHTABLE[kind]) for kind, text in DEFAULT_WEIGHTS.items()})
    rework_denominator: str = "handled"
    chronic_min_cases: int = 3
    chronic_days: int = 30

    def __post_init__(self) -> None:
        if self.rework_denominator not in REWORK_DENOMINATORS:
            raise ValueError(f"rework_denominator must be one of "
                             f"{', '.join(REWORK_DENOMINATORS)}, got {self.rework_denominator!r}")


@dataclass(frozen=True)
class CentreLimits:
    """Centre-side limits of the posts (config ``sla``): 立案+派遣, urgent 立案+派遣,
    re-dispatch, 核实 and 核查."""

    file: Limit = Limit.parse("30 natural_minutes")
    file_urgent: Limit = Limit.parse("10 natural_minutes")
    dispatch: Limit = Limit.parse("30 natural_minutes")
    verify: Limit = Limit.parse("1 working_hours")
    check: Limit = Limit.parse("1 working_hours")


# --------------------------------------------------------------------------- input

_CASE_COLUMNS = ("case_id", "public_id", "channel", "reporter", "urgency", "category_code",
                 "cell_code", "community_code", "street_code", "district_code", "handle_limit")
_EVENT_COLUMNS = ("case_id", "seq", "action", "at", "actor", "unit_code", "to_state",
                  "inspector")


def _epoch(value: _dt.datetime) -> float:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: indicators read aware datetimes only")
    return value.timestamp()


@dataclass
class History:
    """Cases and their events as two column tables (pandas).

    ``cases``: case_id, public_id, channel, reporter, urgency, category_code, cell_code,
    community_code, street_code, district_code, handle_limit (limit text, e.g.
    ``"4 working_hours"``; None for the configured default). Columns a grouping does not
    need may be missing.

    ``events``: case_id, seq, action (name or code in :data:`ACTIONS`), at (epoch seconds),
    actor, unit_code (the unit a ``dispatch`` sent the case to; read on dispatch events only:
    every later event is with that unit), to_state (name or code in :data:`STATES`),
    inspector (the inspector of a ``send_verify``/``send_check`` task).

    ``channel`` and ``urgency`` are names or codes in :data:`CHANNELS` / :data:`URGENCIES`.
    """

    cases: pd.DataFrame
    events: pd.DataFrame

    @classmethod
    def from_objects(cls, cases: Sequence[Any], events: Iterable[Any], *,
                     handle_limit: Callable[[Any], str | None] | None = None) -> "History":
        """From :class:`~gridroute.cases.model.Case` and
        :class:`~gridroute.cases.model.CaseEvent` objects. ``handle_limit(case)`` gives the
        case's 处置 limit text; by default the routing's ``limit`` or ``standard_limit``."""
        def default_limit(case):
            routing = case.routing or {}
            return routing.get("limit") or routing.get("standard_limit")

        limit_of = handle_limit or default_limit
        case_rows = [{
            "case_id": c.id, "public_id": c.public_id, "channel": str(c.channel),
            "reporter": c.reporter, "urgency": str(c.urgency),
            "category_code": c.category_code, "cell_code": c.cell_code,
            "community_code": c.community_code, "street_code": c.street_code,
            "district_code": c.district_code, "handle_limit": limit_of(c)} for c in cases]
        event_rows = [{
            "case_id": e.case_id, "seq": e.seq, "action": e.action, "at": _epoch(e.at),
            "actor": e.actor, "unit_code": e.unit_code,
            "to_state": getattr(e.to_state, "value", e.to_state),
            "inspector": (e.payload or {}).get("inspector")
            if e.action in ("send_verify", "send_check") else None} for e in events]
        return cls(pd.DataFrame(case_rows, columns=list(_CASE_COLUMNS)),
                   pd.DataFrame(event_rows, columns=list(_EVENT_COLUMNS)))


# --------------------------------------------------------------------------- helpers

def _codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    if values.dtype.kind in "iu":
        return values.to_numpy(dtype="int16")
    if values.dtype.kind == "f":  # codes with NULLs (a name outside the vocabulary)
        return values.fillna(-1).to_numpy(dtype="int16")
    return pd.Categorical(values, categories=vocabulary).codes.astype("int16")


def _first_index(group: np.ndarray) -> np.ndarray:
    """Positions where a sorted group array starts a new group."""
    if not len(group):
        return np.zeros(0, dtype="int64")
    return np.flatnonzero(np.r_[True, group[1:] != group[:-1]])


def _last_index(group: np.ndarray) -> np.ndarray:
    if not len(group):
        return np.zeros(0, dtype="int64")
    return np.flatnonzero(np.r_[group[1:] != group[:-1], True])


def _first_at(ci: np.ndarray, at: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    c, t = ci[mask], at[mask]
    i = _first_index(c)
    out[c[i]] = t[i]
    return out


def _any(ci: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(ci[mask], minlength=n) > 0


def _ffill_index(mask: np.ndarray) -> np.ndarray:
    """For each position, the last position <= it where ``mask`` holds (-1 if none)."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _rate(num, den) -> pd.Series:
    """num / den rounded to 4 places; NaN (None in rows) where den is 0."""
    num = pd.Series(num, dtype="float64")
    den = pd.Series(den, dtype="float64", index=num.index)
    return (num / den.where(den > 0)).round(4)


class _Own:
    """Own-unit time of a limit between instants: working seconds or natural seconds."""

    def __init__(self, timeline: WorkingTimeline):
        self.timeline = timeline

    def between(self, a: np.ndarray, b: np.ndarray, working: np.ndarray | bool) -> np.ndarray:
        natural = b - a
        if np.isscalar(working):
            return self.timeline.between(a, b) if working else natural
        return np.where(working, self.timeline.between(a, b), natural)


# --------------------------------------------------------------------------- the computation

def compute(history: History, **kw: Any) -> list[dict[str, Any]]:
    """One row (dict) per group, sorted by group key, with the keys of :func:`columns_for`;
    see :func:`compute_frame` for the arguments."""
    return rows_of(compute_frame(history, **kw))


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a :func:`compute_frame` table as dicts of plain Python values (an
    undefined rate is None)."""
    if frame.empty:
        return []
    out = frame.astype(object).where(frame.notna(), None)
    return out.to_dict("records")


def compute_frame(history: History, *, start: _dt.datetime, end: _dt.datetime,
                  as_of: _dt.datetime, by: str, calendar: WorkingCalendar,
                  limits: CentreLimits | None = None, settings: ReportSettings | None = None,
                  category: str | None = None, default_handle_limit: str = "1 working_days",
                  ) -> pd.DataFrame:
    """The indicators as a table: one row per group (sorted by group key), the columns of
    :func:`columns_for`; an undefined rate (zero denominator) is NaN.

    ``category`` keeps the cases of one 小类 (exact code) or of a 大类 (a code prefix).
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    if not start < end:
        raise ValueError("the period is empty: from must be before to")
    limits = limits or CentreLimits()
    settings = settings or ReportSettings()
    t0, t1, tq = _epoch(start), _epoch(end), _epoch(as_of)

    r = _replay(history, t0=t0, t1=t1, tq=tq, calendar=calendar,
                default_handle_limit=default_handle_limit, category=category)
    if by in GEO_GROUPINGS or by == "unit":
        return region_frame(_groups_at(r, by), by, settings)
    cases, n, ev, ci, act, at, own = r.cases, r.n, r.ev, r.ci, r.act, r.at, r.own
    in_cohort, report_at, reported_in, filed_at = r.in_cohort, r.report_at, r.reported_in, \
        r.filed_at
    voided, self_handled = r.voided, r.self_handled
    if by == "dispatcher":
        return _dispatcher_rows(ci, act, at, ev, in_cohort, report_at, cases, limits, own,
                                calendar, settings)
    if by == "shift_lead":
        fm = (act == A["file"]) & in_cohort[ci]
        urgent = _codes(cases["urgency"], URGENCIES) == URGENCIES.index("urgent")
        file_at, c = at[fm], ci[fm]
        taken = _limit_taken(own, report_at[c], file_at, urgent[c], limits.file,
                             limits.file_urgent, calendar)
        frame = pd.DataFrame({"key": ev["actor"].to_numpy(dtype=object)[fm],
                              "filed": 1, "filed_on_time": taken.astype("int64")})
        if frame.empty:
            return _empty(by)
        g = frame.groupby("key", sort=True).sum(numeric_only=True)
        out = pd.DataFrame({"group": g.index.to_numpy(dtype=object),
                            "filed": g["filed"].to_numpy(dtype="int64"),
                            "filed_on_time": g["filed_on_time"].to_numpy(dtype="int64")})
        out["on_time_filing_rate"] = _rate(out["filed_on_time"], out["filed"])
        return _scored(out, settings.weights["shift_lead"], by)
    return _inspector_rows(ci, act, at, ev, cases, n, reported_in, in_cohort, filed_at,
                           voided, self_handled, limits, own, tq, calendar, settings)



def _replay(history: History, *, t0: float, t1: float, tq: float, calendar: WorkingCalendar,
            default_handle_limit: str, category: str | None) -> SimpleNamespace:
    """Every per-case fact of the cases of ``history`` as read at ``tq`` (events after it
    ignored): states, flags, the handling clock replayed, the period's cohort ``[t0, t1)``.
    Arrays are indexed by case position (``cases`` row) or by event (``ci`` its case)."""
    cases = history.cases
    if category:
        cat = cases["category_code"].astype("string")
        cases = cases[(cat == category) | cat.str.startswith(category).fillna(False)]
    cases = cases.reset_index(drop=True)
    n = len(cases)
    ev = history.events
    ci_all = pd.Index(cases["case_id"]).get_indexer(ev["case_id"]) if n else \
        np.full(len(ev), -1)
    at_all = ev["at"].to_numpy(dtype="float64")
    keep = (ci_all >= 0) & (at_all <= tq)
    ev = ev[keep]
    ci = ci_all[keep].astype("int64")
    order = np.lexsort((ev["seq"].to_numpy(), ci))
    ev = ev.iloc[order]
    ci = ci[order]
    at = ev["at"].to_numpy(dtype="float64")
    act = _codes(ev["action"], ACTIONS)
    to_state = _codes(ev["to_state"], STATES)
    # the unit is read from the dispatch events; every later event is with that unit
    raw_unit = ev["unit_code"].to_numpy(dtype=object)
    src = _ffill_index(act == A["dispatch"])
    with_dispatch = src >= 0
    with_dispatch[with_dispatch] = ci[src[with_dispatch]] == ci[with_dispatch]
    unit = np.full(len(ci), None, dtype=object)
    unit[with_dispatch] = raw_unit[src[with_dispatch]]

    lo = min([t0, tq] + ([float(at.min())] if len(at) else []))
    hi = max([t1, tq] + ([float(at.max())] if len(at) else []))
    timeline = WorkingTimeline(calendar, lo, hi)
    own = _Own(timeline)

    def is_(*names):
        return np.isin(act, [A[x] for x in names])

    # ---- per case facts
    report_at = _first_at(ci, at, is_("report"), n)
    filed_at = _first_at(ci, at, is_("file", "self_handle"), n)
    last = _last_index(ci)
    state = np.full(n, -1, dtype="int16")
    state[ci[last]] = to_state[last]
    in_cohort = (filed_at >= t0) & (filed_at < t1)
    reported_in = (report_at >= t0) & (report_at < t1)
    self_handled = _any(ci, is_("self_handle"), n)
    merged = _any(ci, is_("merge"), n)
    verified = _any(ci, is_("verify"), n)
    appeal_ok = _any(ci, is_("approve_appeal"), n)
    voided = state == S["voided"]
    suspended = state == S["suspended"]
    closed = (state == S["closed"]) & ~merged
    channel = _codes(cases["channel"], CHANNELS)
    public = np.isin(channel, [CHANNELS.index("public"), CHANNELS.index("hotline")])

    # unit of the last dispatch
    is_dispatch = act == A["dispatch"]
    case_unit = np.full(n, None, dtype=object)
    di = _last_index(ci[is_dispatch])
    case_unit[ci[is_dispatch][di]] = unit[is_dispatch][di]
    dispatched = pd.notna(pd.Series(case_unit)).to_numpy() if n else np.zeros(0, bool)

    # ---- handling clock replay
    h_names = ("dispatch", "return", "approve_suspension", "suspend", "resume",
               "approve_extension", "check_fail", "review_fail", "resolve", "void", "close")
    hm = is_(*h_names)
    h_ci, h_at, h_act, h_unit = ci[hm], at[hm], act[hm], unit[hm]
    m = len(h_ci)
    first_in_case = np.zeros(m, dtype=bool)
    first_in_case[_first_index(h_ci)] = True
    prev_act = np.r_[-1, h_act[:-1]] if m else h_act
    prev_unit = np.r_[None, h_unit[:-1]] if m else h_unit
    resumed_dispatch = ((h_act == A["dispatch"]) & ~first_in_case & (prev_act == A["return"])
                        & (prev_unit == h_unit))
    run_start = first_in_case | ((h_act == A["dispatch"]) & ~resumed_dispatch) | \
        np.isin(h_act, [A["check_fail"], A["review_fail"]])
    flag = np.full(m, -1, dtype="int8")
    flag[np.isin(h_act, [A["dispatch"], A["resume"], A["check_fail"], A["review_fail"]])] = 1
    flag[np.isin(h_act, [A["return"], A["approve_suspension"], A["suspend"], A["resolve"],
                         A["void"], A["close"]])] = 0
    flag[first_in_case & (flag < 0)] = 0
    running = flag[_ffill_index(flag >= 0)] == 1 if m else np.zeros(0, bool)
    next_at = np.r_[h_at[1:], tq] if m else h_at
    last_in_case = np.zeros(m, dtype=bool)
    last_in_case[_last_index(h_ci)] = True
    next_at = np.where(last_in_case, tq, next_at)

    limit_text = cases["handle_limit"] if "handle_limit" in cases else pd.Series([None] * n)
    limit_text = limit_text.where(pd.notna(limit_text), default_handle_limit).astype(str)
    uniques, inverse = np.unique(limit_text.to_numpy(), return_inverse=True) if n else \
        (np.zeros(0, dtype=object), np.zeros(0, dtype="int64"))
    parsed = [Limit.from_text(text) for text in uniques]
    limit_s = np.array([lim.own_seconds(calendar) for lim in parsed], dtype="float64")[inverse] \
        if n else np.zeros(0)
    limit_working = np.array([lim.is_working for lim in parsed], dtype=bool)[inverse] \
        if n else np.zeros(0, bool)

    run_id = np.cumsum(run_start) - 1
    nruns = int(run_id[-1]) + 1 if m else 0
    span_own = own.between(h_at, next_at, limit_working[h_ci]) if m else np.zeros(0)
    span_work = timeline.between(h_at, next_at) if m else np.zeros(0)
    consumed = np.bincount(run_id, weights=np.where(running, span_own, 0.0), minlength=nruns)
    # ... and before each case's last handling event (a running clock's deadline, below)
    consumed_before = np.bincount(run_id, weights=np.where(running & ~last_in_case, span_own, 0.0),
                                  minlength=nruns)
    run_ext = np.bincount(run_id, weights=(h_act == A["approve_extension"]), minlength=nruns)
    run_case = np.zeros(nruns, dtype="int64")
    run_case[run_id[run_start]] = h_ci[run_start]
    allotted = limit_s[run_case] * (1 + run_ext)
    run_late = consumed > allotted + 1e-6
    late = np.zeros(n, dtype=bool)
    has_run = np.zeros(n, dtype=bool)
    running_last = np.zeros(n, dtype=bool)
    last_h_at = np.full(n, np.nan)
    left = np.zeros(n)  # allotted − consumed before the last handling event
    if m:
        last_run = run_id[last_in_case]
        late[h_ci[last_in_case]] = run_late[last_run]
        has_run[h_ci[last_in_case]] = True
        running_last[h_ci[last_in_case]] = running[last_in_case]
        last_h_at[h_ci[last_in_case]] = h_at[last_in_case]
        left[h_ci[last_in_case]] = allotted[last_run] - consumed_before[last_run]
    # working hours of the runs of the case's final unit (another unit's run is not its time)
    run_work = np.bincount(run_id, weights=np.where(running, span_work, 0.0), minlength=nruns)
    run_unit = np.full(nruns, None, dtype=object)
    run_unit[run_id[run_start]] = h_unit[run_start]
    own_run = run_unit == case_unit[run_case] if nruns else np.zeros(0, bool)
    work_hours = np.bincount(run_case, weights=np.where(own_run, run_work, 0.0),
                             minlength=n) / 3600.0

    returned_away = state == S["returned"]
    due = in_cohort & dispatched & ~returned_away & ~voided & ~suspended & ~self_handled
    handled_state = np.isin(state, _HANDLED_STATES)
    handled = due & handled_state
    handled_on_time = handled & (~late | appeal_ok)
    overdue_open = due & ~handled_state & late & ~appeal_ok

    def with_unit(mask):
        """Events of ``mask`` that happened while the case was with its final unit."""
        sel = mask & (ci >= 0)
        hit = np.zeros(n, dtype=bool)
        c = ci[sel]
        same = unit[sel] == case_unit[c]
        hit[c[same]] = True
        return hit

    reworked_with_unit = with_unit(is_("check_fail", "review_fail"))
    extended_with_unit = with_unit(is_("approve_extension"))
    reworked = due & reworked_with_unit
    extended = due & extended_with_unit
    closed_on_time = in_cohort & closed & (self_handled | appeal_ok | (has_run & ~late))

    first = _first_index(ci)
    last_at = np.full(n, np.nan)
    if len(ci):
        last_at[ci[first]] = np.maximum.reduceat(at, first)
    return SimpleNamespace(
        cases=cases, n=n, ev=ev, ci=ci, act=act, at=at, unit=unit, own=own, timeline=timeline,
        tq=tq, report_at=report_at, filed_at=filed_at, last_at=last_at, state=state,
        in_cohort=in_cohort, reported_in=reported_in, self_handled=self_handled, merged=merged,
        verified=verified, appeal_ok=appeal_ok, voided=voided, suspended=suspended,
        closed=closed, public=public, case_unit=case_unit, dispatched=dispatched,
        returned_away=returned_away, handled_state=handled_state, late=late, has_run=has_run,
        work_hours=work_hours, due=due, handled=handled, handled_on_time=handled_on_time,
        overdue_open=overdue_open, reworked=reworked, extended=extended,
        reworked_with_unit=reworked_with_unit, extended_with_unit=extended_with_unit,
        closed_on_time=closed_on_time, running_last=running_last, last_h_at=last_h_at,
        left=left, limit_working=limit_working)



# --------------------------------------------------------------------------- stored facts
#
# The region and unit indicators need, per case, a handful of facts that stop changing once
# the case's last event has happened, plus three that depend on the period and ``as_of``:
# whether it was filed and reported in the period, and whether its handling clock is late.
# The facts of a case "as of its last event" can therefore be stored (store/reports.py keeps
# them, keyed by the case version and the calendar) and a report groups them in SQL; the
# formulas stay here, in :func:`region_frame`, for both the stored and the replayed facts.

#: The as_of-independent facts of a case, as bits of one integer (position = bit).
FACT_FLAGS: tuple[str, ...] = (
    "voided", "suspended", "closed", "returned_away", "handled_state", "self_handled",
    "merged", "verified", "appeal_ok", "public", "dispatched", "reworked_with_unit",
    "extended_with_unit", "has_run",
)
#: Bumped whenever the meaning of a stored fact changes (stored facts of another format are
#: recomputed).
FACTS_FORMAT = 1
#: Columns of a groups table (:func:`region_frame`'s input): the group key, the flag bits, the
#: period and lateness bits, how many cases share them and their handling hours.
GROUP_COLUMNS = ("key", "flags", "filed_in", "reported_in", "late", "cases", "work_hours")
_BIG = 1e18  # a deadline that is never reached (no working time left in the calendar)


def _flags_of(r: SimpleNamespace) -> np.ndarray:
    bits = np.zeros(r.n, dtype="int64")
    for position, name in enumerate(FACT_FLAGS):
        bits |= np.asarray(getattr(r, name), dtype="int64") << position
    return bits


def _groups_at(r: SimpleNamespace, by: str) -> pd.DataFrame:
    """The replayed cases as a groups table, one row per case."""
    if by == "unit":
        key = r.case_unit
    else:
        key = r.cases[f"{by}_code"].to_numpy(dtype=object) if r.n else np.zeros(0, object)
    return pd.DataFrame({"key": key, "flags": _flags_of(r), "filed_in": r.in_cohort,
                         "reported_in": r.reported_in, "late": r.late, "cases": 1,
                         "work_hours": r.work_hours}, columns=list(GROUP_COLUMNS))


def groups_of(history: History, *, start: _dt.datetime, end: _dt.datetime,
              as_of: _dt.datetime, by: str, calendar: WorkingCalendar,
              default_handle_limit: str = "1 working_days") -> pd.DataFrame:
    """The cases of ``history`` replayed at ``as_of`` as a groups table (one row per case)
    for :func:`region_frame`: the cases whose stored facts cannot serve."""
    if by not in GEO_GROUPINGS and by != "unit":
        raise ValueError(f"groups are for {', '.join(GEO_GROUPINGS)} and unit, not {by!r}")
    r = _replay(history, t0=_epoch(start), t1=_epoch(end), tq=_epoch(as_of),
                calendar=calendar, default_handle_limit=default_handle_limit, category=None)
    return _groups_at(r, by)


def region_frame(groups: pd.DataFrame, by: str, settings: ReportSettings | None = None
                 ) -> pd.DataFrame:
    """The region (cell … district) or unit indicators from a groups table (columns
    :data:`GROUP_COLUMNS`: one row per case, or per set of cases sharing key and bits)."""
    settings = settings or ReportSettings()
    if not len(groups):
        return _empty(by)
    bits = groups["flags"].to_numpy(dtype="int64")
    f = {name: (bits >> position) & 1 == 1 for position, name in enumerate(FACT_FLAGS)}
    in_cohort = groups["filed_in"].to_numpy(dtype=bool)
    reported_in = groups["reported_in"].to_numpy(dtype=bool)
    late = groups["late"].to_numpy(dtype=bool)
    weight = groups["cases"].to_numpy(dtype="int64")
    key = groups["key"].to_numpy(dtype=object)
    due = in_cohort & f["dispatched"] & ~f["returned_away"] & ~f["voided"] & \
        ~f["suspended"] & ~f["self_handled"]
    handled = due & f["handled_state"]
    appeal_ok = f["appeal_ok"]
    flags = {
        "reported": reported_in, "filed": in_cohort, "voided": in_cohort & f["voided"],
        "merged": in_cohort & f["merged"], "suspended": in_cohort & f["suspended"],
        "closed": in_cohort & f["closed"],
        "closed_on_time": in_cohort & f["closed"] & (f["self_handled"] | appeal_ok |
                                                    (f["has_run"] & ~late)),
        "public": in_cohort & f["public"] & f["verified"],
        "self_handled": in_cohort & f["self_handled"],
        "due_to_handle": due, "handled": handled, "handled_on_time": handled & (~late | appeal_ok),
        "reworked": due & f["reworked_with_unit"],
        "overdue_open": due & ~f["handled_state"] & late & ~appeal_ok,
        "extended": due & f["extended_with_unit"],
    }
    if by == "unit":
        keep = pd.notna(key) & (in_cohort | due)
    else:
        keep = reported_in | in_cohort
    # group codes in key order (None last), then one bincount per column
    codes, uniques = pd.factorize(pd.Series(key[keep], dtype=object), sort=True,
                                  use_na_sentinel=False)
    k = len(uniques)
    w = weight[keep]
    g = {name: np.bincount(codes, weights=(w * flag[keep]), minlength=k).astype("int64")
         for name, flag in flags.items()}
    hours = groups["work_hours"].to_numpy(dtype="float64")
    g["work_hours"] = np.bincount(codes, weights=np.where(handled, hours, 0.0)[keep],
                                  minlength=k)
    group_keys = np.asarray(uniques, dtype=object)
    group_keys[pd.isna(group_keys)] = None
    return _region_rows(list(group_keys), g, by, settings)


def case_facts(history: History, *, calendar: WorkingCalendar,
               default_handle_limit: str = "1 working_days") -> pd.DataFrame:
    """Each case's facts as of its last event, for storing: valid for any ``as_of`` at or
    after ``last_at``. Columns: case_id, last_at, report_at, filed_at (epoch seconds, NaN =
    none), flags (:data:`FACT_FLAGS` bits), unit_code (of the last dispatch), work_hours,
    late (the stopped clock's verdict) and deadline (a running clock: late exactly when
    ``as_of > deadline``; NaN when stopped), exact (False: the facts need the events at
    every ``as_of``, e.g. a handled case whose clock still runs; such a case is replayed)."""
    ev = history.events
    if not len(history.cases) or not len(ev):
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in _FACT_COLUMNS})
    at_max = float(ev["at"].max())
    r = _replay(history, t0=at_max, t1=at_max, tq=at_max, calendar=calendar,
                default_handle_limit=default_handle_limit, category=None)
    running = r.running_last
    # a running clock is late once its own time since the last handling event exceeds what
    # is left: natural limits add seconds, working limits walk the working timeline
    target = r.left + 1e-6
    deadline = np.full(r.n, np.nan)
    natural = running & ~r.limit_working
    deadline[natural] = r.last_h_at[natural] + target[natural]
    working = running & r.limit_working
    if working.any():
        starts = r.last_h_at[working]
        found = np.full(len(starts), np.nan)
        for days in (120, 4000):
            todo = np.isnan(found)
            if not todo.any():
                break
            line = WorkingTimeline(calendar, float(starts[todo].min()),
                                   float(starts[todo].max()) + days * 86400.0)
            found[todo] = line.last_instant_within(line.at(starts[todo]) +
                                                   target[working][todo])
        deadline[working] = np.where(np.isnan(found), _BIG, found)
    return pd.DataFrame({
        "case_id": r.cases["case_id"].to_numpy(), "last_at": r.last_at,
        "report_at": r.report_at, "filed_at": r.filed_at, "flags": _flags_of(r),
        "unit_code": r.case_unit, "work_hours": r.work_hours,
        "late": np.where(running, False, r.late), "deadline": deadline,
        "exact": ~(running & r.handled_state)}, columns=list(_FACT_COLUMNS))


_FACT_COLUMNS = ("case_id", "last_at", "report_at", "filed_at", "flags", "unit_code",
                 "work_hours", "late", "deadline", "exact")


def groups_from_facts(facts: pd.DataFrame, keys, *, start: _dt.datetime, end: _dt.datetime,
                      as_of: _dt.datetime) -> pd.DataFrame:
    """Stored facts read at ``as_of`` as a groups table (one row per case): what the
    database's GROUP BY does, for tests and small data. ``keys``: the group key per row."""
    t0, t1, tq = _epoch(start), _epoch(end), _epoch(as_of)
    deadline = facts["deadline"].to_numpy(dtype="float64")
    late = np.where(np.isnan(deadline), facts["late"].to_numpy(dtype=bool), tq > deadline)
    filed = facts["filed_at"].to_numpy(dtype="float64")
    reported = facts["report_at"].to_numpy(dtype="float64")
    return pd.DataFrame({"key": np.asarray(keys, dtype=object),
                         "flags": facts["flags"].to_numpy(dtype="int64"),
                         "filed_in": (filed >= t0) & (filed < t1),
                         "reported_in": (reported >= t0) & (reported < t1), "late": late,
                         "cases": 1, "work_hours": facts["work_hours"].to_numpy(dtype="float64")},
                        columns=list(GROUP_COLUMNS))


def _limit_taken(own: _Own, begin, finish, urgent, normal: Limit, fast: Limit, calendar):
    """Whether each stretch begin→finish kept within its limit (the urgent one where set)."""
    ok = np.zeros(len(begin), dtype=bool)
    for limit, mask in ((normal, ~urgent), (fast, urgent)):
        if mask.any():
            taken = own.between(begin[mask], finish[mask], limit.is_working)
            ok[mask] = taken <= limit.own_seconds(calendar) + 1e-6
    return ok


def _scored(cols, weights: Mapping[str, float], by: str) -> pd.DataFrame:
    """Add score (0–100, one decimal) and grade from the weighted rates that are defined;
    ``cols`` maps column names to arrays (a dict or a DataFrame). Answers the table."""
    columns = list(columns_for(by))
    first = np.asarray(cols["group"])
    total = np.zeros(len(first))
    weight_sum = np.zeros(len(first))
    for name, weight in weights.items():
        if not weight:
            continue
        value = np.asarray(cols[name], dtype="float64")
        if name in LOWER_IS_BETTER:
            value = 1.0 - value
        defined = ~np.isnan(value)
        total += weight * np.where(defined, value, 0.0)
        weight_sum += weight * defined
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.round(100.0 * total / np.where(weight_sum > 0, weight_sum, np.nan), 1)
    grade = np.select([score >= 90, score >= 75, score >= 60, score >= 40],
                      np.array(["A", "B", "C", "D"], dtype=object), default="E").astype(object)
    grade[np.isnan(score)] = None
    data = {name: np.asarray(cols[name]) for name in columns[:-2]}
    data["score"], data["grade"] = score, grade
    return pd.DataFrame(data, columns=columns)


def _empty(by: str) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in columns_for(by)})


def _ratio(num: np.ndarray, den: np.ndarray, places: int = 4) -> np.ndarray:
    """num / den rounded; NaN where den is 0."""
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(num, dtype="float64") / np.where(den > 0, den, np.nan)
    return np.round(out, places)


def _region_rows(group_keys: list, g: dict[str, np.ndarray], by: str,
                 settings: ReportSettings) -> pd.DataFrame:
    if not group_keys:
        return _empty(by)
    due_to_close = g["filed"] - g["voided"] - g["merged"] - g["suspended"]
    denominator = {"handled": g["handled"], "due_to_close": due_to_close,
                   "filed": g["filed"]}[settings.rework_denominator]
    cols = {
        "group": np.array(group_keys, dtype=object),
        "reported": g["reported"], "filed": g["filed"],
        "filing_rate": _ratio(g["filed"], g["reported"]),
        "voided": g["voided"],
        "accurate_filing_rate": _ratio(g["filed"] - g["voided"], g["filed"]),
        "merged": g["merged"], "suspended": g["suspended"], "due_to_close": due_to_close,
        "closed": g["closed"], "closure_rate": _ratio(g["closed"], due_to_close),
        "closed_on_time": g["closed_on_time"],
        "on_time_closure_rate": _ratio(g["closed_on_time"], due_to_close),
        "public_share": _ratio(g["public"], g["filed"]),
        "self_handled": g["self_handled"],
        "due_to_handle": g["due_to_handle"], "handled": g["handled"],
        "handled_on_time": g["handled_on_time"],
        "handling_rate": _ratio(g["handled"], g["due_to_handle"]),
        "on_time_handling_rate": _ratio(g["handled_on_time"], g["due_to_handle"]),
        "reworked": g["reworked"], "rework_rate": _ratio(g["reworked"], denominator),
        "overdue_open": g["overdue_open"],
        "overdue_open_rate": _ratio(g["overdue_open"], g["due_to_handle"]),
        "extended": g["extended"], "extension_rate": _ratio(g["extended"], g["due_to_handle"]),
        "avg_handling_working_hours": _ratio(g["work_hours"], g["handled"], 2),
    }
    return _scored(cols, settings.weights["unit" if by == "unit" else "region"], by)


def _dispatcher_rows(ci, act, at, ev, in_cohort, report_at, cases, limits, own, calendar,
                     settings):
    n = len(in_cohort)
    dr = np.isin(act, [A["dispatch"], A["return"]])
    d_ci, d_act, d_at = ci[dr], act[dr], at[dr]
    actor = ev["actor"].to_numpy(dtype=object)[dr]
    m = len(d_ci)
    first = np.zeros(m, dtype=bool)
    first[_first_index(d_ci)] = True
    is_d = d_act == A["dispatch"]
    prev_act = np.r_[-1, d_act[:-1]] if m else d_act
    prev_at = np.r_[np.nan, d_at[:-1]] if m else d_at
    redispatch = is_d & ~first & (prev_act == A["return"])
    # a dispatch the unit returned: the next dispatch/return event of the case is a return
    nxt_return = np.r_[d_act[1:] == A["return"], False] if m else np.zeros(0, bool)
    nxt_same = np.r_[d_ci[1:] == d_ci[:-1], False] if m else np.zeros(0, bool)
    returned = is_d & nxt_return & nxt_same
    urgent = _codes(cases["urgency"], URGENCIES) == URGENCIES.index("urgent")
    on_time = np.zeros(m, dtype=bool)
    fd = is_d & ~redispatch
    on_time[fd] = _limit_taken(own, report_at[d_ci[fd]], d_at[fd], urgent[d_ci[fd]],
                               limits.file, limits.file_urgent, calendar)
    if redispatch.any():
        on_time[redispatch] = _limit_taken(own, prev_at[redispatch], d_at[redispatch],
                                           np.zeros(int(redispatch.sum()), bool),
                                           limits.dispatch, limits.dispatch, calendar)
    keep = is_d & in_cohort[d_ci]
    frame = pd.DataFrame({"key": actor[keep], "dispatched": 1,
                          "on_time": on_time[keep].astype("int64"),
                          "returned": returned[keep].astype("int64")})
    if frame.empty:
        return _empty("dispatcher")
    g = frame.groupby("key", sort=True).sum(numeric_only=True)
    out = pd.DataFrame({"group": g.index.to_numpy(dtype=object),
                        "dispatched": g["dispatched"].to_numpy(dtype="int64"),
                        "dispatched_on_time": g["on_time"].to_numpy(dtype="int64"),
                        "returned": g["returned"].to_numpy(dtype="int64")})
    out["on_time_dispatch_rate"] = _rate(out["dispatched_on_time"], out["dispatched"])
    out["accurate_dispatch_rate"] = _rate(out["dispatched"] - out["returned"],
                                          out["dispatched"])
    return _scored(out, settings.weights["dispatcher"], "dispatcher")


def _task_frame(ci, act, at, inspectors, send: str, ends: tuple[str, ...], limit: Limit,
                own: _Own, tq: float, calendar, eligible: np.ndarray) -> pd.DataFrame:
    """One row per task: inspector, counted (completed or late), on time."""
    names = (send,) + ends + ("void", "reject")
    mask = np.isin(act, [A[x] for x in names])
    t_ci, t_act, t_at, t_who = ci[mask], act[mask], at[mask], inspectors[mask]
    m = len(t_ci)
    is_send = t_act == A[send]
    nxt_act = np.r_[t_act[1:], -1] if m else t_act
    nxt_at = np.r_[t_at[1:], np.nan] if m else t_at
    nxt_same = np.r_[t_ci[1:] == t_ci[:-1], False] if m else np.zeros(0, bool)
    done = is_send & nxt_same & np.isin(nxt_act, [A[x] for x in ends])
    cancelled = is_send & nxt_same & np.isin(nxt_act, [A["void"], A["reject"]])
    open_ = is_send & ~done & ~cancelled
    limit_s = limit.own_seconds(calendar)
    finish = np.where(done, nxt_at, tq)
    taken = own.between(t_at, finish, limit.is_working) if m else np.zeros(0)
    on_time = done & (taken <= limit_s + 1e-6)
    late_open = open_ & (taken > limit_s + 1e-6)
    keep = is_send & eligible[t_ci] & (done | late_open)
    return pd.DataFrame({"key": t_who[keep], "tasks": 1,
                         "on_time": on_time[keep].astype("int64")})


def _inspector_rows(ci, act, at, ev, cases, n, reported_in, in_cohort, filed_at, voided,
                    self_handled, limits, own, tq, calendar, settings):
    inspectors = ev["inspector"].to_numpy(dtype=object) if "inspector" in ev else \
        np.full(len(ci), None, dtype=object)
    reporter = cases["reporter"].to_numpy(dtype=object) if n else np.zeros(0, dtype=object)
    channel = _codes(cases["channel"], CHANNELS)
    own_report = reported_in & (channel == CHANNELS.index("inspector"))
    valid = own_report & ~np.isnan(filed_at) & ~voided
    parts = [
        pd.DataFrame({"key": reporter[own_report], "reports": 1,
                      "valid_reports": valid[own_report].astype("int64")}),
        pd.DataFrame({"key": reporter[in_cohort & self_handled], "self_handled": 1}),
    ]
    vt = _task_frame(ci, act, at, inspectors, "send_verify", ("verify", "verify_false"),
                     limits.verify, own, tq, calendar, reported_in)
    parts.append(vt.rename(columns={"tasks": "verify_tasks", "on_time": "verified_on_time"}))
    ct = _task_frame(ci, act, at, inspectors, "send_check", ("check_pass", "check_fail"),
                     limits.check, own, tq, calendar, in_cohort)
    parts.append(ct.rename(columns={"tasks": "check_tasks", "on_time": "checked_on_time"}))
    frame = pd.concat(parts, ignore_index=True).fillna(0)
    frame = frame[frame["key"].map(lambda k: isinstance(k, str) and k != "")]
    if frame.empty:
        return _empty("inspector")
    g = frame.groupby("key", sort=True).sum(numeric_only=True)
    counts = ("reports", "valid_reports", "verify_tasks", "verified_on_time", "check_tasks",
              "checked_on_time", "self_handled")
    out = pd.DataFrame({"group": g.index.to_numpy(dtype=object)})
    for col in counts:
        out[col] = g[col].to_numpy(dtype="int64") if col in g else 0
    out["valid_report_rate"] = _rate(out["valid_reports"], out["reports"])
    out["on_time_verify_rate"] = _rate(out["verified_on_time"], out["verify_tasks"])
    out["on_time_check_rate"] = _rate(out["checked_on_time"], out["check_tasks"])
    return _scored(out, settings.weights["inspector"], "inspector")
