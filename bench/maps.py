"""Benchmark: one month's indicators by cell over 1,000,000 cases on a 50,000-cell grid
(issue 13 point 7), against a plain ``GROUP BY cell`` count over the same rows.

A synthetic history (fixed seed) is bulk-inserted through ``store.reports.bulk_insert_history``
(no intake): 1,000,000 cases over 2026, 50 streets × 20 communities × 50 cells, with the
branches of real life in fixed shares (closed, open, returned and re-dispatched, reworked,
extended, voided, rejected, self-handled). The database is kept between runs (SQLite file in
``--dir``, PostgreSQL database ``gridroute_bench_maps``) unless ``--rebuild``.

Timed, in one run per backend, each best of ``--repeat``:

* ``indicators``: ``services.kpi.kpi_report(by="cell")`` for June 2026: the whole answer of
  ``gridroute kpi --by cell``, with every case's stored facts usable (a report read again);
  printed too: with 1 case in 100 changed since (those are replayed and stored again), the
  first report of the month (no stored facts: every case replayed), the replay alone (the
  path before stored facts), and whether all of them give the same table;
* ``GROUP BY``: ``SELECT cell_code, count(*)`` over the cohort of the same month;
* ratio (target ≤ 3×) and absolute (target ≤ 1 s);
* PNG: the dashboard's choropleth export of the month by cell (``time_png`` below is the
  hook; bench/maps_png.py times it): target ≤ 5 s.

    python bench/maps.py                        # both backends, 1,000,000 cases
    python bench/maps.py --cases 100000 --backend sqlite
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from gridroute.config import load_config  # noqa: E402
from gridroute.services.context import AppContext  # noqa: E402
from gridroute.reports.indicators import compute_frame  # noqa: E402
from gridroute.services.kpi import (centre_limits, facts_frame, history_for,  # noqa: E402
                                    kpi_report, period_facts, report_settings)
from gridroute.store.db import make_engine  # noqa: E402
from gridroute.store.reports import (bulk_insert_history, reports_of,  # noqa: E402
                                     tidy_tables)
from gridroute.store.schema import upgrade_database  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_PG_URL = os.environ.get("TEST_POSTGRES_URL",
                                "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DATABASE = "gridroute_bench_maps"
YEAR_START = np.datetime64("2026-01-01T00:00:00", "us")   # UTC
MONTH = (datetime(2026, 6, 1, tzinfo=TZ), datetime(2026, 7, 1, tzinfo=TZ))
AS_OF = datetime(2026, 12, 1, tzinfo=TZ)
TARGET_RATIO, TARGET_SECONDS = 3.0, 1.0
MIN = 60_000_000  # microseconds

# (share, name, steps): each step is (action, to_state, minutes after the previous step
# (low, high)); units and actors are filled in per case.
SCENARIOS = [
    (0.70, "closed", [("report", "reported", (0, 0)), ("file", "filed", (2, 25)),
                      ("dispatch", "dispatched", (2, 20)), ("accept", "accepted", (5, 60)),
                      ("resolve", "resolved", (30, 900)), ("send_check", "checking", (5, 30)),
                      ("check_pass", "checked", (10, 90)), ("close", "closed", (5, 60))]),
    (0.10, "open", [("report", "reported", (0, 0)), ("file", "filed", (2, 25)),
                    ("dispatch", "dispatched", (2, 20)), ("accept", "accepted", (5, 60))]),
    (0.05, "returned", [("report", "reported", (0, 0)), ("file", "filed", (2, 25)),
                        ("dispatch", "dispatched", (2, 20)), ("return", "returned", (5, 90)),
                        ("dispatch", "dispatched", (5, 40)), ("accept", "accepted", (5, 60)),
                        ("resolve", "resolved", (30, 900)), ("send_check", "checking", (5, 30)),
                        ("check_pass", "checked", (10, 90)), ("close", "closed", (5, 60))]),
    (0.05, "rework", [("report", "reported", (0, 0)), ("file", "filed", (2, 25)),
                      ("dispatch", "dispatched", (2, 20)), ("accept", "accepted", (5, 60)),
                      ("resolve", "resolved", (30, 900)), ("send_check", "checking", (5, 30)),
                      ("check_fail", "rework", (10, 90)), ("resolve", "resolved", (30, 600)),
                      ("send_check", "checking", (5, 30)), ("check_pass", "checked", (10, 90)),
                      ("close", "closed", (5, 60))]),
    (0.03, "extended", [("report", "reported", (0, 0)), ("file", "filed", (2, 25)),
                        ("dispatch", "dispatched", (2, 20)), ("accept", "accepted", (5, 60)),
                        ("request_extension", "accepted", (30, 200)),
                        ("approve_extension", "accepted", (5, 60)),
                        ("resolve", "resolved", (60, 1500)), ("send_check", "checking", (5, 30)),
                        ("check_pass", "checked", (10, 90)), ("close", "closed", (5, 60))]),
    (0.03, "voided", [("report", "reported", (0, 0)), ("file", "filed", (2, 25)),
                      ("void", "voided", (10, 300))]),
    (0.02, "rejected", [("report", "reported", (0, 0)), ("send_verify", "verifying", (2, 10)),
                        ("verify_false", "rejected", (10, 60))]),
    (0.02, "self_handled", [("report", "reported", (0, 0)), ("self_handle", "closed", (1, 10))]),
]
LIMITS = ['{"limit": "4 working_hours"}', '{"limit": "2 natural_hours"}',
          '{"limit": "1 working_days"}', '{"limit": "5 working_days"}']


def cell_codes(n_cells: int) -> np.ndarray:
    """50 streets × 20 communities × 50 cells in district 310101 (for 50,000 cells)."""
    i = np.arange(n_cells)
    street, community, cell = i // 1000 + 1, (i // 50) % 20 + 1, i % 50 + 1
    return np.array([f"310101{s:03d}{c:03d}{k:03d}" for s, c, k in zip(street, community, cell)],
                    dtype=object)


def _text_times(us: np.ndarray) -> np.ndarray:
    """Microseconds since 2026-01-01 UTC → 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    stamps = np.datetime_as_string(YEAR_START + us.astype("timedelta64[us]"), unit="us")
    return np.char.replace(stamps, "T", " ").astype(object)


