"""The dashboard's PNG export timed for bench/maps.py (issue 13 point 7: PNG ≤ 5 s for 50,000
cells), through its ``time_png`` hook.

The bench's history has cell codes but no grid geometry, so the cells are drawn as a lattice
in the working CRS laid out like a city: 50 streets in a 5 × 10 block, 20 communities per street
(5 × 4), 50 cells per community (10 × 5), squares of 190 m (≈ 36,000 m², a 万米单元网格) with
12 vertices each (the sample grid's cells have 5–15). The lattice is built once before timing,
as a server builds its grid cache once per grid version.

Timed (best of ``repeat``), the export as a manager's request runs it: the month's
indicators by cell from the database (``services.kpi.kpi_report``), joined to the cells and
classified (``services.maps.build_view``, quantiles, 5 classes), drawn to a 1600 × 1200 PNG with
title, legend, scale bar and period (``services.maps.map_png``); each step is timed too.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import numpy as np


def lattice(codes, size_m: float = 190.0):
    """A GeoDataFrame (EPSG:32651) of square cells for bench codes 310101 SSS CCC KKK."""
    import geopandas as gpd
    import shapely

    codes = list(codes)
    s = np.array([int(c[6:9]) - 1 for c in codes])
    c = np.array([int(c[9:12]) - 1 for c in codes])
    k = np.array([int(c[12:15]) - 1 for c in codes])
    col = (s % 5) * 50 + (c % 5) * 10 + k % 10
    row = (s // 5) * 20 + (c // 5) * 5 + k // 10
    x0 = 350_000 + col * size_m
    y0 = 3_460_000 - row * size_m
    t = np.linspace(0, 1, 4)[:-1]  # three segments per edge: 12 vertices
    unit = np.concatenate([np.c_[t, 0 * t], np.c_[1 + 0 * t, t], np.c_[1 - t, 1 + 0 * t],
                           np.c_[0 * t, 1 - t]]) * size_m
    rings = unit[None, :, :] + np.stack([x0, y0], axis=1)[:, None, :]
    polygons = shapely.polygons(np.concatenate([rings, rings[:, :1, :]], axis=1))
    frame = gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=polygons,
                             crs="EPSG:32651")
    frame["area_km2"] = (frame.geometry.area / 1e6).round(4)
    return frame


def time_png(ctx, start: datetime, end: datetime, *, codes, repeat: int = 3,
             as_of: datetime | None = None, out_path: str | None = None) -> dict[str, float]:
    """Seconds (best of ``repeat``) for the whole PNG export and for each of its steps: the
    indicators, the join and classes, the drawing."""
    from gridroute.services import maps
    from gridroute.services.kpi import kpi_report

    frame = lattice(codes)
    query = maps.MapQuery(start=start.date(), end=end.date(), level="cell")
    last = (end - timedelta(days=1)).date()
    labels = dict(title=f"结案率 · 按网格 · {len(frame):,} 网格",
                  subtitle=f"立案 {start.date().isoformat()} – {last.isoformat()} · 分位数",
                  legend_title="结案率")

    def export():
        t0 = time.perf_counter()
        report = kpi_report(ctx, None, start=start, end=end, as_of=as_of, by="cell")
        t1 = time.perf_counter()
        view = maps.build_view(query, frame, report.frame, no_data_label="无应结案件")
        t2 = time.perf_counter()
        png = maps.map_png(view, **labels)
        t3 = time.perf_counter()
        return png, (t3 - t0, t1 - t0, t2 - t1, t3 - t2)

    png, _ = export()  # warm-up: imports (matplotlib, mapclassify), fonts
    if out_path:
        with open(out_path, "wb") as fh:
            fh.write(png)
    runs = [export()[1] for _ in range(repeat)]
    whole, indicators, join, draw = (min(r[i] for r in runs) for i in range(4))
    return {"png": whole, "indicators": indicators, "join": join, "draw": draw,
            "cells": float(len(frame)), "bytes": float(len(png))}
