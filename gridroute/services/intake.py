"""The one intake path (上报受理): validate → convert coordinates → locate → find duplicates →
route → persist case + history + clocks + outbox in one transaction. API, pages, CLI and bulk
import all call `submit_report`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


from gridroute.cases import workflow
from gridroute.cases.duplicates import DuplicatePolicy, candidate_bbox, find_duplicates
from gridroute.cases.model import (DUPLICATE_CANDIDATE_STATES, URGENCIES, Case, Channel, State,
                                   Urgency)
from gridroute.grids.coords import (COMMON_CRS, UnknownCRSError, convert_point, normalize_crs,
                                    to_working)
from gridroute.grids.locator import LocateStatus
from gridroute.rules.engine import RoutingContext, decide
from gridroute.services.clocks import apply_clock_effects
from gridroute.services.context import AppContext
from gridroute.services.errors import Conflict, ServiceError
from gridroute.services.grids import active_grid
from gridroute.services.reference import component_index, reference_data
from gridroute.store.repository import IdempotencyKeyTaken, UnitOfWork

MAX_DESCRIPTION = 4000


@dataclass
class ReportInput:
    """A report as any channel delivers it (coordinates in the declared system)."""

    channel: str
    category_code: str
    lon: Any
    lat: Any
    crs: str = "wgs84"
    description: str = ""
    reporter: str = ""
    photos: list[str] = field(default_factory=list)
    urgency: str | None = None
    standard_id: str | None = None  # the 立案条件 row the reporter chose, if any
    reported_at: datetime | None = None
    idempotency_key: str | None = None
    #: the key was generated for this request just now (Open311's random token when the
    #: client sent no Idempotency-Key): no stored case can hold it, so it is not looked up
    #: (the unique index still refuses a second row with it)
    idempotency_key_new: bool = False
    external_id: str | None = None
    actor: str | None = None
    #: 自行处置: the inspector fixed the problem on the spot; this is the reply (处置反馈).
    #: The case is filed and closed in the same transaction and kept out of unit statistics.
    self_handled_reply: str | None = None


@dataclass
class IntakeResult:
    case: Case
    created: bool
    duplicates: list[dict] = field(default_factory=list)
    decision: Any = None


@dataclass
class _Prepared:
    """Everything computed before the write transaction (no database locks held)."""

    report: ReportInput
    channel: Channel
    crs: str
    lon: float
    lat: float
    x: float
    y: float
    location: Any
    grid_version: int
    reported_at: datetime
    grid: Any = None  # the ActiveGrid located against (routing reads its cell tags)
    case: Case | None = None  # the new case, located and routed (`_route`)
    decision: Any = None  # the rule engine's decision for it


def _number(value: Any, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ServiceError(f"must be a number, got {value!r}", field=name) from None
    if not math.isfinite(number):
        raise ServiceError(f"must be a finite number, got {value!r}", field=name)
    if not low <= number <= high:
        raise ServiceError(f"must be between {low:g} and {high:g}, got {number:g}", field=name)
    return number


def validate_report(ctx: AppContext, report: ReportInput) -> tuple[Channel, str, float, float]:
    try:
        channel = Channel(report.channel)
    except ValueError:
        raise ServiceError(f"unknown channel {report.channel!r}; expected one of "
                           f"{', '.join(c.value for c in Channel)}", field="channel") from None
    if not report.category_code:
        raise ServiceError("is required", field="category")
    if report.category_code not in reference_data(ctx).categories:
        raise ServiceError(f"unknown category {report.category_code!r}", field="category")
    try:
        crs = normalize_crs(report.crs or "wgs84")
    except UnknownCRSError as exc:
        raise ServiceError(str(exc), field="crs") from None
    geographic = crs in COMMON_CRS
    lon = _number(report.lon, "lon", -180, 180) if geographic else _number(report.lon, "lon", -1e8, 1e8)
    lat = _number(report.lat, "lat", -90, 90) if geographic else _number(report.lat, "lat", -1e8, 1e8)
    if len(report.description or "") > MAX_DESCRIPTION:
        raise ServiceError(f"is {len(report.description)} characters; at most {MAX_DESCRIPTION}",
                           field="description")
    if report.urgency is not None and report.urgency not in URGENCIES:
        raise ServiceError(f"must be one of {', '.join(URGENCIES)}, got {report.urgency!r}",
                           field="urgency")
    if report.standard_id is not None and report.standard_id not in {
            s.id for s in reference_data(ctx).standards_for(report.category_code)}:
        raise ServiceError(f"unknown standard {report.standard_id!r} for category "
                           f"{report.category_code}", field="standard")
    if report.reported_at is not None and report.reported_at.tzinfo is None:
        raise ServiceError("must carry a UTC offset", field="reported_at")
    return channel, crs, lon, lat


def prepare(ctx: AppContext, report: ReportInput) -> _Prepared:
    """Validation, conversion and location: the work that needs no write lock."""
    channel, crs, lon, lat = validate_report(ctx, report)
    grid = active_grid(ctx)
    if grid is None:
        raise ServiceError("no grid is loaded; run `gridroute init`", code="no_grid")
    working_crs = ctx.config.grid.working_crs
    wlon, wlat, x, y = convert_point(lon, lat, crs, working_crs)
    location = grid.locator.locate_xy_one(x, y)
    if location.status is LocateStatus.OUTSIDE:
        raise ServiceError(_outside_message(ctx, grid, lon, lat, crs), field="lon,lat",
                           code="outside_area")
    return _Prepared(report, channel, crs, wlon, wlat, x, y, location, grid.version_id,
                     report.reported_at or ctx.now(), grid)


def _outside_message(ctx, grid, lon: float, lat: float, crs: str) -> str:
    """Name the declared system and, if another common system would put the point inside,
    say so: the usual cause is a GCJ-02 point from a phone SDK declared as WGS84."""
    message = (f"the point ({lon:.6f}, {lat:.6f}) declared as {crs} is outside the managed "
               f"area (no cell within {ctx.config.grid.snap_tolerance_m:g} m)")
    if crs not in COMMON_CRS:
        return message
    hints = []
    for other in COMMON_CRS:
        if other == crs:
            continue
        ox, oy = to_working(lon, lat, other, ctx.config.grid.working_crs)
        loc = grid.locator.locate_xy_one(float(ox), float(oy))
        if loc.status is not LocateStatus.OUTSIDE:
            hints.append(f"it would fall inside cell {loc.cell_code} if the coordinates were "
                         f"{other}")
    if hints:
        message += "; " + "; ".join(hints) + " — check the declared coordinate system (crs)"
    return message


def duplicate_policy(ctx: AppContext) -> DuplicatePolicy:
    """Radius and window per category (cached with the reference data it is built from)."""
    reference = reference_data(ctx)  # drops the cached policy when the data changed

    def build() -> DuplicatePolicy:
        per_category = {
            c.code: (c.duplicate_radius_m or ctx.config.duplicates.radius_m,
                     timedelta(hours=c.duplicate_window_h or ctx.config.duplicates.window_h))
            for c in reference.categories.values()
            if c.duplicate_radius_m or c.duplicate_window_h}
        return DuplicatePolicy(radius_m=ctx.config.duplicates.radius_m,
                               window=timedelta(hours=ctx.config.duplicates.window_h),
                               per_category=per_category)

    return ctx.reference_cache.get_or_build("duplicate_policy", build)


def route(ctx: AppContext, case: Case, at: datetime, grid=None):
    """Ask the rule engine who owns the case (属地兜底 when no rule matches)."""
    grid = grid if grid is not None else active_grid(ctx)
    components = component_index(ctx)
    routing_ctx = RoutingContext(
        category_code=case.category_code, urgency=case.urgency, channel=case.channel.value,
        district_code=case.district_code, street_code=case.street_code,
        community_code=case.community_code, cell_code=case.cell_code,
        cell_tags=frozenset(grid.cell_tags.get(case.cell_code, ()) if grid else ()),
        at=at, tz=ctx.tz, is_working_time=ctx.calendar.is_working_time(at),
        description=case.description or "",
        nearest_component=lambda category, radius: components.nearest(
            category, case.x, case.y, radius))
    return decide(ctx.rules.current(), routing_ctx, units=reference_data(ctx).units)


def choose_standard(ctx: AppContext, category_code: str, urgency: str,
                    override: str | None) -> str | None:
    """The standards row: the rule's override, else the first row of the case's urgency, else
    the category's first row."""
    rows = reference_data(ctx).standards_for(category_code)
    if override:
        return override
    for row in rows:
        if row.urgency == urgency:
            return row.id
    return rows[0].id if rows else None


