"""Plan a demo city's history (示范城市案卷历史): reports over the sample grid and, for each, the
workflow actions that follow it, each with its actor and time.

`generate(world, start=..., end=..., seed=...)` is deterministic for a seed: the same world and
seed give the same plan. Nothing is written here; `gridroute.services.demo` replays the plan
through the intake and workflow services in time order. Actions planned after `end` are left
out, so the history ends with open cases in every state, some of them overdue.
"""
from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any, Callable, Mapping, Sequence

import shapely

from gridroute.demo import profiles as p
from gridroute.sla.clock import Limit, deadline

CENTRE_USERS = {"acceptor": ("demo-acceptor", "acceptor-chen"),
                "shift_lead": ("demo-shift-lead", "shiftlead-zhou"),
                "dispatcher": ("demo-dispatcher", "dispatcher-liu"),
                "manager": ("demo-manager",)}
DEMO_UNIT_USER = "demo-unit"
MIN_GAP = timedelta(seconds=30)
#: Reports whose verify task should still be with the demo inspector when the history ends.
PENDING_TASKS = 3


@dataclass(frozen=True)
class DemoCell:
    code: str
    community_code: str
    street_code: str
    place: str  # street and community names, for descriptions
    tags: tuple[str, ...]
    polygon: Any  # shapely polygon in the working CRS (metres)


@dataclass(frozen=True)
class DemoCategory:
    code: str
    kind: str  # "component" | "event"
    name_zh: str
    duplicate_radius_m: float


@dataclass(frozen=True)
class Routed:
    """What the routing rules would decide for a report: its unit and its handling limit."""

    unit_code: str | None
    limit: Limit


@dataclass
class DemoWorld:
    cells: Sequence[DemoCell]
    categories: Mapping[str, DemoCategory]
    units: Mapping[str, str]  # code → unit type
    inspectors: Mapping[str, str]  # community code → inspector code
    calendar: Any  # gridroute.sla.calendar.WorkingCalendar
    #: (category, cell, x, y, channel, at) → Routed
    route: Callable[[str, DemoCell, float, float, str, datetime], Routed]
    district_code: str = ""


@dataclass
class PlannedReport:
    at: datetime
    channel: str
    category_code: str
    cell: DemoCell
    x: float
    y: float
    reporter: str
    description: str
    external_id: str | None = None
    self_handled_reply: str | None = None


@dataclass
class Step:
    at: datetime
    action: str
    role: str
    actor: str
    reason: str | None = None
    payload: dict = field(default_factory=dict)
    unit: str | None = None  # the unit acting (role unit)
    parent_key: int | None = None  # merge: the planned case merged into


@dataclass
class PlannedCase:
    key: int
    report: PlannedReport
    steps: list[Step] = field(default_factory=list)
    unit_code: str | None = None
    chronic: bool = False
    duplicate_of: int | None = None


@dataclass
class DemoPlan:
    cases: list[PlannedCase]
    start: datetime
    end: datetime
    speeds: dict[str, str]  # unit → speed name
    demo_unit: str | None
    demo_inspector: str | None
    demo_community: str | None
    chronic_spots: list[tuple[str, str]]  # (cell, category)

    def items(self):
        """(at, case, step or None for the report) in time order: the order of replay."""
        out = []
        for case in self.cases:
            out.append((case.report.at, case.key, -1, case, None))
            out += [(s.at, case.key, i, case, s) for i, s in enumerate(case.steps)]
        out.sort(key=lambda item: item[:3])
        return [(at, case, step) for at, _, _, case, step in out]


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


