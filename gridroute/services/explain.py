"""`gridroute rules explain`: locate, route and compute the deadline without filing anything."""
from __future__ import annotations

from datetime import datetime

from gridroute.cases.model import Case, Channel, Urgency
from gridroute.services.context import AppContext
from gridroute.services.errors import ServiceError
from gridroute.grids.locator import LocateStatus
from gridroute.services.intake import ReportInput, choose_standard, prepare, route


def explain_routing(ctx: AppContext, *, category: str, lon: float, lat: float, crs: str,
                    channel: str, urgency: str | None, description: str,
                    at: datetime) -> list[str]:
    from gridroute.services.clocks import phase_limit
    from gridroute.services.grids import active_grid
    from gridroute.services.reference import reference_data
    from gridroute.sla.clock import deadline

    p = prepare(ctx, ReportInput(channel=channel, category_code=category, lon=lon, lat=lat,
                                 crs=crs, description=description, urgency=urgency,
                                 reported_at=at))
    loc = p.location
    grid = active_grid(ctx)
    case = Case(channel=Channel(channel), category_code=category, urgency=urgency or Urgency.NORMAL,
                description=description, reported_at=at, lon=p.lon, lat=p.lat, x=p.x, y=p.y,
                cell_code=loc.cell_code, community_code=loc.community_code,
                street_code=loc.street_code, district_code=loc.district_code)
    decision = route(ctx, case, at)
    case.urgency = decision.urgency or case.urgency
    case.standard_id = choose_standard(ctx, category, case.urgency, decision.standard_id)
    case.routing = {"limit": str(decision.limit) if decision.limit else None}
    data = reference_data(ctx)
    unit = data.units.get(decision.unit_code)
    if unit is None:
        raise ServiceError(f"rule engine chose unknown unit {decision.unit_code!r}", field="rules")
    limit = phase_limit(ctx, case, "handle")
    standard = data.find_standard(case.standard_id) if case.standard_id else None
    lines = [
        f"point: ({lon}, {lat}) {p.crs} → WGS84 ({p.lon:.6f}, {p.lat:.6f})",
        f"cell: {loc.cell_code} ({loc.status}"
        + (f", {loc.distance_m:.1f} m" if loc.status is LocateStatus.SNAPPED else "") + ")",
        f"community: {loc.community_code} {grid.names.get(loc.community_code, '')}",
        f"street: {loc.street_code} {grid.names.get(loc.street_code, '')}",
        f"rule: {decision.rule_id or '(none: fallback to the street grid centre 属地兜底)'}",
        f"why: {decision.explanation}",
    ]
    if decision.matched:
        lines.append("matched: " + "; ".join(decision.matched))
    lines += [
        f"unit: {unit.code} {unit.name_zh} / {unit.name_en}",
        f"urgency: {case.urgency}" + ("  auto-file: yes" if decision.auto_file else ""),
        f"standard: {case.standard_id or '-'}"
        + (f" {standard.filing_condition}" if standard else ""),
        f"handling limit: {limit}",
        f"deadline if dispatched at {at.isoformat()}: "
        f"{deadline(at, limit, ctx.calendar).isoformat()}",
        f"ruleset: {decision.ruleset_hash[:12]}",
    ]
    return lines
