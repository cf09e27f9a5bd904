"""Intake throughput: N synthetic reports through `submit_report` versus bare SQLAlchemy Core
inserts of the same case rows, each on a fresh SQLite file initialised like `gridroute init`.

    .venv/bin/python bench/intake.py --n 10000 [--batch 200] [--profile]

Prints cases/s for intake (one transaction per report, and batched through a shared unit of
work as the bulk import does), for the bare baseline (one transaction per row, and one
executemany), for the same writes without intake's logic (case, history, clocks, outbox and
the duplicate query, one transaction per report), and the ratios intake/bare (target >= 0.30).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridroute.config import load_config  # noqa: E402
from gridroute.services.context import AppContext, build_context  # noqa: E402
from gridroute.services.grids import active_grid, load_grid_file  # noqa: E402
from gridroute.services.intake import ReportInput, submit_report  # noqa: E402
from gridroute.services.reference import load_reference_files, reference_data  # noqa: E402
from gridroute.store import tables as t  # noqa: E402
from gridroute.store.db import make_engine  # noqa: E402
from gridroute.store.schema import upgrade_database  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 8, 0, tzinfo=SH)
BBOX = (121.44, 31.18, 121.52, 31.26)  # around Huangpu; only points located "inside" are kept
CHANNELS = ("inspector", "inspector", "public", "hotline")


def fresh_database(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    upgrade_database(url)
    return url


def initialised_context(folder: Path, name: str) -> AppContext:
    """A context on a new SQLite file holding what `gridroute init` loads."""
    url = fresh_database(folder, name)
    ctx = build_context(load_config(env={}).replace(database={"url": url}))
    load_grid_file(ctx)
    load_reference_files(ctx)
    ctx.rules.current()
    return ctx


def synthetic_reports(ctx: AppContext, n: int, seed: int) -> list[ReportInput]:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    locator = active_grid(ctx).locator
    lons: list[float] = []
    lats: list[float] = []
    while len(lons) < n:
        lon = rng.uniform(BBOX[0], BBOX[2], 4 * n)
        lat = rng.uniform(BBOX[1], BBOX[3], 4 * n)
        inside = locator.locate(lon, lat, "wgs84").status == "inside"
        lons.extend(lon[inside].tolist())
        lats.extend(lat[inside].tolist())
    categories = sorted(reference_data(ctx).categories)
    return [ReportInput(channel=pick.choice(CHANNELS), category_code=pick.choice(categories),
                        lon=round(lons[i], 6), lat=round(lats[i], 6), crs="wgs84",
                        description=f"synthetic report {i}", reporter=f"r{i % 97}",
                        reported_at=START + timedelta(seconds=37 * i))
            for i in range(n)]


def run_intake_per_call(ctx: AppContext, reports: list[ReportInput]) -> float:
    begin = time.perf_counter()
    for rep in reports:
        submit_report(ctx, rep)
    return time.perf_counter() - begin


def run_intake_batched(ctx: AppContext, reports: list[ReportInput], batch: int) -> float:
    begin = time.perf_counter()
    for start in range(0, len(reports), batch):
        with ctx.uow() as uow:
            for rep in reports[start:start + batch]:
                submit_report(ctx, rep, uow=uow)
            uow.commit()
    return time.perf_counter() - begin


def case_rows(url: str) -> list[dict]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(t.cases).order_by(t.cases.c.id))]
    engine.dispose()
    for row in rows:
        row.pop("id")
    return rows


def run_bare(url: str, rows: list[dict], *, per_row: bool) -> float:
    engine = make_engine(url)
    insert = sa.insert(t.cases)
    begin = time.perf_counter()
    if per_row:
        with engine.connect() as conn:
            for row in rows:
                with conn.begin():
                    conn.execute(insert, [row])
    else:
        with engine.begin() as conn:
            conn.execute(insert, rows)
    elapsed = time.perf_counter() - begin
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(t.cases)).scalar_one()
    engine.dispose()
    assert stored == len(rows), (stored, len(rows))
    return elapsed


def written_rows(url: str) -> list[tuple[dict, list[dict], list[dict], list[dict]]]:
    """What intake wrote per case: (case row, its events, clocks, outbox rows)."""
    engine = make_engine(url)
    grouped: dict[int, tuple[dict, list, list, list]] = {}
    with engine.connect() as conn:
        for r in conn.execute(sa.select(t.cases).order_by(t.cases.c.id)):
            grouped[r.id] = (dict(r._mapping), [], [], [])
        for slot, table in ((1, t.case_events), (2, t.case_clocks), (3, t.outbox)):
            for r in conn.execute(sa.select(table)):
                row = dict(r._mapping)
                row.pop("id", None)
                grouped[row["case_id"]][slot].append(row)
    engine.dispose()
    return list(grouped.values())


def run_bare_writes(url: str, written) -> float:
    """The same writes intake makes (duplicate query, case, events, clocks, outbox; one
    transaction per report) with no logic between them: the floor for these tables."""
    engine = make_engine(url)
    c = t.cases.c
    duplicate_query = sa.select(c.id, c.x, c.y).where(
        c.category_code == sa.bindparam("cat"), c.reported_at >= sa.bindparam("since"),
        c.x >= sa.bindparam("x0"), c.x <= sa.bindparam("x1"),
        c.y >= sa.bindparam("y0"), c.y <= sa.bindparam("y1"))
    insert_case = sa.insert(t.cases).returning(c.id)
    begin = time.perf_counter()
    with engine.connect() as conn:
        for case, events, clocks, outbox in written:
            with conn.begin():
                conn.execute(duplicate_query, {
                    "cat": case["category_code"], "since": case["reported_at"] - timedelta(hours=72),
                    "x0": case["x"] - 50, "x1": case["x"] + 50,
                    "y0": case["y"] - 50, "y1": case["y"] + 50}).all()
                row = dict(case)
                row.pop("id")
                new_id = conn.execute(insert_case, row).scalar_one()
                for table, rows in ((t.case_events, events), (t.case_clocks, clocks),
                                    (t.outbox, outbox)):
                    conn.execute(sa.insert(table), [{**r, "case_id": new_id} for r in rows])
    elapsed = time.perf_counter() - begin
    engine.dispose()
    return elapsed


def count_cases(ctx: AppContext) -> int:
    with ctx.uow(read_only=True) as uow:
        return uow.cases.count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of reports")
    parser.add_argument("--batch", type=int, default=200, help="reports per shared unit of work")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--profile", action="store_true",
                        help="profile the per-call intake run and print the top functions")
    args = parser.parse_args(argv)
    n = args.n

    with tempfile.TemporaryDirectory(prefix="gridroute-bench-") as tmp:
        folder = Path(tmp)
        ctx = initialised_context(folder, "intake.db")
        reports = synthetic_reports(ctx, n, args.seed)
        submit_report(ctx, reports[0])  # warm caches (locator, reference data, rules)
        ctx.close()
        ctx = initialised_context(folder, "intake-fresh.db")
        active_grid(ctx), reference_data(ctx), ctx.rules.current()

        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        t_call = run_intake_per_call(ctx, reports)
        if profiler:
            profiler.disable()
        assert count_cases(ctx) == n
        rows = case_rows(ctx.config.database.url)
        written = written_rows(ctx.config.database.url)
        ctx.close()

        ctx_b = initialised_context(folder, "intake-batched.db")
        t_batch = run_intake_batched(ctx_b, reports, args.batch)
        assert count_cases(ctx_b) == n
        ctx_b.close()

        t_bare_row = run_bare(fresh_database(folder, "bare-row.db"), rows, per_row=True)
        t_bare_many = run_bare(fresh_database(folder, "bare-many.db"), rows, per_row=False)
        t_writes = run_bare_writes(fresh_database(folder, "bare-writes.db"), written)

    rate = lambda seconds: n / seconds  # noqa: E731
    print(f"reports: {n} (seed {args.seed}), SQLite file databases, batch {args.batch}")
    print(f"intake per call   (1 tx/report):       {rate(t_call):10.0f} cases/s  ({t_call:.2f} s)")
    print(f"intake batched    ({args.batch} reports/tx):    {rate(t_batch):10.0f} cases/s  "
          f"({t_batch:.2f} s)")
    print(f"bare insert       (1 tx/row):          {rate(t_bare_row):10.0f} cases/s  "
          f"({t_bare_row:.2f} s)")
    print(f"bare executemany  (1 tx):              {rate(t_bare_many):10.0f} cases/s  "
          f"({t_bare_many:.2f} s)")
    print(f"bare writes       (same rows in 4 tables + duplicate query, 1 tx/report): "
          f"{rate(t_writes):.0f} cases/s  ({t_writes:.2f} s)")
    ratio_call = t_bare_row / t_call
    ratio_batch = t_bare_many / t_batch
    print(f"ratio intake/bare, per call vs 1 tx/row:     {ratio_call:.2f}  "
          f"({'meets' if ratio_call >= 0.30 else 'below'} target 0.30)")
    print(f"ratio intake/bare, batched vs executemany:   {ratio_batch:.2f}")
    print(f"ratio bare writes/bare insert (the ceiling for intake on this schema): "
          f"{t_bare_row / t_writes:.2f}")
    print(f"ratio intake/bare writes (intake's own overhead): {t_writes / t_call:.2f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
