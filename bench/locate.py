"""Benchmark: batch and single-point locating against geopandas.sjoin (网格定位性能).

A synthetic irregular grid of Voronoi cells clipped to a city-sized box in EPSG:32651
coordinates, random points with a fixed seed. Prints build time, throughput of the locator and
of ``geopandas.sjoin(points, cells, predicate="intersects")``, their ratio, the number of
points where the two disagree (points on a boundary excluded), single-point latency and the
index's memory.

    python bench/locate.py                     # 50,000 cells, 1,000,000 points
    python bench/locate.py --cells 5000 --points 100000
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import click
import numpy as np


def make_grid(n_cells: int, size_m: float, seed: int):
    import shapely

    rng = np.random.default_rng(seed)
    x0, y0 = 330_000.0, 3_440_000.0
    frame = shapely.box(x0, y0, x0 + size_m, y0 + size_m)
    seeds = shapely.multipoints(rng.uniform([x0, y0], [x0 + size_m, y0 + size_m], (n_cells, 2)))
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame)
    cells = cells[~shapely.is_empty(cells)]
    codes = np.array([f"{310101 + i // 1_000_000:06d}{(i // 10_000) % 1000:03d}"
                      f"{(i // 100) % 100:03d}{i % 100:03d}" for i in range(len(cells))],
                     dtype=object)
    rng.shuffle(codes)
    return codes, cells, (x0, y0)


def percentile_us(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1e6, q))


@click.command()
@click.option("--cells", "n_cells", default=50_000, show_default=True)
@click.option("--points", "n_points", default=1_000_000, show_default=True)
@click.option("--size-km", default=40.0, show_default=True)
@click.option("--single", "n_single", default=20_000, show_default=True)
@click.option("--seed", default=20260101, show_default=True)
def main(n_cells: int, n_points: int, size_km: float, n_single: int, seed: int) -> None:
    import geopandas as gpd
    import shapely

    from gridroute.grids.coords import to_wgs84
    from gridroute.grids.locator import Locator

    size = size_km * 1000.0
    t = time.perf_counter()
    codes, cells, (x0, y0) = make_grid(n_cells, size, seed)
    print(f"grid: {len(cells):,} Voronoi cells in {size_km:g} km × {size_km:g} km "
          f"(median {np.median(shapely.area(cells)):,.0f} m²), built in "
          f"{time.perf_counter() - t:.2f} s")
    rng = np.random.default_rng(seed + 1)
    margin = 200.0
    x = rng.uniform(x0 - margin, x0 + size + margin, n_points)
    y = rng.uniform(y0 - margin, y0 + size + margin, n_points)

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    t = time.perf_counter()
    loc = Locator.from_geometries(codes, cells, snap_m=50.0)
    build_s = time.perf_counter() - t
    index_traced = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"locator build: {build_s:.2f} s; memory_bytes {loc.memory_bytes() / 1e6:.1f} MB; "
          f"tracemalloc delta {index_traced / 1e6:.1f} MB")

    t = time.perf_counter()
    res = loc.locate_xy(x, y)
    loc_s = time.perf_counter() - t
    statuses = {s: int((res.status == s).sum()) for s in ("inside", "boundary", "snapped",
                                                          "outside")}
    print(f"locator batch: {n_points:,} points in {loc_s:.3f} s = "
          f"{n_points / loc_s:,.0f} points/s  {statuses}")

    cells_gdf = gpd.GeoDataFrame({"cell_code": codes}, geometry=cells, crs="EPSG:32651")
    points_gdf = gpd.GeoDataFrame({"pid": np.arange(n_points)},
                                  geometry=shapely.points(x, y), crs="EPSG:32651")
    t = time.perf_counter()
    joined = gpd.sjoin(points_gdf, cells_gdf, predicate="intersects", how="left")
    sj_s = time.perf_counter() - t
    print(f"geopandas.sjoin: {n_points:,} points in {sj_s:.3f} s = "
          f"{n_points / sj_s:,.0f} points/s")
    print(f"speed-up (sjoin time / locator time): {sj_s / loc_s:.1f}×  "
          f"(including build: {sj_s / (loc_s + build_s):.1f}×)")

    # agreement: points covered by exactly one cell in the sjoin result
    pid = joined["pid"].to_numpy()
    code = joined["cell_code"].to_numpy(dtype=object)
    hits = np.bincount(pid[~joined["cell_code"].isna().to_numpy()], minlength=n_points)
    sj_code = np.empty(n_points, dtype=object)
    sj_code[pid] = code
    one = hits == 1
    interior = one & (res.status == "inside")
    mismatches = int((sj_code[one] != res.cell_code[one]).sum())
    outside_sj = hits == 0
    outside_mismatch = int((np.isin(res.status[outside_sj], ["inside", "boundary"])).sum())
    print(f"agreement: {int(one.sum()):,} points in exactly one cell "
          f"({int(interior.sum()):,} inside), {int((hits > 1).sum())} on boundaries; "
          f"mismatches {mismatches}; located-but-sjoin-empty {outside_mismatch}")
    assert mismatches == 0 and outside_mismatch == 0

    lon, lat = to_wgs84(x[:n_single], y[:n_single], "EPSG:32651")
    xs, ys = x[:n_single].tolist(), y[:n_single].tolist()
    lons, lats = lon.tolist(), lat.tolist()
    for name, fn, a, b in (
        ("locate_xy (1 point arrays)", lambda p, q: loc.locate_xy(p, q), xs, ys),
        ("locate_xy_one", loc.locate_xy_one, xs, ys),
        ("locate_one (wgs84)", loc.locate_one, lons, lats),
    ):
        samples = []
        for p, q in zip(a, b):
            t = time.perf_counter()
            fn(p, q)
            samples.append(time.perf_counter() - t)
        print(f"single {name}: p50 {percentile_us(samples, 50):.1f} µs, "
              f"p99 {percentile_us(samples, 99):.1f} µs over {len(samples):,} calls")
    single = [loc.locate_xy_one(p, q).cell_code for p, q in zip(xs, ys)]
    assert single == res.cell_code[:n_single].tolist()


if __name__ == "__main__":
    main()