def _standard_limit(ctx: AppContext, standard_id: str | None) -> str | None:
    standard = reference_data(ctx).find_standard(standard_id) if standard_id else None
    return str(standard.limit) if standard is not None else None


def submit_report(ctx: AppContext, report: ReportInput, *, now: datetime | None = None,
                  uow: UnitOfWork | None = None) -> IntakeResult:
    """File one report. With an idempotency key seen before, returns that case unchanged."""
    prepared = _route(ctx, prepare(ctx, report))
    if uow is not None:
        return _persist(ctx, uow, prepared, now or ctx.now())
    try:
        with ctx.uow() as own:
            result = _persist(ctx, own, prepared, now or ctx.now())
            own.commit()
    except IdempotencyKeyTaken:
        # The same key arrived twice at once (PostgreSQL lets both look before either
        # commits): the loser answers with the winner's case, as for a later retry.
        with ctx.uow(read_only=True) as uow_read:
            existing = uow_read.cases.get_by_idempotency_key(report.idempotency_key)
        if existing is None:
            raise
        same_report_or_refuse(existing, prepared)
        return IntakeResult(existing, created=False)
    return result


def same_report_or_refuse(existing: Case, p: _Prepared) -> None:
    """A retry with an idempotency key seen before answers with the first case only when it
    is the same report; different content under the same key is a client bug to report, not
    a case to drop silently."""
    report = p.report
    differences = [name for name, mine, theirs in (
        ("channel", p.channel.value, existing.channel.value),
        ("category", report.category_code, existing.category_code),
        ("crs", p.crs, existing.declared_crs),
        ("description", report.description or "", existing.description),
        ("reporter", report.reporter or "", existing.reporter),
        ("external_id", report.external_id, existing.external_id),
    ) if mine != theirs]
    if abs(p.lon - existing.lon) > 1e-7 or abs(p.lat - existing.lat) > 1e-7:
        differences.append("lon,lat")
    if report.reported_at is not None and report.reported_at != existing.reported_at:
        differences.append("reported_at")
    if differences:
        raise Conflict(f"idempotency key {report.idempotency_key!r} was used for "
                       f"{existing.public_id} with different content ({', '.join(differences)})",
                       field="idempotency_key", code="idempotency_key_reused")


