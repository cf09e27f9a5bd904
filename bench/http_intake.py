"""HTTP intake: Open311 POSTs against the production server (`gridroute serve` with its
defaults, SQLite file) versus a bare Flask endpoint served the same way (waitress, same thread
count, same SQLite engine settings) that inserts one row per request.

    .venv/bin/python bench/http_intake.py [--seconds 30] [--clients 8] [--rate 200]
                                          [--rate-seconds 10]

Each server runs in its own process; the load comes from a third process (keep-alive
connections, one per client thread). Phases, in one run:
  bare endpoint     closed loop, `clients` connections, `seconds` seconds
  gridroute         the same against POST /open311/v2/requests.json
  gridroute paced   `rate` requests/s for `rate-seconds` seconds (latency measured from the
                    moment each request was due, so a stalled server cannot hide its queue)
Prints requests/s, p50 and p99 for each, the throughput ratio and the verdict against the
targets: gridroute >= 50 % of the bare endpoint's requests/s, p99 <= 50 ms at `rate`/s.
The public POST rate limit is raised for the run (one load client would trip it at once);
the limiter still runs for every request.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

BBOX = (121.44, 31.18, 121.52, 31.26)  # around Huangpu; only points located inside are used
N_BODIES = 4000
GR_PATH = "/open311/v2/requests.json"
BARE_PATH = "/report"


def serve_threads() -> int:
    """The thread count `gridroute serve` uses by default (the bare server gets the same)."""
    from gridroute.cli.app_commands import serve

    for param in serve.params:
        if param.name == "threads" and isinstance(param.default, int):
            return param.default
    return 8


# ------------------------------------------------------------------ the bare endpoint

def bare_serve(port: int, db_path: str) -> None:
    import sqlalchemy as sa
    from flask import Flask, request
    from waitress import serve

    from gridroute.store.db import make_engine

    engine = make_engine(f"sqlite:///{db_path}")
    meta = sa.MetaData()
    reports = sa.Table("reports", meta, sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("service_code", sa.String(8)), sa.Column("lat", sa.Float),
                       sa.Column("lon", sa.Float), sa.Column("description", sa.Text))
    meta.create_all(engine)
    app = Flask("bare")

    @app.post(BARE_PATH)
    def report():
        form = request.form
        with engine.begin() as conn:
            new_id = conn.execute(reports.insert().values(
                service_code=form["service_code"], lat=float(form["lat"]),
                lon=float(form["long"]), description=form.get("description", ""))
                .returning(reports.c.id)).scalar_one()
        return {"id": str(new_id)}, 201

    serve(app, host="127.0.0.1", port=port, threads=serve_threads())


# ------------------------------------------------------------------ the load driver

def _percentile(sorted_ms: list[float], share: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(share * len(sorted_ms)))]


def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def _send(conn, path: str, body: bytes) -> int:
    conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    return response.status


def drive(port: int, path: str, bodies_file: str, seconds: float, clients: int,
          rate: float) -> dict:
    bodies = [urllib.parse.urlencode(b).encode()
              for b in json.loads(Path(bodies_file).read_text(encoding="utf-8"))]
    counter = iter(range(10 ** 9))

    def next_body() -> bytes:
        return bodies[next(counter) % len(bodies)]  # next() on a range iterator is atomic
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def closed_loop():
        conn = _connection(port)
        mine, bad = [], []
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            status = _send(conn, path, next_body())
            (mine if 200 <= status < 300 else bad).append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    due: queue.Queue = queue.Queue()

    def paced_worker():
        conn = _connection(port)
        while True:
            at = due.get()
            if at is None:
                return
            status = _send(conn, path, next_body())
            ms = (time.perf_counter() - at) * 1000
            with lock:
                (latencies if 200 <= status < 300 else failures).append(ms)

    started = time.perf_counter()
    if rate:
        workers = [threading.Thread(target=paced_worker) for _ in range(max(clients, 16))]
        for w in workers:
            w.start()
        n = int(rate * seconds)
        for i in range(n):
            at = started + i / rate
            pause = at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            due.put(at)
        for _ in workers:
            due.put(None)
        for w in workers:
            w.join()
    else:
        threads = [threading.Thread(target=closed_loop) for _ in range(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"ok": len(latencies), "failed": len(failures), "seconds": elapsed,
            "rps": len(latencies) / elapsed, "p50_ms": _percentile(latencies, 0.50),
            "p99_ms": _percentile(latencies, 0.99)}


def run_driver(port: int, path: str, bodies: Path, seconds: float, clients: int,
               rate: float = 0) -> dict:
    """The load comes from a process of its own, not from the servers' or this one."""
    out = subprocess.run([sys.executable, __file__, "--drive", str(port), path, str(bodies),
                          str(seconds), str(clients), str(rate)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# ------------------------------------------------------------------ the run

def synthetic_bodies(ctx, key: str, n: int, seed: int = 7) -> list[dict]:
    """Open311 POST forms at random points inside the grid, random 小类 (as city-wide
    traffic looks: few reports share a place, so duplicate search sees realistic windows)."""
    import random

    import numpy as np

    from gridroute.services.grids import active_grid
    from gridroute.services.reference import reference_data

    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    locator = active_grid(ctx).locator
    lon = rng.uniform(BBOX[0], BBOX[2], 4 * n)
    lat = rng.uniform(BBOX[1], BBOX[3], 4 * n)
    inside = locator.locate(lon, lat, "wgs84").status == "inside"
    points = list(zip(lon[inside].tolist(), lat[inside].tolist()))[:n]
    categories = sorted(reference_data(ctx).categories)
    return [{"api_key": key, "service_code": pick.choice(categories), "lat": f"{y:.6f}",
             "long": f"{x:.6f}", "description": f"bench report {i}"}
            for i, (x, y) in enumerate(points)]


def prepare(folder: Path) -> tuple[Path, Path]:
    from gridroute.config import load_config
    from gridroute.services.apikeys import add_key
    from gridroute.services.context import build_context
    from gridroute.services.grids import load_grid_file
    from gridroute.services.reference import load_reference_files
    from gridroute.store.schema import upgrade_database
    from helpers_server import write_config

    url = f"sqlite:///{folder / 'gridroute.db'}"
    upgrade_database(url)
    ctx = build_context(load_config(env={}).replace(database={"url": url}))
    load_grid_file(ctx)
    load_reference_files(ctx)
    key = add_key(ctx, "bench")[1]
    bodies = folder / "bodies.json"
    bodies.write_text(json.dumps(synthetic_bodies(ctx, key, N_BODIES)), encoding="utf-8")
    ctx.close()
    return write_config(folder, url), bodies


def _wait(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("bare server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("bare server not listening")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--rate-seconds", type=float, default=10)
    args = parser.parse_args()
    from helpers_server import Server, free_port

    with tempfile.TemporaryDirectory(prefix="gridroute-bench-") as tmp:
        folder = Path(tmp)
        config, bodies = prepare(folder)
        bare_port, gr_port = free_port(), free_port()
        bare = subprocess.Popen([sys.executable, __file__, "--bare-serve", str(bare_port),
                                 str(folder / "bare.db")], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = Server(config, gr_port, log=folder / "serve.log")
        try:
            _wait(bare_port, bare)
            server.wait_ready()
            threads = serve_threads()
            print(f"servers: waitress, {threads} threads each; SQLite files (WAL); load from a "
                  f"separate process, {args.clients} keep-alive connections")
            run_driver(bare_port, BARE_PATH, bodies, 2, args.clients)  # warm-up
            run_driver(gr_port, GR_PATH, bodies, 2, args.clients)
            results = {
                "bare endpoint": run_driver(bare_port, BARE_PATH, bodies, args.seconds,
                                            args.clients),
                "gridroute": run_driver(gr_port, GR_PATH, bodies, args.seconds, args.clients),
                f"gridroute paced {args.rate:g}/s": run_driver(
                    gr_port, GR_PATH, bodies, args.rate_seconds, args.clients, args.rate),
            }
        finally:
            server.stop()
            os.killpg(bare.pid, 15)
            bare.wait(timeout=15)
    print(f"{'phase':<24}{'ok':>8}{'failed':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in results.items():
        print(f"{name:<24}{r['ok']:>8}{r['failed']:>8}{r['rps']:>10.1f}{r['p50_ms']:>10.2f}"
              f"{r['p99_ms']:>10.2f}")
    ratio = results["gridroute"]["rps"] / results["bare endpoint"]["rps"]
    paced = results[f"gridroute paced {args.rate:g}/s"]
    print(f"ratio gridroute / bare endpoint throughput: {ratio:.2f} (target >= 0.50: "
          f"{'met' if ratio >= 0.5 else 'NOT met'})")
    print(f"p99 at {args.rate:g} requests/s: {paced['p99_ms']:.1f} ms (target <= 50 ms: "
          f"{'met' if paced['p99_ms'] <= 50 and paced['rps'] >= 0.95 * args.rate else 'NOT met'}"
          f"; achieved {paced['rps']:.1f}/s)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--bare-serve":
        bare_serve(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--drive":
        port, path, bodies_file, seconds, clients, rate = sys.argv[2:8]
        print(json.dumps(drive(int(port), path, bodies_file, float(seconds), int(clients),
                               float(rate))))
    else:
        sys.exit(main())
