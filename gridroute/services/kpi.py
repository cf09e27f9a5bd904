"""Indicators (综合评价) and chronic problems (高发/顽症) for CLI, API and pages.

Loads a period's history in two queries (gridroute/store/reports.py) and hands it to the pure
functions of gridroute/reports/. Managers see their street or district, admins (and the CLI,
which runs with the operator's own rights) everything; other roles are refused.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from gridroute.auth.model import Principal, UserRole
from gridroute.reports.chronic import CHRONIC_ACTIONS, chronic_spots
from gridroute.reports.indicators import (FACTS_FORMAT, GEO_GROUPINGS, GROUPINGS,
                                          CentreLimits, History, ReportSettings, case_facts,
                                          columns_for, compute_frame, groups_from_facts,
                                          groups_of,
                                          needed_actions, region_frame, rows_of)
from gridroute.reports.weights import WEIGHTABLE, parse_weights
from gridroute.services.context import AppContext
from gridroute.services.errors import Forbidden, ServiceError
from gridroute.sla.clock import Limit
from gridroute.store.reports import HistoryQuery, reports_of, store_facts


__all__ = ["KpiReport", "kpi_report", "indicator_frame", "facts_basis", "PeriodFacts",
           "period_facts", "facts_frame", "chronic_report",
           "chronic_geojson", "report_settings", "centre_limits", "GROUPINGS", "history_for"]

#: Who may read indicators: managers (their scope) and admins (everything).
READERS = (UserRole.MANAGER, UserRole.ADMIN)


@dataclass
class KpiReport:
    """The indicators of a period: ``frame`` is the table (pandas, NaN = undefined rate),
    ``rows`` the same as dicts of plain values (None = undefined), built on first use."""

    start: datetime
    end: datetime
    as_of: datetime
    by: str
    category: str | None
    columns: tuple[str, ...]
    frame: Any

    @functools.cached_property
    def rows(self) -> list[dict[str, Any]]:
        return rows_of(self.frame)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(),
                "as_of": self.as_of.isoformat(), "by": self.by, "category": self.category,
                "columns": list(self.columns), "rows": self.rows}


def report_settings(config) -> ReportSettings:
    r = config.reports
    return _settings(r.region_weights, r.unit_weights, r.dispatcher_weights,
                     r.inspector_weights, r.shift_lead_weights, r.rework_denominator,
                     r.chronic_min_cases, r.chronic_days)


@functools.lru_cache(maxsize=8)
def _settings(region, unit, dispatcher, inspector, shift_lead, denominator, n, d):
    texts = {"region": region, "unit": unit, "dispatcher": dispatcher, "inspector": inspector,
             "shift_lead": shift_lead}
    return ReportSettings(
        weights={kind: parse_weights(text, WEIGHTABLE[kind]) for kind, text in texts.items()},
        rework_denominator=denominator, chronic_min_cases=n, chronic_days=d)


def centre_limits(config) -> CentreLimits:
    sla = config.sla
    return _limits(sla.file_limit, sla.file_limit_urgent, sla.dispatch_limit, sla.verify_limit,
                   sla.check_limit)


@functools.lru_cache(maxsize=8)
def _limits(file, urgent, dispatch, verify, check) -> CentreLimits:
    return CentreLimits(file=Limit.parse(file), file_urgent=Limit.parse(urgent),
                        dispatch=Limit.parse(dispatch), verify=Limit.parse(verify),
                        check=Limit.parse(check))


def _scope(principal: Principal | None) -> tuple[str, ...] | None:
    """Grid-code prefixes the caller may read (None = everything)."""
    if principal is None or principal.role is UserRole.ADMIN:
        return None
    if principal.role is UserRole.MANAGER:
        return tuple(principal.scope)
    raise Forbidden(f"indicators are for managers and admins, not {principal.role.value}",
                    field="role")


def _check_period(start: datetime, end: datetime, as_of: datetime) -> None:
    for name, value in (("from", start), ("to", end), ("as_of", as_of)):
        if value.tzinfo is None:
            raise ServiceError("must carry a time zone", field=name)
    if not start < end:
        raise ServiceError("must be after from", field="to")
    if end - start > timedelta(days=366):
        raise ServiceError("the period may span at most 366 days", field="to")


def history_for(ctx: AppContext, *, start: datetime, end: datetime, as_of: datetime, by: str,
                category: str | None = None,
                scope: tuple[str, ...] | None = None) -> History:
    """The period's history with the columns and events the grouping reads."""
    key = {"cell": "cell_code", "community": "community_code", "street": "street_code",
           "district": "district_code"}.get(by)
    query = HistoryQuery(start=start, end=end, as_of=as_of, actions=needed_actions(by),
                         category=category or None, scope_prefixes=scope,
                         key_columns=(key,) if key else (),
                         with_actor=by in ("dispatcher", "shift_lead"),
                         with_inspector=by == "inspector", with_category=False)
    with ctx.uow(read_only=True) as uow:
        cases, events = reports_of(uow).history(query)
    return History(cases, events)


