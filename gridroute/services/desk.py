"""What the dispatch centre's and the units' pages read and do beyond the API's views:
the queue page with live lights (红灯/黄灯 from the running clocks, not only from the marks the
escalation tick recorded), the choices a case page offers (units, inspectors of the cell), and a
unit's 处置反馈 with photos (uploaded, checked and stored, then the ordinary `resolve` action).
Everything goes through the caller's scope, like `case_views`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from gridroute.auth.model import Principal
from gridroute.cases.model import Case
from gridroute.services.case_views import CaseQuery, search_cases
from gridroute.services.context import AppContext

_LIGHT_ORDER = {"green": 0, "yellow": 1, "red": 2}


@dataclass
class QueueRow:
    case: Case
    deadline: datetime | None
    light: str | None          # worst light of the running clocks; None when none runs
    remaining_seconds: float | None  # wall-clock seconds to the earliest deadline


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    counts: dict[str, int]
    now: datetime


def queue_page(ctx: AppContext, principal: Principal, query: CaseQuery) -> QueuePage:
    """One page of cases in the principal's scope (see `search_cases`) with each case's light
    and time left, read with one more query for the page's running clocks."""
    from gridroute.services.clocks import escalation_policy
    from gridroute.sla.lights import light

    listing = search_cases(ctx, principal, query)
    now = ctx.now()
    with ctx.uow(read_only=True) as uow:
        running = uow.clocks.running_of_cases([c.id for c in listing.cases])
    share = escalation_policy(ctx).yellow_share
    rows = []
    for case in listing.cases:
        lights = [light(clock, now, ctx.calendar, share) for clock in running.get(case.id, [])]
        worst = max(lights, key=_LIGHT_ORDER.__getitem__) if lights else None
        deadline = listing.deadlines.get(case.id)
        left = (deadline - now).total_seconds() if deadline is not None else None
        rows.append(QueueRow(case, deadline, worst, left))
    return QueuePage(rows, listing.next_cursor, listing.counts, now)


def unit_choices(ctx: AppContext, street: str | None) -> tuple[list[dict], list[dict]]:
    """The units a case of `street` may be sent to: those serving the street (or every
    street) first, then every other unit (the dispatcher may override the routing)."""
    from gridroute.services.catalogue import units

    serving = units(ctx, street)
    codes = {u["code"] for u in serving}
    return serving, [u for u in units(ctx) if u["code"] not in codes]


def inspectors_for(ctx: AppContext, cell_code: str | None) -> list[dict[str, str]] | None:
    """Inspectors patrolling `cell_code` (for verify and check tasks); None without a roster
    (any inspector code is then accepted)."""
    from gridroute.services.reference import inspector_roster

    roster = inspector_roster(ctx)
    if roster is None:
        return None
    return [{"code": i.code, "name_zh": i.name_zh} for i in sorted(
        roster.values(), key=lambda i: i.code) if i.covers(cell_code)]


def resolve_with_photos(ctx: AppContext, principal: Principal, ref: str, *, reply: str,
                        uploads: Sequence, expected_version: int | None):
    """处置反馈: the unit's reply with photos. The photos are checked and stored first (a bad
    file refuses the reply, field `photos`), then `resolve` runs as any other action."""
    from gridroute.services import photos
    from gridroute.services.case_views import visible_case
    from gridroute.services.workflow import perform_as

    with ctx.uow(read_only=True) as uow:
        visible_case(ctx, uow, principal, ref)  # someone else's case: NotFound before any file
    stored = photos.process_all(ctx, list(uploads), field="photos")
    return perform_as(ctx, principal, ref, "resolve", payload={
        "reply": reply, "photos": [p.name for p in stored]}, expected_version=expected_version)


def street_names(ctx: AppContext) -> dict[str, str]:
    """Street code → name in the active grid (kept per grid version)."""
    with ctx.uow(read_only=True) as uow:
        version = uow.grids.active()
        if version is None:
            return {}
        cached = ctx.__dict__.get("_desk_streets")
        if cached is not None and cached[0] == version.id:
            return cached[1]
        rows = uow.grids.street_counts(version.id)
    names = {r.street_code: r.street_name for r in rows}
    ctx.__dict__["_desk_streets"] = (version.id, names)
    return names
