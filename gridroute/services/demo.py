"""`gridroute demo seed`: fill an initialised database with a demo city (示范城市).

The plan comes from `gridroute.demo.generator`; every report goes through the one intake path
(`intake.submit_report`, with its own report time) and every later step through the workflow
service (`workflow.perform_in`, each at its planned time, in time order), exactly as the legacy
import replays a migrated history. Nothing is inserted any other way. Demo users (one per role)
are added through `users.add_user`.

A database that holds cases is refused unless `force` (then the demo cases are added to the
ones there; nothing is deleted), and with `if_empty` it is left alone.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Callable, Iterable

from gridroute.auth.model import UserRole
from gridroute.cases.model import Case, Role
from gridroute.demo.generator import (DemoCategory, DemoCell, DemoPlan, DemoWorld, Routed,
                                      generate)
from gridroute.services.context import AppContext
from gridroute.services.errors import Conflict, ServiceError

#: Passwords of the demo users: fixed and printed, for a demo only.
DEMO_PASSWORD_PREFIX = "demo-"
DEMO_NAMES = {
    UserRole.ACCEPTOR: "demo-acceptor", UserRole.SHIFT_LEAD: "demo-shift-lead",
    UserRole.DISPATCHER: "demo-dispatcher", UserRole.UNIT: "demo-unit",
    UserRole.MANAGER: "demo-manager", UserRole.ADMIN: "demo-admin",
}
BATCH = 400  # planned steps per transaction


@dataclass
class DemoUser:
    name: str
    role: str
    password: str
    unit_code: str | None = None
    scope: str = ""
    created: bool = True

    @property
    def where(self) -> str:
        return self.unit_code or self.scope or "city"


@dataclass
class DemoResult:
    skipped: bool = False
    existing_cases: int = 0
    cases: int = 0
    steps: int = 0
    failed: list[str] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    users: list[DemoUser] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    seconds: float = 0.0
    plan: DemoPlan | None = None

    def summary_lines(self) -> list[str]:
        lines = [f"demo city: {self.cases} cases, {self.steps} workflow actions from "
                 f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} "
                 f"in {self.seconds:.1f} s"]
        lines.append("by state: " + ", ".join(f"{state} {n}" for state, n in
                                             sorted(self.states.items(), key=lambda kv: -kv[1])))
        if self.plan is not None:
            if self.plan.demo_unit:
                lines.append(f"busiest unit: {self.plan.demo_unit}")
            for speed, label in (("slow", "slow units"), ("late", "often late")):
                units = sorted(u for u, name in self.plan.speeds.items() if name == speed)
                if units:
                    lines.append(f"{label}: {', '.join(units)}")
            if self.plan.chronic_spots:
                lines.append("chronic spots (cell, 小类): " + ", ".join(
                    f"{cell} {category}" for cell, category in self.plan.chronic_spots))
        if self.failed:
            lines.append(f"{len(self.failed)} planned actions were refused (first: "
                         f"{self.failed[0]})")
        return lines


def demo_password(ctx: AppContext, role: str) -> str:
    password = f"{DEMO_PASSWORD_PREFIX}{role.replace('_', '-')}"
    minimum = ctx.config.auth.min_password_length
    return password + "0" * max(0, minimum - len(password))


def require_initialised(ctx: AppContext):
    """The grid and the reference data `gridroute init` loads; a refusal naming init otherwise."""
    from gridroute.services.grids import active_grid
    from gridroute.services.reference import reference_data

    grid = active_grid(ctx)
    if grid is None:
        raise ServiceError("no grid is loaded: run `gridroute init` first", code="not_initialised")
    reference = reference_data(ctx)
    if not reference.categories or not reference.units:
        raise ServiceError("no reference data is loaded: run `gridroute init` first",
                           code="not_initialised")
    return grid, reference


def count_cases(ctx: AppContext) -> int:
    with ctx.uow(read_only=True) as uow:
        return uow.cases.count()


def _inspectors(ctx: AppContext, communities: list[str]) -> dict[str, str]:
    """The inspector who patrols each community (the roster's first, by code); without a
    roster, one made-up inspector per community."""
    from gridroute.services.reference import inspector_roster

    roster = inspector_roster(ctx)
    if roster is None:
        return {community: f"insp-{community}" for community in communities}
    inspectors: dict[str, str] = {}
    for code in sorted(roster):
        for community in roster[code].communities:
            inspectors.setdefault(community, code)
        for cell in roster[code].cells:
            inspectors.setdefault(cell[:12], code)
    return inspectors


def _world(ctx: AppContext, grid, reference) -> DemoWorld:
    import shapely

    from gridroute.services.clocks import phase_limit
    from gridroute.services.intake import choose_standard, route

    with ctx.uow(read_only=True) as uow:
        version = uow.grids.active()
        rows = uow.grids.cells(version.id)
    polygons = shapely.from_wkb([r.geometry_wkb for r in rows])
    cells = [DemoCell(r.cell_code, r.community_code, r.street_code,
                      f"{r.street_name or ''}{r.community_name or ''}",
                      tuple(t for t in (r.tags or "").split(",") if t), polygon)
             for r, polygon in zip(rows, polygons)]
    categories = {code: DemoCategory(code, c.kind, c.minor_name_zh,
                                     c.duplicate_radius_m or ctx.config.duplicates.radius_m)
                  for code, c in sorted(reference.categories.items())}
    units = {code: u.unit_type for code, u in sorted(reference.units.items())
             if u.unit_type not in ("city_centre", "district_centre")}
    inspectors = _inspectors(ctx, sorted({c.community_code for c in cells}))
    # verify and check tasks go only to an inspector of the cell: cells nobody patrols stay
    # out of the demo
    cells = [c for c in cells if c.community_code in inspectors]

    def route_report(category: str, cell: DemoCell, x: float, y: float, channel: str,
                     at: datetime) -> Routed:
        case = Case(channel=channel, category_code=category, x=x, y=y, cell_code=cell.code,
                    community_code=cell.community_code, street_code=cell.street_code,
                    district_code=cell.code[:6], reported_at=at)
        decision = route(ctx, case, at, grid)
        case.urgency = decision.urgency or case.urgency
        case.standard_id = choose_standard(ctx, category, case.urgency, decision.standard_id)
        case.routing = {"limit": str(decision.limit) if decision.limit else None}
        return Routed(decision.unit_code, phase_limit(ctx, case, "handle"))

    district = rows[0].district_code if rows else ""
    return DemoWorld(cells=cells, categories=categories, units=units, inspectors=inspectors,
                     calendar=ctx.calendar, route=route_report, district_code=district)


def _report_input(ctx: AppContext, report):
    from gridroute.grids.coords import from_wgs84, to_wgs84
    from gridroute.services.intake import ReportInput

    lon, lat = to_wgs84(report.x, report.y, ctx.config.grid.working_crs)
    crs = "wgs84"
    if report.channel == "public":
        # phone apps speak GCJ-02 (Amap, Tencent), some BD-09 (Baidu); the router converts
        crs = "gcj02" if (int(report.x * 10) % 5) else "bd09"
        lon, lat = from_wgs84(lon, lat, crs)
    return ReportInput(
        channel=report.channel, category_code=report.category_code, lon=round(float(lon), 7),
        lat=round(float(lat), 7), crs=crs, description=report.description,
        reporter=report.reporter, reported_at=report.at, external_id=report.external_id,
        actor=report.reporter, self_handled_reply=report.self_handled_reply)


def seed_demo(ctx: AppContext, *, days: int = 60, seed: int = 1, per_day: float = 30.0,
              force: bool = False, if_empty: bool = False, now: datetime | None = None,
              progress: Callable[[Iterable, int], Iterable] | None = None) -> DemoResult:
    """Plan and replay a demo history of `days` days ending `now`, then add the demo users.
    Refuses (Conflict, nothing written) a database holding cases unless `force`; with
    `if_empty` such a database is left alone (`skipped`)."""
    from gridroute.services.intake import submit_report
    from gridroute.services.workflow import perform_in

    if days < 1:
        raise ServiceError(f"must be at least 1, got {days}", field="days")
    if per_day <= 0:
        raise ServiceError(f"must be positive, got {per_day:g}", field="per_day")
    if now is not None and now > ctx.now() + timedelta(minutes=5):
        raise ServiceError(f"{now.isoformat()} is in the future: a history ends at the latest "
                           "now", field="end")
    grid, reference = require_initialised(ctx)
    existing = count_cases(ctx)
    if existing and if_empty:
        return DemoResult(skipped=True, existing_cases=existing, users=existing_demo_users(ctx))
    if existing and not force:
        raise Conflict(f"the database already holds {existing} cases: demo seed refused, "
                       "nothing written (use --force to add the demo cases to them)",
                       code="not_empty")
    started = time.perf_counter()
    end = (now or ctx.now()).astimezone(ctx.tz).replace(second=0, microsecond=0)
    start = end - timedelta(days=days)
    plan = generate(_world(ctx, grid, reference), start=start, end=end, seed=seed,
                    per_day=per_day)
    items = plan.items()
    ids: dict[int, int] = {}
    dead: set[int] = set()
    states: dict[int, str] = {}
    result = DemoResult(start=start, end=end, plan=plan)
    iterable = iter(progress(items, len(items)) if progress else items)
    while True:
        chunk = list(islice(iterable, BATCH))
        if not chunk:
            break
        with ctx.uow() as uow:
            for at, case, step in chunk:
                if case.key in dead:
                    continue
                try:
                    # a refused action writes nothing (the services check before they write),
                    # so no savepoint is needed
                    if step is None:
                        intake = submit_report(ctx, _report_input(ctx, case.report),
                                               uow=uow, now=at)
                        ids[case.key] = intake.case.id
                        states[intake.case.id] = intake.case.state.value
                        result.cases += 1
                        continue
                    payload = dict(step.payload)
                    if step.parent_key is not None:
                        payload["parent_id"] = ids[step.parent_key]
                    done = perform_in(ctx, uow, ids[case.key], step.action,
                                      actor=step.actor, role=step.role, reason=step.reason,
                                      payload=payload, at=at, notify=False)
                    for event in done.events:
                        states[event.case_id] = event.to_state.value
                    result.steps += 1
                except (ServiceError, KeyError) as exc:
                    # the plan and the services disagree: the rest of this case is dropped
                    dead.add(case.key)
                    result.failed.append(f"{step.action if step else 'report'} at "
                                         f"{at:%Y-%m-%d %H:%M}: {exc}")
            uow.commit()
    result.states = dict(Counter(states.values()))
    result.users = add_demo_users(ctx, plan)
    result.seconds = time.perf_counter() - started
    return result


def _demo_user_specs(ctx: AppContext, plan: DemoPlan | None) -> list[DemoUser]:
    from gridroute.services.reference import inspector_roster

    district = plan_district(ctx)
    specs: list[DemoUser] = []
    inspector = plan.demo_inspector if plan else None
    if inspector:
        roster = inspector_roster(ctx)
        entry = roster.get(inspector) if roster else None
        scope = ",".join((entry.communities + entry.cells) if entry else
                         ((plan.demo_community,) if plan.demo_community else ()))
        specs.append(DemoUser(inspector, "inspector", demo_password(ctx, "inspector"),
                              scope=scope))
    for role in (UserRole.ACCEPTOR, UserRole.SHIFT_LEAD, UserRole.DISPATCHER):
        specs.append(DemoUser(DEMO_NAMES[role], role.value, demo_password(ctx, role.value),
                              scope=district))
    if plan is not None and plan.demo_unit:
        specs.append(DemoUser(DEMO_NAMES[UserRole.UNIT], "unit", demo_password(ctx, "unit"),
                              unit_code=plan.demo_unit))
    specs.append(DemoUser(DEMO_NAMES[UserRole.MANAGER], "manager",
                          demo_password(ctx, "manager"), scope=district))
    specs.append(DemoUser(DEMO_NAMES[UserRole.ADMIN], "admin", demo_password(ctx, "admin")))
    return specs


def plan_district(ctx: AppContext) -> str:
    from gridroute.services.users import grid_levels

    districts = sorted(code for code, level in grid_levels(ctx).items() if level == "district")
    return districts[0] if districts else ""


def add_demo_users(ctx: AppContext, plan: DemoPlan) -> list[DemoUser]:
    """One demo user per role; a name that exists already is left as it is."""
    from gridroute.services.users import add_user, list_users

    out = []
    stored = None
    for spec in _demo_user_specs(ctx, plan):
        try:
            add_user(ctx, spec.name, role=spec.role, password=spec.password,
                     unit_code=spec.unit_code, scope=spec.scope or None, actor="demo-seed")
        except Conflict:
            # shown as it is stored (an earlier seed may have given it another unit)
            if stored is None:
                stored = {p.name: p for p in list_users(ctx)}
            principal = stored.get(spec.name)
            spec.created = False
            if principal is not None:
                spec.role, spec.unit_code = principal.role.value, principal.unit_code
                spec.scope = ",".join(principal.scope)
        out.append(spec)
    return out


def existing_demo_users(ctx: AppContext) -> list[DemoUser]:
    """The demo users found in the database (for `--if-empty` on a seeded database): the fixed
    names, and the inspector a seed picks (the one of the first community)."""
    from gridroute.services.users import grid_levels, list_users

    communities = sorted(c for c, level in grid_levels(ctx).items() if level == "community")
    inspectors = _inspectors(ctx, communities)
    names = set(DEMO_NAMES.values())
    if communities and inspectors:
        names.add(inspectors.get(min(inspectors)))
    out = []
    order = [r.value for r in UserRole]
    for principal in sorted(list_users(ctx), key=lambda u: (order.index(u.role.value), u.name)):
        if principal.name in names:
            out.append(DemoUser(principal.name, principal.role.value,
                                demo_password(ctx, principal.role.value),
                                unit_code=principal.unit_code, scope=",".join(principal.scope),
                                created=False))
    return out