#: Above this many cases without usable stored facts, their history is read with the period's
#: query rather than by id (a first report of a period, or after a calendar change).
_BY_ID_LIMIT = 5000


def facts_basis(ctx: AppContext, standards_digest: str) -> str:
    """What stored facts were computed on: their format, the working calendar, the default
    handling limit and the catalogue's limits; facts of another basis are recomputed."""
    return ":".join([str(FACTS_FORMAT), ctx.calendar.fingerprint,
                     ctx.config.sla.handle_default_limit.replace(" ", "_"), standards_digest])


GEO_KEY_COLUMNS = tuple(f"{level}_code" for level in GEO_GROUPINGS)


@dataclass
class PeriodFacts:
    """The region and unit facts of a period's cases read at ``as_of``: ``rows`` one per case
    (its grid codes, then the columns of
    :func:`gridroute.reports.indicators.case_facts`), and ``rest`` the history of the cases
    that must be replayed at ``as_of`` (events after it, or facts that are not exact)."""

    rows: pd.DataFrame
    rest: History
    as_of: datetime


def period_facts(ctx: AppContext, *, start: datetime, end: datetime, as_of: datetime,
                 category: str | None = None, scope: tuple[str, ...] | None = None,
                 key_columns: tuple[str, ...] = GEO_KEY_COLUMNS,
                 with_unit: bool = True) -> PeriodFacts:
    """The facts of the cases reported or filed in ``[start, end)`` (of the category, inside
    the scope): the stored ones where they are usable, grouped by any key and sub-period
    afterwards (:func:`facts_frame`); the other cases are replayed from their history and
    their facts stored for the next report, so the numbers are always those of the history."""
    default_limit = ctx.config.sla.handle_default_limit
    tq = as_of.timestamp()
    query = HistoryQuery(start=start, end=end, as_of=None, actions=needed_actions("unit"),
                         category=category or None, scope_prefixes=scope,
                         key_columns=key_columns, with_actor=False, with_inspector=False,
                         with_category=False, with_version=True)
    with ctx.uow(read_only=True) as uow:
        repo = reports_of(uow)
        basis = facts_basis(ctx, repo.standards_digest())
        rows, stale = repo.fact_rows(query, basis=basis, tq=tq, with_unit=with_unit)
        if stale:
            by_id = len(stale) <= _BY_ID_LIMIT
            cases, events = repo.history(replace(query, case_ids=stale) if by_id else query)
    rest = History(rows.iloc[:0][list(key_columns)].assign(case_id=[]), rows.iloc[:0])
    if stale:
        if not by_id:
            wanted = set(stale)
            cases = cases[cases["case_id"].isin(wanted)].reset_index(drop=True)
            events = events[events["case_id"].isin(wanted)].reset_index(drop=True)
        history = History(cases, events)
        # their facts from the whole history: the ones whose events all precede as_of serve
        # this report as stored facts would; the others are replayed at as_of
        facts = case_facts(history, calendar=ctx.calendar, default_handle_limit=default_limit)
        serves = (facts["last_at"] <= tq) & facts["exact"].astype(bool)
        fresh = facts[serves.to_numpy()].merge(cases[["case_id", *key_columns]], on="case_id")
        rows = pd.concat([rows, fresh[rows.columns]], ignore_index=True) if len(rows) else \
            fresh[list(rows.columns)].reset_index(drop=True)
        rest = _only(history, set(facts.loc[~serves.to_numpy(), "case_id"].tolist()))
        versions = dict(zip(cases["case_id"].tolist(), cases["version"].tolist()))
        # a cache: when the database refuses the write the report is right, only slower
        store_facts(ctx.uow, facts, versions, basis)
    return PeriodFacts(rows=rows, rest=rest, as_of=as_of)


def facts_frame(ctx: AppContext, facts: PeriodFacts, *, by: str, start: datetime,
                end: datetime, one_region: bool = False):
    """The indicators table of one region or unit grouping over ``[start, end)`` (inside the
    facts' period); ``one_region``: every case in one row (the scope's totals)."""
    if by not in GEO_GROUPINGS and by != "unit":
        raise ServiceError(f"must be one of {', '.join(GEO_GROUPINGS)} or unit", field="by")
    rows, rest = facts.rows, facts.rest
    if one_region:
        by = "district"
        keys = np.full(len(rows), "*", dtype=object)
        rest = History(rest.cases.assign(district_code="*"), rest.events)
    else:
        keys = rows["unit_code" if by == "unit" else f"{by}_code"].to_numpy(dtype=object)
    groups = groups_from_facts(rows, keys, start=start, end=end, as_of=facts.as_of)
    if len(rest.cases):
        replayed = groups_of(rest, start=start, end=end, as_of=facts.as_of, by=by,
                             calendar=ctx.calendar,
                             default_handle_limit=ctx.config.sla.handle_default_limit)
        groups = pd.concat([groups, replayed], ignore_index=True) if len(groups) else replayed
    return region_frame(groups, by, report_settings(ctx.config))


