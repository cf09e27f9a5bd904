"""Intake throughput: N synthetic reports through `submit_report` versus bare SQLAlchemy Core
inserts of the same case rows, each on its own SQLite file initialised like `gridroute init`.

    .venv/bin/python bench/intake.py --n 10000 [--batch 200] [--rounds 10] [--profile]

Runs, interleaved in rounds so that a noisy machine slows them alike:
  intake per call   submit_report, one transaction per report (API, pages, CLI)
  bare insert       the case rows intake wrote, one Core insert and transaction per row
  intake batched    submit_report through a shared unit of work, `batch` per transaction
                    (as `gridroute import cases` does)
  bare executemany  the case rows, one executemany and transaction per `batch` rows
  bare same writes  every row intake wrote (case, history, clock, outbox), 1 tx per report
Prints cases/s for each and the ratios; the target is intake per call >= 0.30 of bare insert.
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


def written_rows(url: str) -> list[tuple[dict, list[dict], list[dict], list[dict]]]:
    """What intake wrote per case, in case order: (case row, its events, clocks, outbox rows)."""
    engine = make_engine(url)
    grouped: dict[int, tuple[dict, list, list, list]] = {}
    with engine.connect() as conn:
        for r in conn.execute(sa.select(t.cases).order_by(t.cases.c.id)):
            row = dict(r._mapping)
            grouped[row.pop("id")] = (row, [], [], [])
        for slot, table in ((1, t.case_events), (2, t.case_clocks), (3, t.outbox)):
            for r in conn.execute(sa.select(table)):
                row = dict(r._mapping)
                row.pop("id", None)
                grouped[row.pop("case_id")][slot].append(row)
    engine.dispose()
    return list(grouped.values())


class Bare:
    """Bare SQLAlchemy Core inserts of the rows intake wrote, into their own database."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.insert_case = sa.insert(t.cases)

    def per_row(self, written) -> float:
        """The case row only, one transaction per row on a connection held throughout."""
        with self.engine.connect() as conn:
            begin = time.perf_counter()
            for case, *_ in written:
                with conn.begin():
                    conn.execute(self.insert_case, case)
            return time.perf_counter() - begin

    def per_row_pooled(self, written) -> float:
        """The case row only, `with engine.begin()` per row: a pooled connection per
        transaction, as intake's unit of work (and any request handler) takes one."""
        engine, insert = self.engine, self.insert_case
        begin = time.perf_counter()
        for case, *_ in written:
            with engine.begin() as conn:
                conn.execute(insert, case)
        return time.perf_counter() - begin

    def batched(self, written, batch: int) -> float:
        """The case rows with one executemany per `batch` rows, one transaction each."""
        with self.engine.connect() as conn:
            begin = time.perf_counter()
            for start in range(0, len(written), batch):
                with conn.begin():
                    conn.execute(self.insert_case, [w[0] for w in written[start:start + batch]])
            return time.perf_counter() - begin

    def same_writes(self, written) -> float:
        """Every row intake wrote (case, history, clocks, outbox), one transaction per report,
        no logic and no duplicate query: the insert work intake cannot avoid on this schema."""
        insert_case = sa.insert(t.cases).returning(t.cases.c.id)
        with self.engine.connect() as conn:
            begin = time.perf_counter()
            for case, events, clocks, outbox in written:
                with conn.begin():
                    new_id = conn.execute(insert_case, case).scalar_one()
                    for table, rows in ((t.case_events, events), (t.case_clocks, clocks),
                                        (t.outbox, outbox)):
                        conn.execute(sa.insert(table), [{**r, "case_id": new_id} for r in rows])
            return time.perf_counter() - begin

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t.cases)).scalar_one()


