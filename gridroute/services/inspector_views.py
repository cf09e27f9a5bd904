"""网格监督员 the inspector's phone: filing a report with photos, the likely duplicates near a
point before filing, and the inspector's own reports.

Filing goes through the one intake path (`services.intake.submit_report`) with the phone's
idempotency key, so a report sent again after a lost answer (offline queue, retry) answers the
first case instead of making a second one. Photos go through `services.photos` first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from gridroute.auth.model import Principal, UserRole
from gridroute.cases.duplicates import candidate_bbox, find_duplicates
from gridroute.cases.model import DUPLICATE_CANDIDATE_STATES, Case, Channel
from gridroute.services import photos as photo_service
from gridroute.services.context import AppContext
from gridroute.services.errors import Forbidden, ServiceError
from gridroute.services.intake import (IntakeResult, ReportInput, duplicate_policy, prepare,
                                       submit_report, validate_report)
from gridroute.store.case_queries import CaseFilter

#: how many of the inspector's reports one page of "My reports" lists
REPORTS_PAGE = 30


def _inspector_only(principal: Principal) -> None:
    if principal.role is not UserRole.INSPECTOR:
        raise Forbidden(f"role {principal.role.value} files no patrol reports; only inspectors",
                        field="role", code="role_not_allowed")


@dataclass(frozen=True)
class PatrolReport:
    """A report as the phone sends it (coordinates in the declared system)."""

    category: str
    lon: Any
    lat: Any
    crs: str = "wgs84"
    description: str = ""
    urgency: str | None = None
    idempotency_key: str | None = None


def file_patrol_report(ctx: AppContext, principal: Principal, report: PatrolReport,
                       uploads: Sequence[photo_service.Upload] = ()) -> IntakeResult:
    """上报: the inspector's report with up to the configured number of photos. The fields are
    checked before any photo is stored, so a refused report stores nothing; a photo that is
    not an image is refused naming the field `photos`."""
    _inspector_only(principal)
    key = (report.idempotency_key or "").strip() or None
    if key is not None and len(key) > 128:
        raise ServiceError(f"is {len(key)} characters; at most 128", field="idempotency_key")
    intake = ReportInput(channel=Channel.INSPECTOR.value, category_code=report.category,
                         lon=report.lon, lat=report.lat, crs=report.crs or "wgs84",
                         description=report.description or "", reporter=principal.name,
                         urgency=report.urgency or None, idempotency_key=key,
                         actor=principal.name)
    validate_report(ctx, intake)
    photo_service.check_count(ctx, 0, len(uploads), field="photos")
    stored = []
    for upload in uploads:
        try:
            stored.append(photo_service.process(ctx, upload, field="photos"))
        except ServiceError as exc:
            name = f" {upload.filename}" if upload.filename else ""
            raise ServiceError(f"photo{name}: {exc.message}", field="photos",
                               code=exc.code) from None
    intake.photos = [p.name for p in stored]
    return submit_report(ctx, intake)


def nearby_duplicates(ctx: AppContext, principal: Principal, *, category: str, lon: Any,
                      lat: Any, crs: str = "wgs84", at: datetime | None = None
                      ) -> list[dict[str, Any]]:
    """Open cases a report here and now would duplicate (same 小类, within the category's
    radius and window), nearest first: what the phone shows before the inspector files.
    Only cases the inspector may see are listed."""
    from gridroute.services.reference import reference_data

    prepared = prepare(ctx, ReportInput(channel=Channel.INSPECTOR.value, category_code=category,
                                        lon=lon, lat=lat, crs=crs or "wgs84",
                                        reported_at=at or ctx.now()))
    probe = Case(channel=Channel.INSPECTOR, category_code=category, x=prepared.x,
                 y=prepared.y, reported_at=prepared.reported_at)
    box = candidate_bbox(probe, duplicate_policy(ctx))
    if box is None:
        return []
    minx, miny, maxx, maxy, since = box
    with ctx.uow(read_only=True) as uow:
        candidates = uow.cases.duplicate_candidates(
            category, (minx, miny, maxx, maxy), since,
            [s.value for s in DUPLICATE_CANDIDATE_STATES])
        found = [(uow.cases.get(c.id), distance)
                 for c, distance in find_duplicates(probe, candidates, duplicate_policy(ctx))]
    names = reference_data(ctx).categories
    out = []
    for case, distance in found:
        if case is None or not principal.can_see(case):
            continue
        category_row = names.get(case.category_code)
        out.append({"public_id": case.public_id, "state": case.state.value,
                    "distance_m": round(distance, 1),
                    "reported_at": case.reported_at.isoformat() if case.reported_at else None,
                    "description": (case.description or "")[:120],
                    "category_name_zh": category_row.minor_name_zh if category_row else "",
                    "cell_code": case.cell_code})
    return out


@dataclass
class MyReports:
    cases: list[Case]
    deadlines: dict[int, datetime | None]
    next_cursor: str | None
    counts: dict[str, int]


def my_reports(ctx: AppContext, principal: Principal, *, states: Sequence[str] = (),
               cursor: str | None = None, limit: int = REPORTS_PAGE) -> MyReports:
    """我的上报: the cases this inspector reported (channel inspector, reporter = the user),
    newest first, with their current state and next deadline; `counts` per state."""
    from gridroute.services.case_views import decode_cursor, encode_cursor

    _inspector_only(principal)
    if not 1 <= limit <= 200:
        raise ServiceError("must be between 1 and 200", field="limit")
    sort = "-reported_at"
    after = decode_cursor(sort, cursor) if cursor else None
    base = dict(channels=[Channel.INSPECTOR.value], reporters=[principal.name])
    with ctx.uow(read_only=True) as uow:
        page = uow.case_lists.page(CaseFilter(states=list(states), **base), sort=sort,
                                   limit=limit, after=after)
        counts = uow.case_lists.count_by_state(CaseFilter(**base))
    next_cursor = encode_cursor(sort, page.next_key) if page.next_key else None
    return MyReports(page.cases, page.deadlines, next_cursor, counts)


def complete_my_task(ctx: AppContext, principal: Principal, task_id: int, outcome: Any, *,
                     note: str | None = None, version: int | None = None,
                     uploads: Sequence[photo_service.Upload] = ()):
    """核实 / 核查 from the phone: the photos are checked and stored, then the task is completed
    through `services.tasks.complete_task` (the same path as the API) with their names."""
    from gridroute.services.tasks import complete_task, get_task, parse_outcome

    _inspector_only(principal)
    task = get_task(ctx, principal, task_id)  # NotFound outside the scope, before any upload
    parse_outcome(task.kind, outcome)
    photo_service.check_count(ctx, len(task.case.photos), len(uploads), field="photos")
    names = []
    for upload in uploads:
        try:
            names.append(photo_service.process(ctx, upload, field="photos").name)
        except ServiceError as exc:
            name = f" {upload.filename}" if upload.filename else ""
            raise ServiceError(f"photo{name}: {exc.message}", field="photos",
                               code=exc.code) from None
    return complete_task(ctx, principal, task_id, outcome, note=note, version=version,
                         photos=names)