def indicator_frame(ctx: AppContext, *, start: datetime, end: datetime, as_of: datetime,
                    by: str, category: str | None = None,
                    scope: tuple[str, ...] | None = None):
    """The indicators table of :func:`gridroute.reports.indicators.compute_frame`: region
    and unit groupings from the period's facts (:func:`period_facts`), posts (dispatcher,
    inspector, shift lead) replayed from the history."""
    if by not in GEO_GROUPINGS and by != "unit":
        history = history_for(ctx, start=start, end=end, as_of=as_of, by=by,
                              category=category, scope=scope)
        return compute_frame(history, start=start, end=end, as_of=as_of, by=by,
                             calendar=ctx.calendar, limits=centre_limits(ctx.config),
                             settings=report_settings(ctx.config), category=None,
                             default_handle_limit=ctx.config.sla.handle_default_limit)
    keys = () if by == "unit" else (f"{by}_code",)
    facts = period_facts(ctx, start=start, end=end, as_of=as_of, category=category,
                         scope=scope, key_columns=keys, with_unit=by == "unit")
    return facts_frame(ctx, facts, by=by, start=start, end=end)


def _only(history: History, case_ids: set) -> History:
    cases = history.cases[history.cases["case_id"].isin(case_ids)]
    events = history.events[history.events["case_id"].isin(case_ids)]
    return History(cases.reset_index(drop=True), events.reset_index(drop=True))


def kpi_report(ctx: AppContext, principal: Principal | None, *, start: datetime, end: datetime,
               by: str, as_of: datetime | None = None,
               category: str | None = None) -> KpiReport:
    """One row per group of ``by`` for the cases filed in ``[start, end)``, read at ``as_of``
    (default now). ``principal`` None: the operator at the command line (everything)."""
    if by not in GROUPINGS:
        raise ServiceError(f"must be one of {', '.join(GROUPINGS)}", field="by")
    as_of = as_of or ctx.now()
    _check_period(start, end, as_of)
    scope = _scope(principal)
    # the category is applied by the queries
    frame = indicator_frame(ctx, start=start, end=end, as_of=as_of, by=by, category=category,
                            scope=scope)
    return KpiReport(start=start, end=end, as_of=as_of, by=by, category=category or None,
                     columns=columns_for(by), frame=frame)


def chronic_report(ctx: AppContext, principal: Principal | None, *,
                   as_of: datetime | None = None, days: int | None = None,
                   min_cases: int | None = None,
                   category: str | None = None) -> dict[str, Any]:
    """Chronic spots (高发/顽症) in the ``days`` days before ``as_of`` (config defaults)."""
    settings = report_settings(ctx.config)
    days = settings.chronic_days if days is None else days
    min_cases = settings.chronic_min_cases if min_cases is None else min_cases
    if not 1 <= days <= 366:
        raise ServiceError("must be between 1 and 366", field="days")
    if min_cases < 2:
        raise ServiceError("must be at least 2", field="min_cases")
    as_of = as_of or ctx.now()
    if as_of.tzinfo is None:
        raise ServiceError("must carry a time zone", field="as_of")
    scope = _scope(principal)
    start = as_of - timedelta(days=days)
    query = HistoryQuery(start=start, end=as_of, as_of=as_of, actions=CHRONIC_ACTIONS,
                         category=category or None, scope_prefixes=scope,
                         key_columns=("cell_code", "community_code", "street_code"),
                         cohort_actions=("report",), with_actor=False, with_inspector=False,
                         with_public_id=True)
    with ctx.uow(read_only=True) as uow:
        cases, events = reports_of(uow).history(query)
    spots = chronic_spots(History(cases, events), as_of=as_of, days=days,
                          min_cases=min_cases, category=category or None)
    tz = ctx.tz
    for spot in spots:
        for key in ("first_reported", "last_reported"):
            spot[key] = datetime.fromtimestamp(spot[key], tz).isoformat()
    return {"as_of": as_of.isoformat(), "days": days, "min_cases": min_cases,
            "category": category or None, "spots": spots}


def chronic_geojson(ctx: AppContext, principal: Principal | None, **kw) -> dict[str, Any]:
    """The chronic spots as GeoJSON: one feature per (cell, 小类), the cell's polygon (WGS84)."""
    from gridroute.services.grid_views import grid_geojson

    report = chronic_report(ctx, principal, **kw)
    cells = {f["properties"]["cell_code"]: f["geometry"]
             for f in grid_geojson(ctx, "cells")["features"]}
    features = []
    for spot in report["spots"]:
        geometry = cells.get(spot["cell_code"])
        features.append({"type": "Feature", "geometry": geometry,
                         "properties": {k: v for k, v in spot.items()}})
    meta = {k: v for k, v in report.items() if k != "spots"}
    return {"type": "FeatureCollection", "features": features, **meta}