class _Planner:
    def __init__(self, world: DemoWorld, *, start: datetime, end: datetime, seed: int,
                 per_day: float):
        self.world = world
        self.start = start
        self.end = end
        self.rng = random.Random(seed)
        self.per_day = per_day
        self.cal = world.calendar
        self.codes = list(world.categories)
        self.speeds = self._assign_speeds()
        self.cells = list(world.cells)
        self.inner: dict[str, Any] = {}
        self.demo_community = min(world.inspectors) if world.inspectors else None
        self.cell_weights = list(accumulate(self._cell_weight(c) for c in self.cells))
        self.keys = 0
        self.public_no = 0

    # ------------------------------------------------------------------ choices

    def u(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def _assign_speeds(self) -> dict[str, str]:
        units = sorted(self.world.units)
        self.rng.shuffle(units)
        names: list[str] = []
        for name, share in p.SPEED_SHARES:
            names += [name] * max(1, round(share * len(units)))
        return {unit: names[i] if i < len(names) else "normal" for i, unit in enumerate(units)}

    def _cell_weight(self, cell: DemoCell) -> float:
        weight = 1.0
        if "market" in cell.tags:
            weight *= 3.0
        if "road" in cell.tags:
            weight *= 1.3
        if cell.street_code[-3:] in ("001", "002", "005"):  # 南京东路, 外滩, 豫园: busy streets
            weight *= 1.6
        if cell.community_code == self.demo_community:
            weight *= 2.5
        return weight

    def _cell(self) -> DemoCell:
        x = self.rng.random() * self.cell_weights[-1]
        return self.cells[min(bisect(self.cell_weights, x), len(self.cells) - 1)]

    def point_in(self, cell: DemoCell) -> tuple[float, float]:
        """A point well inside the cell (3 m from its edge, so that the round trip through
        longitude and latitude keeps it there)."""
        inner = self.inner.get(cell.code)
        if inner is None:
            inner = cell.polygon.buffer(-3.0)
            if inner.is_empty:
                inner = cell.polygon
            shapely.prepare(inner)
            self.inner[cell.code] = inner
        minx, miny, maxx, maxy = inner.bounds
        for _ in range(200):
            x, y = self.u(minx, maxx), self.u(miny, maxy)
            if shapely.contains_xy(inner, x, y):
                return x, y
        point = inner.representative_point()
        return point.x, point.y

    def near(self, cell: DemoCell, x: float, y: float, radius: float) -> tuple[float, float]:
        inner = self.inner[cell.code]
        for _ in range(50):
            nx, ny = x + self.u(-radius, radius), y + self.u(-radius, radius)
            if shapely.contains_xy(inner, nx, ny):
                return nx, ny
        return x, y

    def _category(self, month: int, weights_cache: dict) -> str:
        cumulative = weights_cache.get(month)
        if cumulative is None:
            cumulative = weights_cache[month] = list(accumulate(
                p.category_weight(c, month) for c in self.codes))
        x = self.rng.random() * cumulative[-1]
        return self.codes[min(bisect(cumulative, x), len(self.codes) - 1)]

    def _when(self, day: datetime, category: str, weekend: bool) -> tuple[datetime, str]:
        """The hour a problem shows up (its own profile, where some channel is awake) and the
        channel that reports it then: street stalls in the evening come from the public and
        the hotline, since inspectors patrol by day."""
        shares = [(name, share * (0.75 if weekend and name == "inspector" else 1.0)
                   * (1.3 if weekend and name != "inspector" else 1.0))
                  for name, share in p.CHANNEL_SHARES]
        hours = p.HOUR_PROFILES[p.CATEGORY_HOURS.get(category, "day")]
        awake = [sum(share * p.CHANNEL_HOURS[name][h] for name, share in shares)
                 for h in range(24)]
        weights = [a * b for a, b in zip(hours, awake)]
        hour = self.rng.choices(range(24), weights=weights)[0]
        channel = self.rng.choices([name for name, _ in shares],
                                   weights=[share * p.CHANNEL_HOURS[name][hour]
                                            for name, share in shares])[0]
        return day + timedelta(hours=hour, seconds=self.rng.randrange(3600)), channel

    # ------------------------------------------------------------------ reports

    def _report(self, at: datetime, channel: str, category: str, cell: DemoCell,
                point: tuple[float, float] | None = None) -> PlannedReport:
        inspector = self.world.inspectors.get(cell.community_code)
        if channel == "inspector" and inspector is None:
            channel = "public"
        x, y = point or self.point_in(cell)
        name = self.world.categories[category].name_zh
        text = self.pick(p.DESCRIPTIONS.get(category, (f"发现{name}问题",)))
        description = f"{cell.place}：{text}"
        external_id = None
        if channel == "inspector":
            reporter = inspector
        elif channel == "public":
            self.public_no += 1
            reporter = (f"市民1{self.rng.choice('35789')}{self.rng.randrange(10)}****"
                        f"{self.rng.randrange(1000, 10000)}")
        else:
            self.public_no += 1
            reporter = "12345热线"
            external_id = f"12345-{at:%Y%m%d}-{self.public_no:05d}"
        reply = None
        if (channel == "inspector" and category in p.SELF_HANDLED
                and self.chance(p.SELF_HANDLED_SHARE)):
            reply = self.pick(p.SELF_HANDLED_REPLIES)
        return PlannedReport(at, channel, category, cell, x, y, reporter, description,
                             external_id, reply)

    def _new(self, report: PlannedReport, **kw) -> PlannedCase:
        self.keys += 1
        return PlannedCase(self.keys, report, **kw)

    def reports(self) -> list[PlannedCase]:
        out: list[PlannedCase] = []
        weights_cache: dict = {}
        day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < self.end:
            weekend = not self.cal.is_working_day(day.date())
            n = round(self.per_day * self.u(0.8, 1.2) * (0.85 if weekend else 1.0))
            for _ in range(n):
                category = self._category(day.month, weights_cache)
                at, channel = self._when(day, category, weekend)
                if not self.start <= at <= self.end:
                    continue
                out.append(self._new(self._report(at, channel, category, self._cell())))
            day += timedelta(days=1)
        return out

    def chronic(self) -> tuple[list[PlannedCase], list[tuple[str, str]]]:
        """A few cells where the same 小类 keeps coming back (高发/顽症)."""
        out: list[PlannedCase] = []
        spots: list[tuple[str, str]] = []
        candidates = sorted(self.cells, key=lambda c: (("market" not in c.tags), c.code))
        chosen: list[DemoCell] = []
        pool = candidates[:40] if len(candidates) > 40 else candidates
        while len(chosen) < min(p.CHRONIC_SPOTS, len(pool)):
            cell = self.pick(pool)
            if cell not in chosen:
                chosen.append(cell)
        days = max((self.end - self.start).days, 1)
        for i, cell in enumerate(chosen):
            category = p.CHRONIC_CATEGORIES[i % len(p.CHRONIC_CATEGORIES)]
            if category not in self.world.categories:
                continue
            spots.append((cell.code, category))
            # 6-10 reports over 30 days or more; a short history gets fewer
            count = max(2, round(self.rng.randint(*p.CHRONIC_REPORTS) * min(1.0, days / 30)))
            for k in range(count):
                # spread over the period, the last ones recent
                offset = days * (k + self.u(0.1, 0.9)) / count
                day = (self.start + timedelta(days=offset)).replace(
                    hour=0, minute=0, second=0, microsecond=0)
                at, channel = self._when(day, category, False)
                if not self.start <= at <= self.end:
                    continue
                out.append(self._new(self._report(at, channel, category, cell), chronic=True))
        return out, spots

    # ------------------------------------------------------------------ times

    def centre(self, t: datetime, low: float, high: float) -> datetime:
        """The centre (24 h, thinner at night) acts `low`..`high` minutes later."""
        t = t + _minutes(self.u(low, high))
        if t.hour >= 23 or t.hour < 7:
            t += _minutes(self.u(10, 50))
        return t

    def _opening(self, t: datetime, window: tuple[float, float, bool]) -> datetime:
        first, last, working_only = window
        for _ in range(20):
            hour = t.hour + t.minute / 60
            open_day = not working_only or self.cal.is_working_day(t.date())
            if open_day and first <= hour < last:
                return t
            if open_day and hour < first:
                return t.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
                    hours=first) + _minutes(self.u(5, 45))
            t = t.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            if not working_only or self.cal.is_working_day(t.date()):
                return t + timedelta(hours=first) + _minutes(self.u(5, 45))
        return t

    def patrol(self, t: datetime) -> datetime:
        return self._opening(t, p.PATROL_HOURS)

    def unit_open(self, unit: str, t: datetime) -> datetime:
        kind = self.world.units.get(unit, "")
        return self._opening(t, p.UNIT_HOURS.get(kind, p.DEFAULT_UNIT_HOURS))

    def after(self, start: datetime, limit: Limit, factor: float) -> datetime:
        return deadline(start, limit * round(max(factor, 0.01), 3), self.cal)

    # ------------------------------------------------------------------ fates

    def staff(self, role: str) -> str:
        return self.pick(CENTRE_USERS[role])

    def plan(self, case: PlannedCase) -> None:
        r = case.report
        if r.self_handled_reply is not None:
            return
        routed = self.world.route(r.category_code, r.cell, r.x, r.y, r.channel, r.at)
        case.unit_code = routed.unit_code
        main: list[Step] = []
        side: list[Step] = []
        inspector = self.world.inspectors.get(r.cell.community_code)

        def add(at: datetime, action: str, role: str, actor: str | None = None, **kw) -> datetime:
            at = at.replace(microsecond=0)
            if main and at <= main[-1].at:
                at = main[-1].at + MIN_GAP
            if actor is None:
                actor = f"op-{kw.get('unit')}" if role == "unit" else self.staff(role)
            main.append(Step(at, action, role, actor, **kw))
            return at

        t = r.at
        if r.channel in ("public", "hotline"):
            t = add(self.centre(t, 2, 20), "send_verify", "acceptor",
                    payload={"inspector": inspector})
            t = self.patrol(t + _minutes(self.u(10, 50)))
            if self.chance(p.VERIFY_FALSE_SHARE):
                add(t, "verify_false", "inspector", inspector,
                    reason=self.pick(p.VERIFY_FALSE_REASONS))
                case.steps = main
                return
            t = add(t, "verify", "inspector", inspector)
            t = add(self.centre(t, 3, 20), "file", "shift_lead")
        else:
            if self.chance(p.REJECT_SHARE):
                add(self.centre(t, 5, 30), "reject", "acceptor",
                    reason=self.pick(p.REJECT_REASONS))
                case.steps = main
                return
            late = self.chance(p.FILE_LATE_SHARE)
            t = add(self.centre(t, 32, 90) if late else self.centre(t, 3, 22), "file",
                    "shift_lead")
        filed_at = t
        unit = routed.unit_code
        t = add(t + _minutes(self.u(1, 8)), "dispatch", "dispatcher")
        handle_start = t
        returns = 0
        while unit and self.chance(p.RETURN_SHARE if returns == 0 else p.RETURN_SHARE / 3):
            if self.chance(0.3):
                t = add(self.unit_open(unit, t + _minutes(self.u(*self.speed(unit).accept_minutes))),
                        "accept", "unit", unit=unit)
            t = add(self.unit_open(unit, t + _minutes(self.u(15, 120))), "return", "unit",
                    unit=unit, reason=self.pick(p.RETURN_REASONS))
            unit = self._other_unit(unit, r.cell.street_code)
            late = self.chance(0.1)
            t = add(t + _minutes(self.u(35, 80) if late else self.u(5, 28)), "dispatch",
                    "dispatcher", payload={"unit_code": unit})
            returns += 1
        if not unit:
            case.steps = main
            return
        speed = self.speed(unit)
        t = add(self.unit_open(unit, t + _minutes(self.u(*speed.accept_minutes))), "accept",
                "unit", unit=unit)
        if self.chance(speed.stuck_share):
            case.steps = self._void_maybe(main, side, filed_at)
            return
        limit = routed.limit
        late = self.chance(speed.late_share)
        factor = self.u(*speed.late_factor) if late else self.u(*speed.factor)
        budget = 1.0
        long_limit = limit.unit in ("working_days", "natural_days") or (
            limit.unit in ("working_hours",) and limit.amount >= 8)
        if long_limit and self.chance(p.EXTENSION_SHARE):
            ask = max(self.after(handle_start, limit, self.u(0.5, 0.85)), t + _minutes(5))
            t = add(ask, "request_extension", "unit", unit=unit,
                    reason=self.pick(p.EXTENSION_REASONS))
            decided = self.centre(t, 30, 180)
            if self.chance(p.EXTENSION_APPROVED):
                t = add(decided, "approve_extension", "dispatcher")
                budget = 2.0
                if self.chance(p.SECOND_EXTENSION_SHARE):
                    ask = max(self.after(handle_start, limit, self.u(1.5, 1.85)), t + _minutes(5))
                    t = add(ask, "request_extension", "unit", unit=unit,
                            reason=self.pick(p.EXTENSION_REASONS))
                    t = add(self.centre(t, 30, 180), "approve_extension", "shift_lead")
                    budget = 3.0
            else:
                t = add(decided, "deny_extension", "dispatcher",
                        reason=self.pick(p.DENY_EXTENSION_REASONS))
                late = self.chance(0.5)
                factor = self.u(1.05, 1.6) if late else self.u(0.8, 1.0)
        elif (long_limit and r.category_code in p.SUSPENDABLE
              and self.chance(p.SUSPENSION_SHARE * 8)):
            ask = self.unit_open(unit, t + timedelta(hours=self.u(1, 6)))
            until = (ask + timedelta(days=self.rng.randint(14, 45))).replace(
                hour=9, minute=0, second=0, microsecond=0)
            t = add(ask, "request_suspension", "unit", unit=unit,
                    reason=self.pick(p.SUSPENSION_REASONS), payload={"until": until})
            decided = self.centre(t, 120, 1200)
            if self.chance(p.SUSPENSION_APPROVED):
                t = add(decided, "approve_suspension", "shift_lead")
                t = add(until + _minutes(self.u(0, 90)), "resume", "dispatcher")
                handle_start = t
                late = False
                factor = self.u(0.2, 0.7)
            else:
                t = add(decided, "deny_suspension", "shift_lead",
                        reason=self.pick(p.DENY_SUSPENSION_REASONS))
        resolved = max(self.after(handle_start, limit, factor * budget), t + _minutes(10))
        t = add(resolved, "resolve", "unit", unit=unit,
                payload={"reply": self.pick(p.REPLIES)})
        if late and self.chance(p.APPEAL_SHARE):
            t = add(t + _minutes(self.u(1, 4)), "appeal", "unit", unit=unit,
                    reason=self.pick(p.APPEAL_REASONS))
            decided = t + timedelta(hours=self.u(4, 40))
            role = "manager" if self.chance(0.4) else "shift_lead"
            if self.chance(p.APPEAL_APPROVED):
                side.append(Step(decided, "approve_appeal", role, self.staff(role)))
            else:
                side.append(Step(decided, "deny_appeal", role, self.staff(role),
                                 reason=self.pick(p.DENY_APPEAL_REASONS)))
        reworks = 0
        while True:
            t = add(self.centre(t, 6, 40), "send_check", "acceptor",
                    payload={"inspector": inspector})
            t = self.patrol(t + _minutes(self.u(10, 55)))
            if reworks < 2 and self.chance(p.CHECK_FAIL_SHARE):
                t = add(t, "check_fail", "inspector", inspector,
                        reason=self.pick(p.CHECK_FAIL_REASONS))
                reworks += 1
                again = max(self.after(t, limit, self.u(0.15, 0.7)), t + _minutes(15))
                t = add(again, "resolve", "unit", unit=unit,
                        payload={"reply": self.pick(p.REPLIES)})
                continue
            t = add(t, "check_pass", "inspector", inspector)
            break
        add(self.centre(t, 5, 40), "close", "shift_lead")
        case.steps = self._void_maybe(main, side, filed_at)

    def _void_maybe(self, main: list[Step], side: list[Step], filed_at: datetime) -> list[Step]:
        for step in side:
            step.at = step.at.replace(microsecond=0)
        steps = sorted(main + side, key=lambda s: s.at)
        for i in range(1, len(steps)):
            if steps[i].at <= steps[i - 1].at:
                steps[i].at = steps[i - 1].at + MIN_GAP
        if self.chance(p.VOID_SHARE):
            void_at = (filed_at + timedelta(hours=self.u(0.5, 20))).replace(microsecond=0)
            ends = [s.at for s in steps if s.action == "close"]
            if not ends or void_at < ends[0]:
                steps = [s for s in steps if s.at < void_at]
                steps.append(Step(void_at, "void", "shift_lead", self.staff("shift_lead"),
                                  reason=self.pick(p.VOID_REASONS)))
        return steps

    def speed(self, unit: str) -> p.Speed:
        return p.SPEEDS[self.speeds.get(unit, "normal")]

    def _other_unit(self, unit: str, street: str) -> str:
        for candidate in (f"{street}-gridcentre", f"{street}-enforcement"):
            if candidate != unit and candidate in self.world.units:
                return candidate
        others = sorted(u for u in self.world.units if u != unit)
        return self.pick(others) if others else unit

    # ------------------------------------------------------------------ duplicates

    def duplicates(self, cases: list[PlannedCase]) -> list[PlannedCase]:
        """Second reports of an open problem (same 小类, a few metres away, hours later),
        merged by the centre into the first."""
        out = []
        for parent in cases:
            if parent.chronic or not parent.steps or not self.chance(p.DUPLICATE_SHARE):
                continue
            ends = [s.at for s in parent.steps
                    if s.action in ("close", "void", "reject", "verify_false")]
            open_until = min(ends[0] if ends else self.end, self.end)
            room = (open_until - parent.report.at).total_seconds() / 3600 - 1.5
            if room < 0.5:
                continue
            r = parent.report
            at = (r.at + timedelta(hours=self.u(0.3, min(room, 30)))).replace(microsecond=0)
            radius = self.world.categories[r.category_code].duplicate_radius_m * 0.4
            x, y = self.near(r.cell, r.x, r.y, radius)
            channel = "public" if self.chance(0.6) else "hotline"
            report = self._report(at, channel, r.category_code, r.cell, (x, y))
            report.self_handled_reply = None
            child = self._new(report, duplicate_of=parent.key)
            merge_at = self.centre(at, 4, 25).replace(microsecond=0)
            if merge_at >= open_until - _minutes(5):
                merge_at = at + _minutes(2)
            role = "acceptor" if self.chance(0.7) else "shift_lead"
            child.steps = [Step(merge_at, "merge", role, self.staff(role),
                                parent_key=parent.key)]
            out.append(child)
        return out

    def pending_tasks(self) -> list[PlannedCase]:
        """A few fresh public reports in the demo inspector's community: their verify tasks
        are still open when the history ends."""
        cells = [c for c in self.cells if c.community_code == self.demo_community]
        out = []
        for _ in range(PENDING_TASKS if cells else 0):
            at = (self.end - _minutes(self.u(75, 120))).replace(microsecond=0)
            category = self.pick(("E0102", "E0505", "E0507", "C0118"))
            if category not in self.world.categories:
                continue
            out.append(self._new(self._report(at, "public", category, self.pick(cells))))
        return out