def _route(ctx: AppContext, p: _Prepared) -> _Prepared:
    """The new case, located and routed: the rule engine reads only the report, the grid and
    the reference data in memory, so this runs before the write transaction (which then holds
    SQLite's single write lock only for the duplicate search and the writes)."""
    report = p.report
    loc = p.location
    case = Case(
        channel=p.channel, reporter=report.reporter or "", description=report.description or "",
        photos=list(report.photos or []), reported_at=p.reported_at, declared_crs=p.crs,
        lon=p.lon, lat=p.lat, x=p.x, y=p.y, cell_code=loc.cell_code,
        community_code=loc.community_code, street_code=loc.street_code,
        district_code=loc.district_code, locate_status=loc.status,
        locate_distance_m=loc.distance_m, grid_version=p.grid_version,
        category_code=report.category_code, urgency=report.urgency or Urgency.NORMAL,
        external_id=report.external_id, idempotency_key=report.idempotency_key)
    decision = route(ctx, case, p.reported_at, p.grid)
    case.urgency = decision.urgency or case.urgency
    case.unit_code = decision.unit_code
    case.standard_id = choose_standard(ctx, case.category_code, case.urgency,
                                       decision.standard_id or report.standard_id)
    case.routing = {
        "rule_id": decision.rule_id, "matched": list(decision.matched),
        "ruleset_hash": decision.ruleset_hash, "fallback": bool(decision.fallback),
        "explanation": decision.explanation,
        "auto_file": bool(decision.auto_file and ctx.config.workflow.auto_file),
        "limit": str(decision.limit) if decision.limit else None,
        # the standard's limit as filed: a later catalogue import may change the row
        "standard_limit": _standard_limit(ctx, case.standard_id),
    }
    p.case, p.decision = case, decision
    return p