def synthesize(n_cases: int, n_cells: int, seed: int = 13) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    codes = cell_codes(n_cells)
    cell = codes[rng.integers(0, n_cells, n_cases)]
    # reports over the year, working hours weighted (09:00-17:00 city time mostly)
    day = rng.integers(0, 330, n_cases)
    minute = rng.normal(13 * 60, 150, n_cases).clip(7 * 60, 21 * 60).astype("int64")
    reported_us = (day * 1440 + minute - 8 * 60) * MIN + rng.integers(0, MIN, n_cases)
    # ids follow the report time and events are stored in the order they happened, as a
    # live system writes them (the history index then holds a month's cases together)
    reported_us = np.sort(reported_us)
    kind = rng.choice(len(SCENARIOS), size=n_cases, p=[s[0] for s in SCENARIOS])
    case_id = np.arange(1, n_cases + 1)
    street = np.array([c[:9] for c in cell], dtype=object)
    channel = np.where(kind == 6, "public", "inspector").astype(object)
    cases = pd.DataFrame({
        "id": case_id, "version": 0, "channel": channel,
        "reporter": np.array([f"insp-{i % 400:03d}" for i in range(n_cases)], dtype=object),
        "description": "", "photos": "[]", "reported_at": _text_times(reported_us),
        "declared_crs": "EPSG:4326", "lon": 121.48, "lat": 31.23, "x": 0.0, "y": 0.0,
        "cell_code": cell, "community_code": np.array([c[:12] for c in cell], dtype=object),
        "street_code": street, "district_code": "310101", "locate_status": "inside",
        "category_code": np.array(["E0101", "E0102", "C0101", "C0205"], dtype=object)[
            rng.integers(0, 4, n_cases)],
        "urgency": "normal", "routing": np.array(LIMITS, dtype=object)[
            rng.integers(0, len(LIMITS), n_cases)],
        "unit_code": (street + "-enforcement"), "state": "", "returns": 0, "reworks": 0,
        "extensions": 0, "extension_pending": False, "overdue_excluded": False,
        "supervising_level": 0, "self_handled": kind == 7,
    })
    parts = []
    for k, (_, name, steps) in enumerate(SCENARIOS):
        ids = np.flatnonzero(kind == k)
        at = reported_us[ids].copy()
        units = cases["unit_code"].to_numpy()[ids]
        with_unit = False
        for seq, (action, to_state, (low, high)) in enumerate(steps, start=1):
            if high:
                at = at + rng.integers(low * MIN, high * MIN + 1, len(ids))
            with_unit = with_unit or action == "dispatch"  # a return keeps the same squad
            unit = units if with_unit else None
            parts.append(pd.DataFrame({
                "case_id": ids + 1, "seq": seq, "action": action,
                "actor": _actor(action, ids), "role": _role(action),
                "from_state": None, "to_state": to_state, "reason": None, "at": at,
                "payload": ('{"inspector": "insp-%03d"}' % 7) if action.startswith("send_")
                else "{}", "unit_code": unit}))
        cases.loc[ids, "version"] = len(steps)
        cases.loc[ids, "state"] = steps[-1][1]
    events = pd.concat(parts, ignore_index=True)
    events = events.sort_values(["at", "case_id", "seq"], kind="stable", ignore_index=True)
    events["at"] = _text_times(events["at"].to_numpy())
    events.insert(0, "id", np.arange(1, len(events) + 1))
    return cases, events