def count_cases(ctx: AppContext) -> int:
    with ctx.uow(read_only=True) as uow:
        return uow.cases.count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of reports")
    parser.add_argument("--batch", type=int, default=200, help="reports per shared unit of work")
    parser.add_argument("--rounds", type=int, default=10,
                        help="interleaved rounds (each run gets n/rounds reports per round)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--profile", action="store_true",
                        help="profile the per-call intake runs and print the top functions")
    args = parser.parse_args(argv)
    n, batch = args.n, args.batch

    with tempfile.TemporaryDirectory(prefix="gridroute-bench-") as tmp:
        folder = Path(tmp)
        # Untimed pass: the reports, and the rows intake writes for them (the bare baselines
        # insert exactly these rows).
        probe = initialised_context(folder, "probe.db")
        reports = synthetic_reports(probe, n, args.seed)
        run_intake_batched(probe, reports, batch)
        written = written_rows(probe.config.database.url)
        probe.close()
        assert len(written) == n

        per_call = initialised_context(folder, "intake-call.db")
        batched = initialised_context(folder, "intake-batched.db")
        for c in (per_call, batched):
            active_grid(c), reference_data(c), c.rules.current()  # warm caches
        bare_row = Bare(fresh_database(folder, "bare-row.db"))
        bare_held = Bare(fresh_database(folder, "bare-row-held.db"))
        bare_batch = Bare(fresh_database(folder, "bare-batch.db"))
        bare_same = Bare(fresh_database(folder, "bare-same.db"))

        profiler = cProfile.Profile() if args.profile else None

        def intake_call(lo, hi):
            if profiler:
                profiler.enable()
            try:
                return run_intake_per_call(per_call, reports[lo:hi])
            finally:
                if profiler:
                    profiler.disable()

        runs = {
            "intake_call": intake_call,
            "bare_row": lambda lo, hi: bare_row.per_row_pooled(written[lo:hi]),
            "bare_row_held": lambda lo, hi: bare_held.per_row(written[lo:hi]),
            "intake_batch": lambda lo, hi: run_intake_batched(batched, reports[lo:hi], batch),
            "bare_batch": lambda lo, hi: bare_batch.batched(written[lo:hi], batch),
            "bare_same": lambda lo, hi: bare_same.same_writes(written[lo:hi]),
        }
        names = list(runs)
        totals = dict.fromkeys(names, 0.0)
        round_ratios = []
        bounds = [round(i * n / args.rounds) for i in range(args.rounds + 1)]
        for r in range(args.rounds):
            lo, hi = bounds[r], bounds[r + 1]
            # rotate the order each round so drift on a noisy machine hits every run alike
            elapsed = {}
            for name in names[r % len(names):] + names[:r % len(names)]:
                elapsed[name] = runs[name](lo, hi)
                totals[name] += elapsed[name]
            round_ratios.append((elapsed["bare_row"] / elapsed["intake_call"],
                                 elapsed["bare_row_held"] / elapsed["intake_call"]))

        assert count_cases(per_call) == n and count_cases(batched) == n
        assert all(b.count() == n for b in (bare_row, bare_held, bare_batch, bare_same))
        for c in (per_call, batched):
            c.close()
        for b in (bare_row, bare_held, bare_batch, bare_same):
            b.engine.dispose()

    rate = {name: n / seconds for name, seconds in totals.items()}
    print(f"reports: {n} (seed {args.seed}), SQLite file databases, {args.rounds} interleaved "
          f"rounds, batch {batch}")
    lines = [("intake per call    (1 tx/report)", "intake_call"),
             ("bare insert        (1 tx/row, engine.begin() each)", "bare_row"),
             ("bare insert        (1 tx/row, one held connection)", "bare_row_held"),
             (f"intake batched     ({batch} reports/tx)", "intake_batch"),
             (f"bare executemany   ({batch} rows/tx)", "bare_batch")]
    for label, key in lines:
        print(f"{label:52s} {rate[key]:8.0f} cases/s")
    print(f"bare same writes   (case+history+clock+outbox, 1 tx/report): "
          f"{rate['bare_same']:.0f} cases/s")

    def spread(k):
        ordered = sorted(r[k] for r in round_ratios)
        return (f"rounds min {ordered[0]:.2f} median {ordered[len(ordered) // 2]:.2f} "
                f"max {ordered[-1]:.2f}")

    ratio = totals["bare_row"] / totals["intake_call"]
    held = totals["bare_row_held"] / totals["intake_call"]
    verdict = lambda r: "met" if r >= 0.30 else "NOT met"  # noqa: E731
    print(f"ratio intake/bare insert, 1 tx each (engine.begin()): {ratio:.2f}  ({spread(0)}); "
          f"target >= 0.30 {verdict(ratio)}")
    print(f"ratio intake/bare insert, held connection:           {held:.2f}  ({spread(1)}); "
          f"target >= 0.30 {verdict(held)}")
    print(f"ratio intake/bare insert, batched:                   "
          f"{totals['bare_batch'] / totals['intake_batch']:.2f}")
    print(f"ratio intake/bare same writes, 1 tx:                 "
          f"{totals['bare_same'] / totals['intake_call']:.2f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
