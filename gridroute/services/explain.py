"""`gridroute rules explain` and the API's routing preview: locate, route and compute the
deadline without filing anything."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from gridroute.cases.model import Case, Channel, Urgency
from gridroute.services.context import AppContext
from gridroute.services.errors import ServiceError
from gridroute.grids.locator import LocateStatus
from gridroute.services.intake import ReportInput, choose_standard, prepare, route


def routing_preview(ctx: AppContext, *, category: str, lon: float, lat: float, crs: str,
                    channel: str, urgency: str | None, description: str,
                    at: datetime) -> dict[str, Any]:
    """What a report would get if filed now: cell, community, street, rule and why, unit,
    urgency, standards row, handling limit and deadline."""
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
    return {
        "input": {"lon": lon, "lat": lat, "crs": p.crs},
        "wgs84": {"lon": p.lon, "lat": p.lat},
        "cell_code": loc.cell_code, "locate_status": getattr(loc.status, "value", loc.status),
        "locate_distance_m": loc.distance_m if loc.status == LocateStatus.SNAPPED else None,
        "community_code": loc.community_code,
        "community_name": grid.names.get(loc.community_code, ""),
        "street_code": loc.street_code, "street_name": grid.names.get(loc.street_code, ""),
        "district_code": loc.district_code,
        "rule_id": decision.rule_id, "fallback": bool(decision.fallback),
        "explanation": decision.explanation, "matched": list(decision.matched),
        "unit_code": unit.code, "unit_name_zh": unit.name_zh, "unit_name_en": unit.name_en,
        "urgency": case.urgency, "auto_file": bool(decision.auto_file),
        "standard_id": case.standard_id,
        "filing_condition": standard.filing_condition if standard else None,
        "handling_limit": str(limit),
        "dispatched_at": at,
        "deadline": deadline(at, limit, ctx.calendar),
        "ruleset_hash": decision.ruleset_hash,
    }


def explain_routing(ctx: AppContext, *, category: str, lon: float, lat: float, crs: str,
                    channel: str, urgency: str | None, description: str,
                    at: datetime) -> list[str]:
    r = routing_preview(ctx, category=category, lon=lon, lat=lat, crs=crs, channel=channel,
                        urgency=urgency, description=description, at=at)
    lines = [
        f"point: ({lon}, {lat}) {r['input']['crs']} → WGS84 "
        f"({r['wgs84']['lon']:.6f}, {r['wgs84']['lat']:.6f})",
        f"cell: {r['cell_code']} ({r['locate_status']}"
        + (f", {r['locate_distance_m']:.1f} m"
           if r["locate_status"] == LocateStatus.SNAPPED else "") + ")",
        f"community: {r['community_code']} {r['community_name']}",
        f"street: {r['street_code']} {r['street_name']}",
        f"rule: {r['rule_id'] or '(none: fallback to the street grid centre 属地兜底)'}",
        f"why: {r['explanation']}",
    ]
    if r["matched"]:
        lines.append("matched: " + "; ".join(r["matched"]))
    lines += [
        f"unit: {r['unit_code']} {r['unit_name_zh']} / {r['unit_name_en']}",
        f"urgency: {r['urgency']}" + ("  auto-file: yes" if r["auto_file"] else ""),
        f"standard: {r['standard_id'] or '-'}"
        + (f" {r['filing_condition']}" if r["filing_condition"] is not None else ""),
        f"handling limit: {r['handling_limit']}",
        f"deadline if dispatched at {at.isoformat()}: {r['deadline'].isoformat()}",
        f"ruleset: {r['ruleset_hash'][:12]}",
    ]
    return lines