def _actor(action: str, ids: np.ndarray):
    if action in ("dispatch",):
        return np.array([f"disp-{i % 30:02d}" for i in ids], dtype=object)
    if action in ("file", "close", "void"):
        return np.array([f"lead-{i % 20:02d}" for i in ids], dtype=object)
    return "bench"


def _role(action: str) -> str:
    return {"report": "inspector", "file": "shift_lead", "close": "shift_lead",
            "void": "shift_lead", "dispatch": "dispatcher", "approve_extension": "dispatcher",
            "send_check": "acceptor", "send_verify": "acceptor", "check_pass": "inspector",
            "check_fail": "inspector", "verify_false": "inspector",
            "self_handle": "inspector"}.get(action, "unit")


def prepare(url: str, n_cases: int, n_cells: int, rebuild: bool) -> tuple[float | None, int]:
    upgrade_database(url)  # a database kept from an earlier run gets the newer migrations
    engine = make_engine(url)
    try:
        if not rebuild:
            try:
                with engine.connect() as conn:
                    have = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar()
                if have == n_cases:
                    with engine.connect() as conn:
                        events = conn.execute(sa.text("SELECT count(*) FROM case_events")
                                              ).scalar()
                    return None, events
            except sa.exc.DBAPIError:
                pass
    finally:
        engine.dispose()
    upgrade_database(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM case_report_facts"))
            conn.execute(sa.text("DELETE FROM case_events"))
            conn.execute(sa.text("DELETE FROM cases"))
        started = time.perf_counter()
        cases, events = synthesize(n_cases, n_cells)
        bulk_insert_history(engine, cases, events)
        return time.perf_counter() - started, len(events)
    finally:
        engine.dispose()


def time_png(ctx: AppContext, start: datetime, end: datetime, codes=None,
             repeat: int = 3) -> dict | None:
    """Hook for the dashboard: seconds to export the month's closure-rate choropleth of the
    ``codes`` cells as PNG (target ≤ 5 s); bench/maps_png.py times it."""
    from bench.maps_png import time_png as dashboard_png

    return dashboard_png(ctx, start, end, codes=codes, repeat=repeat, as_of=AS_OF)


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def run(backend: str, url: str, args) -> bool:
    build_s, n_events = prepare(url, args.cases, args.cells, args.rebuild)
    config = load_config(env={}).replace(database={"url": url})
    engine = make_engine(url)
    ctx = AppContext(config=config, engine=engine)
    try:
        start, end = MONTH

        def indicators():
            return kpi_report(ctx, None, start=start, end=end, as_of=AS_OF, by="cell")

        def group_by():
            with ctx.uow(read_only=True) as uow:
                return reports_of(uow).cohort_counts(start, end)

        def forget_facts(where: str = "") -> None:
            with engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM case_report_facts" + where))

        def replay_only():
            history = history_for(ctx, start=start, end=end, as_of=AS_OF, by="cell")
            return compute_frame(history, start=start, end=end, as_of=AS_OF, by="cell",
                                 calendar=ctx.calendar, limits=centre_limits(config),
                                 settings=report_settings(config),
                                 default_handle_limit=config.sla.handle_default_limit)

        group_by()  # warm-up: statement caches, pages
        forget_facts()
        started = time.perf_counter()
        first = indicators()  # replays every case of the month and stores its facts
        first_s = time.perf_counter() - started
        # the facts of earlier runs were deleted: what autovacuum does to such a table
        tidy_tables(engine, "case_report_facts")
        ind_s, report = best(indicators, args.repeat)
        cnt_s, counts = best(group_by, args.repeat)
        # a dashboard refreshed during the day: 1 case in 100 changed since the last report
        changed = []
        for _ in range(args.repeat):
            forget_facts(" WHERE case_id % 100 = 0")
            started = time.perf_counter()
            indicators()
            changed.append(time.perf_counter() - started)
        changed_s = min(changed)
        def dashboard_data():
            # what the manager's page computes: one load, then the map by cell, unit and
            # street rankings, the totals and a weekly trend
            facts = period_facts(ctx, start=start, end=end, as_of=AS_OF)
            frames = [facts_frame(ctx, facts, by=by, start=start, end=end)
                      for by in ("cell", "unit", "street")]
            frames.append(facts_frame(ctx, facts, by="district", start=start, end=end,
                                      one_region=True))
            day = start
            while day < end:
                week_end = min(day + timedelta(days=7), end)
                frames.append(facts_frame(ctx, facts, by="district", start=day, end=week_end,
                                          one_region=True))
                day = week_end
            return frames

        dash_s, _ = best(dashboard_data, args.repeat)
        replay_s, replayed = best(replay_only, 1)
        same = (replayed.equals(report.frame) and first.frame.equals(report.frame))
        png = time_png(ctx, start, end, cell_codes(args.cells), args.repeat)
    finally:
        engine.dispose()
    rows = report.rows
    filed = sum(r["filed"] for r in rows)
    built = f"built in {build_s:.0f} s" if build_s is not None else "kept from an earlier run"
    print(f"{backend:<10} {args.cases:,} cases, {n_events:,} events, {args.cells:,} cells "
          f"({built})")
    print(f"{backend:<10} June 2026: {filed:,} cases filed in {len(rows):,} cells "
          f"(GROUP BY: {sum(counts.values()):,} in {len(counts):,} cells)")
    ratio = ind_s / cnt_s
    ok = ratio <= TARGET_RATIO and ind_s <= TARGET_SECONDS and same
    print(f"{backend:<10} indicators by cell {ind_s:.3f} s; GROUP BY cell count {cnt_s:.3f} s; "
          f"ratio {ratio:.1f}x (target <= {TARGET_RATIO:g}x, <= {TARGET_SECONDS:g} s) "
          f"{'OK' if ok else 'OVER TARGET'}")
    print(f"{backend:<10} with 1% of the cases changed since the last report {changed_s:.3f} s "
          f"({changed_s / cnt_s:.1f}x); first report of the month (every case replayed, facts "
          f"stored) {first_s:.3f} s ({first_s / cnt_s:.1f}x); history replay alone "
          f"{replay_s:.3f} s ({replay_s / cnt_s:.1f}x)")
    print(f"{backend:<10} dashboard data (map by cell, unit and street rankings, totals, "
          f"weekly trend) {dash_s:.3f} s ({dash_s / cnt_s:.1f}x)")
    print(f"{backend:<10} stored facts, first report and replay give the same table: "
          f"{'yes' if same else 'NO'}")
    if png is None:
        print(f"{backend:<10} PNG: not yet")
    else:
        png_ok = png["png"] <= 5.0
        ok = ok and png_ok
        print(f"{backend:<10} PNG of {png['cells']:,.0f} cells {png['png']:.3f} s: indicators "
              f"{png['indicators']:.3f} s + join and classes {png['join']:.3f} s + drawing "
              f"{png['draw']:.3f} s; {png['png'] / cnt_s:.1f}x the GROUP BY cell count "
              f"(target <= 5 s) {'OK' if png_ok else 'OVER TARGET'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--cells", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--dir", default="/tmp/gridroute-bench-maps",
                        help="where the SQLite database is kept between runs")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the databases")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    results = []
    for backend in [b.strip() for b in args.backend.split(",") if b.strip()]:
        if backend == "sqlite":
            folder = Path(args.dir)
            folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{folder / f'maps-{args.cases}.db'}"
        elif backend == "postgresql":
            admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            name = f"{PG_DATABASE}_{args.cases}"
            try:
                with admin.connect() as conn:
                    exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                          {"n": name}).scalar()
                    if not exists:
                        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:  # noqa: BLE001 - unreachable server
                print(f"postgresql skipped: not reachable at {args.pg_url} "
                      f"({exc.__class__.__name__})")
                continue
            finally:
                admin.dispose()
            url = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(
                hide_password=False)
        else:
            parser.error(f"unknown backend {backend!r}")
        results.append(run(backend, url, args))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