def _persist(ctx: AppContext, uow: UnitOfWork, p: _Prepared, now: datetime) -> IntakeResult:
    report = p.report
    if report.idempotency_key and not report.idempotency_key_new:
        existing = uow.cases.get_by_idempotency_key(report.idempotency_key)
        if existing is not None:
            same_report_or_refuse(existing, p)
            return IntakeResult(existing, created=False)
    case = p.case
    decision = p.decision
    policy = duplicate_policy(ctx)
    duplicates = []
    box = candidate_bbox(case, policy)
    if box is not None:
        minx, miny, maxx, maxy, since = box
        candidates = uow.cases.duplicate_candidates(
            case.category_code, (minx, miny, maxx, maxy), since,
            [s.value for s in DUPLICATE_CANDIDATE_STATES])
        duplicates = [{"public_id": c.public_id, "case_id": c.id, "distance_m": round(d, 2)}
                      for c, d in find_duplicates(case, candidates, policy)]

    actor = report.actor or report.reporter or p.channel.value
    role = "inspector" if p.channel is Channel.INSPECTOR else "public" if p.channel in (
        Channel.PUBLIC, Channel.HOTLINE) else "system"
    # History, auto-filing and clocks are worked out before the insert, so a new case costs
    # one write per table.
    events = [workflow.intake_event(case, actor=actor, role=role, at=p.reported_at,
                                    payload={"likely_duplicates": duplicates,
                                             "routing": case.routing})]
    effects = [("file", "start")]
    if report.self_handled_reply is not None:
        try:
            events.append(workflow.apply(case, "self_handle", actor=actor, role=role,
                                         at=p.reported_at,
                                         payload={"reply": report.self_handled_reply,
                                                  "photos": list(report.photos or [])}))
        except workflow.WorkflowError as exc:
            raise ServiceError(exc.message, field=exc.field or "self_handled_reply",
                               code=exc.code) from None
        effects = []  # filed and closed at once: no clock ever ran
    # Auto-filing is a city's choice (workflow.auto_file); by default the shift lead files.
    if (decision.auto_file and ctx.config.workflow.auto_file and case.state is State.REPORTED
            and not duplicates):
        events.append(workflow.apply(case, "file", actor="rules", role="system",
                                     at=p.reported_at, payload={"rule_id": decision.rule_id}))
        effects += workflow.TRANSITIONS["file"].clock_effects
    uow.cases.add(case)
    for event in events:
        event.case_id = case.id
    uow.cases.add_events(events)
    apply_clock_effects(ctx, uow, case, effects, p.reported_at, new_case=True)
    uow.outbox.add(topic="case.reported", case_id=case.id, recipient="dispatch-centre",
                   channel="log", payload={"public_id": case.public_id,
                                           "category": case.category_code,
                                           "cell": case.cell_code, "unit": case.unit_code,
                                           "fallback": bool(decision.fallback),
                                           "duplicates": duplicates}, at=now)
    return IntakeResult(case, created=True, duplicates=duplicates, decision=decision)
