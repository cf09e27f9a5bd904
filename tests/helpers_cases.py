"""Test helpers: units and cases with running phase clocks written straight through the store
(no intake service), and an AppContext on the test database."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gridroute.cases.model import Case, State
from gridroute.cases.workflow import intake_event
from gridroute.config import PROJECT_ROOT, load_config
from gridroute.reference.models import ReferenceData, Unit
from gridroute.services.clocks import save_clock
from gridroute.services.context import AppContext
from gridroute.services.reference import store_reference
from gridroute.sla.clock import Limit, PhaseClock
from gridroute.store import tables as t

TZ = ZoneInfo("Asia/Shanghai")
STREET = "310101001"
OTHER_STREET = "310101002"
UNIT = "310101001-enforcement"
GRID_CENTRE = "310101001-gridcentre"
DISTRICT_CENTRE = "310101-centre"
CITY_CENTRE = "city-centre"
OVERRIDES = str(PROJECT_ROOT / "data" / "calendar" / "overrides.toml")


def at(text: str) -> datetime:
    """`at("2026-11-25 09:00")` in the city's zone."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def make_context(db_url: str, engine, *, sinks: str = "log", **notify) -> AppContext:
    config = load_config().replace(
        database={"url": db_url}, sla={"overrides": OVERRIDES},
        notify={"sinks": sinks, **notify})
    return AppContext(config=config, engine=engine)


def write_config(path: Path, db_url: str, *, sinks: str = "log") -> Path:
    """A config file for subprocesses (paths absolute, so its folder does not matter)."""
    path.write_text(
        "[database]\n"
        f"url = {db_url!r}\n"
        # several test processes write at once on a loaded 2-core machine: wait longer for
        # the write lock than the 10 s default before calling the database busy
        "busy_timeout_ms = 60000\n"
        "[sla]\n"
        f"overrides = {OVERRIDES!r}\n"
        "[notify]\n"
        f"sinks = {sinks!r}\n", encoding="utf-8")
    return path


def sample_units(*, webhook_url: str = "", email: bool = True) -> dict[str, Unit]:
    """A unit, the grid centres of two streets, the district centre and the city centre."""
    def unit(code, unit_type, parent, streets, hook=""):
        return Unit(code=code, name_zh=code, name_en=code, unit_type=unit_type,
                    parent_code=parent, streets=streets,
                    contact_email=f"{code}@example.org" if email else "", webhook_url=hook)

    units = [
        unit(CITY_CENTRE, "city_centre", None, ()),
        unit(DISTRICT_CENTRE, "district_centre", CITY_CENTRE, (STREET, OTHER_STREET), webhook_url),
        unit(GRID_CENTRE, "grid_centre", DISTRICT_CENTRE, (STREET,)),
        unit("310101002-gridcentre", "grid_centre", DISTRICT_CENTRE, (OTHER_STREET,)),
        unit(UNIT, "enforcement_squad", GRID_CENTRE, (STREET,), webhook_url),
    ]
    return {u.code: u for u in units}


def seed_units(ctx: AppContext, units: dict[str, Unit] | None = None) -> dict[str, Unit]:
    units = units if units is not None else sample_units()
    store_reference(ctx, ReferenceData(units=units))
    return units


def create_case(ctx: AppContext, *, started_at: datetime, limit: str = "4 working_hours",
                phase: str = "handle", unit_code: str | None = UNIT, street_code: str = STREET,
                state: State = State.ACCEPTED, paused_at: datetime | None = None,
                also: tuple[tuple[str, str], ...] = ()) -> Case:
    """A stored case with one running (or paused) phase clock started at `started_at`, plus a
    running clock for each `(phase, limit)` in `also`."""
    cal = ctx.calendar
    case = Case(channel="inspector", reporter="tester", description="test case",
                reported_at=started_at, lon=121.48, lat=31.23, x=0.0, y=0.0,
                cell_code=street_code + "001001", community_code=street_code + "001",
                street_code=street_code, district_code=street_code[:6], locate_status="inside",
                category_code="C0101", unit_code=unit_code, state=state)
    clock = PhaseClock.start(phase, Limit.parse(limit), started_at, cal)
    if paused_at is not None:
        clock = clock.pause(paused_at, cal)
    with ctx.uow() as uow:
        uow.cases.add(case)
        uow.cases.add_event(intake_event(case, actor="tester", role="inspector", at=started_at))
        save_clock(ctx, uow, case.id, clock, run=1, unit_code=unit_code, exists=False)
        for other_phase, other_limit in also:
            other = PhaseClock.start(other_phase, Limit.parse(other_limit), started_at, cal)
            save_clock(ctx, uow, case.id, other, run=1, unit_code=unit_code, exists=False)
        uow.commit()
    return case


def escalation_rows(engine) -> list[sa.Row]:
    e = t.escalations.c
    with engine.connect() as conn:
        return conn.execute(sa.select(t.escalations).order_by(
            e.case_id, e.phase, e.run, e.id)).all()


def escalate_events(engine) -> list[sa.Row]:
    c = t.case_events.c
    with engine.connect() as conn:
        return conn.execute(sa.select(t.case_events).where(c.action == "escalate")
                            .order_by(c.case_id, c.seq)).all()


def outbox_rows(engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.outbox).order_by(t.outbox.c.id)).all()


def clock_row(engine, case_id: int, phase: str = "handle") -> sa.Row:
    c = t.case_clocks.c
    with engine.connect() as conn:
        return conn.execute(sa.select(t.case_clocks).where(
            c.case_id == case_id, c.phase == phase)).one()