def generate(world: DemoWorld, *, start: datetime, end: datetime, seed: int = 1,
             per_day: float = 30.0) -> DemoPlan:
    """The plan of a demo history from `start` to `end` (aware datetimes in the city's zone)."""
    planner = _Planner(world, start=start, end=end, seed=seed, per_day=per_day)
    cases = planner.reports()
    chronic, spots = planner.chronic()
    cases += chronic
    cases.sort(key=lambda c: (c.report.at, c.key))
    for case in cases:
        planner.plan(case)
    cases += planner.duplicates(cases)
    pending = planner.pending_tasks()
    for case in pending:
        planner.plan(case)
        sent = [i for i, s in enumerate(case.steps) if s.action == "send_verify"]
        case.steps = case.steps[:sent[0] + 1] if sent else case.steps
    cases += pending
    for case in cases:
        case.steps = [s for s in case.steps if s.at <= end]
    cases.sort(key=lambda c: (c.report.at, c.key))
    counts: dict[str, int] = {}
    for case in cases:
        for step in case.steps:
            if step.action == "dispatch" and case.unit_code:
                unit = step.payload.get("unit_code") or case.unit_code
                counts[unit] = counts.get(unit, 0) + 1
    demo_unit = max(sorted(counts), key=lambda u: counts[u]) if counts else None
    for case in cases:
        for step in case.steps:
            if step.role == "unit":
                step.actor = DEMO_UNIT_USER if step.unit == demo_unit else f"op-{step.unit}"
    inspector = world.inspectors.get(planner.demo_community) if planner.demo_community else None
    return DemoPlan(cases, start, end, planner.speeds, demo_unit, inspector,
                    planner.demo_community, spots)
