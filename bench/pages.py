"""Benchmark: server time of the dispatch centre's queue page (50 cases) on the sample data.

Builds a temporary SQLite database (or uses --db-url), loads the sample grid and reference data
(what `gridroute init` loads), seeds the demo city (`gridroute demo seed`: every report through
intake, every step through the workflow), logs the demo dispatcher in and times, in the same
run and interleaved:

- `/queue`: the queue page, 50 cases sorted by time left, with lights, counts, filters;
- `/api/v1/cases?limit=50`: the JSON list of the same 50 cases (the baseline);
- `/grid`: the bare grid page (a second baseline).

Server time is measured inside the app (before_request → after_request), so the test client's
own work is not counted. Prints the median and p90 of each, and queue / baseline ratios.
Target: queue median < 200 ms.

    .venv/bin/python bench/pages.py                 # 60 demo days, 30 reports a day
    .venv/bin/python bench/pages.py --days 20 --runs 40
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridroute.config import load_config  # noqa: E402
from gridroute.services.context import build_context  # noqa: E402
from gridroute.store.schema import upgrade_database  # noqa: E402

TARGET_MS = 200.0


def seed(url: str, days: int) -> None:
    from gridroute.services.demo import seed_demo
    from gridroute.services.grids import load_grid_file
    from gridroute.services.reference import load_reference_files

    ctx = build_context(load_config(env={}).replace(database={"url": url}))
    load_grid_file(ctx)
    load_reference_files(ctx)
    result = seed_demo(ctx, days=days)
    print(f"seeded {getattr(result, 'cases', '?')} demo cases over {days} days")
    ctx.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", help="an initialised, seeded database (default: a new "
                                         "temporary SQLite file)")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory()
    url = args.db_url
    if url is None:
        url = f"sqlite:///{Path(folder.name) / 'pages.db'}"
        upgrade_database(url)
        t0 = time.perf_counter()
        seed(url, args.days)
        print(f"seed: {time.perf_counter() - t0:.1f} s")

    from flask import g, request

    from gridroute.app import create_app
    from gridroute.services.demo import demo_password

    ctx = build_context(load_config(env={}).replace(database={"url": url}))
    app = create_app(ctx.config, context=ctx)
    timings: dict[str, list[float]] = {}

    @app.before_request
    def _start():
        g.bench_start = time.perf_counter()

    @app.after_request
    def _stop(response):
        timings.setdefault(request.path, []).append(
            (time.perf_counter() - g.bench_start) * 1000)
        return response

    client = app.test_client()
    login = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    response = client.post("/login", data={"name": "demo-dispatcher", "csrf_token": token,
                                           "password": demo_password(ctx, "dispatcher")})
    assert response.status_code == 302, response.text
    paths = ["/queue", "/api/v1/cases?limit=50", "/grid"]
    for path in paths:  # warm caches (grid, reference data, templates)
        assert client.get(path).status_code == 200, path
    shown = len(re.findall(r"<tr data-ref=", client.get("/queue").text))
    listed = len(client.get("/api/v1/cases?limit=50").json["cases"])
    timings.clear()
    for _ in range(args.runs):
        for path in paths:
            client.get(path)

    def stats(path: str) -> tuple[float, float]:
        values = sorted(timings[path.split("?")[0]])
        return statistics.median(values), values[int(0.9 * (len(values) - 1))]

    queue, api, grid = (stats(p) for p in paths)
    backend = url.split(":")[0]
    print(f"backend {backend}; {args.runs} runs each, interleaved; queue rows {shown}, "
          f"API list {listed}")
    print(f"/queue (50 cases)           median {queue[0]:7.1f} ms  p90 {queue[1]:7.1f} ms")
    print(f"/api/v1/cases?limit=50      median {api[0]:7.1f} ms  p90 {api[1]:7.1f} ms")
    print(f"/grid (bare page)           median {grid[0]:7.1f} ms  p90 {grid[1]:7.1f} ms")
    print(f"ratio queue / JSON list     {queue[0] / api[0]:.2f}")
    print(f"ratio queue / grid page     {queue[0] / grid[0]:.2f}")
    verdict = "OK" if queue[0] < TARGET_MS else "OVER"
    print(f"target: queue median < {TARGET_MS:.0f} ms: {verdict}")
    ctx.close()
    folder.cleanup()
    return 0 if queue[0] < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
