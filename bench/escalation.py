"""Benchmark: one escalation tick with few and with many open cases.

The tick reads only the clock rows whose indexed `next_due` has come, so with the same number
of due clocks its time should hardly depend on the number of open cases. For each backend this
builds a database with SMALL and one with LARGE open cases (all but DUE of them with `next_due`
far in the future), times one tick on each in the same run and prints both and the ratio
(target: large / small <= 1.5).

SQLite runs on temporary files; PostgreSQL (when reachable at --pg-url / $TEST_POSTGRES_URL)
on temporary databases that are dropped afterwards.

    .venv/bin/python bench/escalation.py                      # 10,000 and 1,000,000 cases
    .venv/bin/python bench/escalation.py --small 2000 --large 50000 --backend sqlite
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridroute.config import load_config  # noqa: E402
from gridroute.reference.models import ReferenceData, Unit  # noqa: E402
from gridroute.services.clocks import escalation_policy  # noqa: E402
from gridroute.services.context import AppContext  # noqa: E402
from gridroute.services.escalation import tick  # noqa: E402
from gridroute.services.reference import store_reference  # noqa: E402
from gridroute.sla.clock import Limit, PhaseClock  # noqa: E402
from gridroute.sla.lights import next_due  # noqa: E402
from gridroute.store import tables as t  # noqa: E402
from gridroute.store.db import make_engine  # noqa: E402
from gridroute.store.schema import upgrade_database  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_PG_URL = os.environ.get("TEST_POSTGRES_URL",
                                "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STREETS = [f"310101{n:03d}" for n in range(1, 11)]
DUE_START = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)      # Wednesday
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=TZ)           # yellow, red, levels 1-3 passed
FAR_START = datetime(2099, 1, 5, 9, 0, tzinfo=TZ)
CHUNK = 50_000
TARGET_RATIO = 1.5


def units() -> dict[str, Unit]:
    out = [Unit("city-centre", "市中心", "City centre", "city_centre",
                contact_email="city@example.org"),
           Unit("310101-centre", "区中心", "District centre", "district_centre", "city-centre",
                streets=tuple(STREETS), contact_email="district@example.org")]
    for street in STREETS:
        out.append(Unit(f"{street}-gridcentre", "街道中心", "Grid centre", "grid_centre",
                        "310101-centre", streets=(street,), contact_email=f"{street}@example.org"))
        out.append(Unit(f"{street}-enforcement", "中队", "Squad", "enforcement_squad",
                        f"{street}-gridcentre", streets=(street,),
                        contact_email=f"{street}-e@example.org",
                        webhook_url=f"https://hooks.example.org/{street}"))
    return {u.code: u for u in out}


def build(ctx: AppContext, open_cases: int, due: int) -> float:
    """Insert `open_cases` accepted cases with a running handle clock; `due` of them due."""
    started = time.perf_counter()
    cal = ctx.calendar
    policy = escalation_policy(ctx)
    limit = Limit.parse("4 working_hours")
    due_clock = PhaseClock.start("handle", limit, DUE_START, cal)
    far_clock = PhaseClock.start("handle", limit, FAR_START, cal)
    clocks = {True: (due_clock, due_clock.to_dict(), next_due(due_clock, cal, policy)),
              False: (far_clock, far_clock.to_dict(), next_due(far_clock, cal, policy))}
    store_reference(ctx, ReferenceData(units=units()))
    due_every = max(open_cases // due, 1) if due else open_cases + 1
    made_due = 0
    with ctx.engine.begin() as conn:
        for first in range(1, open_cases + 1, CHUNK):
            case_rows, clock_rows = [], []
            for case_id in range(first, min(first + CHUNK, open_cases + 1)):
                is_due = made_due < due and case_id % due_every == 0
                made_due += is_due
                clock, clock_json, clock_due = clocks[is_due]
                street = STREETS[case_id % len(STREETS)]
                case_rows.append({
                    "id": case_id, "version": 1,
                    "channel": "inspector", "reporter": "bench", "description": "",
                    "photos": [], "reported_at": clock.started_at, "declared_crs": "EPSG:4326",
                    "lon": 121.48, "lat": 31.23, "x": 0.0, "y": 0.0,
                    "cell_code": street + "001001", "community_code": street + "001",
                    "street_code": street, "district_code": "310101",
                    "locate_status": "inside", "category_code": "C0101", "urgency": "normal",
                    "routing": {}, "unit_code": f"{street}-enforcement", "state": "accepted",
                    "returns": 0, "reworks": 0, "extensions": 0, "extension_pending": False,
                    "overdue_excluded": False, "supervising_level": 0})
                clock_rows.append({
                    "case_id": case_id, "phase": "handle", "run": 1,
                    "unit_code": f"{street}-enforcement", "state": "running",
                    "started_at": clock.started_at, "deadline": clock.deadline,
                    "next_due": clock_due, "clock": clock_json})
            conn.execute(t.cases.insert(), case_rows)
            conn.execute(t.case_clocks.insert(), clock_rows)
    with ctx.engine.connect() as conn:
        if ctx.engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return time.perf_counter() - started


def run_size(url: str, open_cases: int, due: int) -> dict:
    upgrade_database(url)
    engine = make_engine(url)
    config = load_config().replace(database={"url": url}, notify={"sinks": "log,webhook,smtp"})
    ctx = AppContext(config=config, engine=engine)
    try:
        build_s = build(ctx, open_cases, due)
        # Warm the calendar's per-year tables outside the timed tick.
        PhaseClock.start("handle", Limit.parse("4 working_hours"), DUE_START, ctx.calendar)
        started = time.perf_counter()
        result = tick(ctx, NOW)
        tick_s = time.perf_counter() - started
        again = time.perf_counter()
        second = tick(ctx, NOW)
        again_s = time.perf_counter() - again
    finally:
        engine.dispose()
    return {"open": open_cases, "build_s": build_s, "tick_s": tick_s, "result": result,
            "second_s": again_s, "second": second}


def report(backend: str, small: dict, large: dict) -> bool:
    for run in (small, large):
        r = run["result"]
        print(f"{backend:<10} open cases {run['open']:>9,}: tick {run['tick_s']:7.3f} s "
              f"({r.clocks} due clocks, {r.recorded} recorded, {r.events} events, "
              f"{r.notifications} outbox rows; build {run['build_s']:.1f} s; "
              f"idle re-tick {run['second_s'] * 1000:.1f} ms)")
    ratio = large["tick_s"] / small["tick_s"]
    ok = ratio <= TARGET_RATIO
    print(f"{backend:<10} ratio large/small: {ratio:.2f} (target <= {TARGET_RATIO}) "
          f"{'OK' if ok else 'OVER TARGET'}")
    return ok


def bench_sqlite(args) -> bool:
    with tempfile.TemporaryDirectory(prefix="gridroute-bench-") as folder:
        # An untimed warm-up run first: statement compilation caches are per dialect.
        run_size(f"sqlite:///{Path(folder) / 'warm-up.db'}", 20, 10)
        runs = [run_size(f"sqlite:///{Path(folder) / f'bench-{n}.db'}", n, args.due)
                for n in (args.small, args.large)]
    return report("sqlite", *runs)


def bench_postgres(args) -> bool | None:
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not reachable"
        print(f"postgresql skipped: not reachable at {args.pg_url} ({exc.__class__.__name__})")
        return None
    runs = []
    try:
        for n in (None, args.small, args.large):
            name = f"gridroute_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(
                hide_password=False)
            try:
                if n is None:  # untimed warm-up run
                    run_size(url, 20, 10)
                else:
                    runs.append(run_size(url, n, args.due))
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE datname = :n AND pid <> pg_backend_pid()"),
                                 {"n": name})
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()
    return report("postgresql", *runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000, help="open cases, small run")
    parser.add_argument("--large", type=int, default=1_000_000, help="open cases, large run")
    parser.add_argument("--due", type=int, default=1_000, help="due clocks in each run")
    parser.add_argument("--backend", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL admin URL")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when a ratio is over the target")
    args = parser.parse_args(argv)
    if args.due > args.small:
        parser.error("--due must not exceed --small")
    backends = {b.strip() for b in args.backend.split(",") if b.strip()}
    started = time.perf_counter()
    outcomes = []
    if "sqlite" in backends:
        outcomes.append(bench_sqlite(args))
    if "postgresql" in backends:
        outcomes.append(bench_postgres(args))
    print(f"total {time.perf_counter() - started:.0f} s")
    return 1 if args.strict and any(o is False for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
