"""Locator: exact point → cell semantics and agreement with shapely (网格定位)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridroute.grids.locator import Locator, PointLocation

X0, Y0 = 350_000.0, 3_450_000.0
C1, C2, C3, C4 = ("310101001001001", "310101001001002", "310101001002003", "310101001002004")


def sq(x, y, size=100.0):
    return shapely.box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


@pytest.fixture(scope="module", params=[None, 7.0, 50.0], ids=["auto", "fine", "coarse"])
def block(request):
    """2×2 block: C1 NW, C2 NE, C3 SW, C4 SE; given in shuffled order."""
    return Locator.from_geometries(
        [C4, C2, C1, C3], [sq(100, 0), sq(100, 100), sq(0, 100), sq(0, 0)],
        snap_m=50.0, bucket_m=request.param)


def one(loc, x, y):
    """Locate one point both ways and check the two paths agree."""
    batch = loc.locate_xy([X0 + x], [Y0 + y]).row(0)
    single = loc.locate_xy_one(X0 + x, Y0 + y)
    assert batch.cell_code == single.cell_code and batch.status == single.status
    assert (math.isnan(batch.distance_m) and math.isnan(single.distance_m)) or \
        batch.distance_m == pytest.approx(single.distance_m)
    return batch


@pytest.mark.parametrize("x,y,code", [(50, 150, C1), (150, 150, C2), (50, 50, C3),
                                      (150, 50, C4), (0.001, 0.001, C3), (199.999, 199.9, C2)])
def test_inside(block, x, y, code):
    r = one(block, x, y)
    assert (r.cell_code, r.status, r.distance_m) == (code, "inside", 0.0)


def test_codes_of_layers(block):
    r = one(block, 150, 50)
    assert r == PointLocation(C4, "310101001002", "310101001", "310101", "inside", 0.0)
    assert r.to_dict() == {"cell_code": C4, "community_code": "310101001002",
                           "street_code": "310101001", "district_code": "310101",
                           "status": "inside", "distance_m": 0.0}


@pytest.mark.parametrize("x,y,code", [
    (100, 150, C1),   # edge C1|C2
    (100, 50, C3),    # edge C3|C4
    (50, 100, C1),    # edge C1|C3
    (150, 100, C2),   # edge C2|C4
    (100, 100, C1),   # vertex shared by 4 cells
    (0, 50, C3),      # outer edge of one cell
    (200, 200, C2),   # outer corner
])
def test_boundary_smallest_code(block, x, y, code):
    r = one(block, x, y)
    assert (r.cell_code, r.status, r.distance_m) == (code, "boundary", 0.0)


def test_vertex_shared_by_three_cells():
    # top cell spans the width; two squares below; vertex (100, 100) shared by all three
    top = shapely.box(X0, Y0 + 100, X0 + 200, Y0 + 200)
    loc = Locator.from_geometries(["310101001001009", "310101001001003", "310101001001005"],
                                  [top, sq(0, 0), sq(100, 0)])
    r = one(loc, 100, 100)
    assert (r.cell_code, r.status) == ("310101001001003", "boundary")
    r = one(loc, 100, 50)
    assert (r.cell_code, r.status) == ("310101001001003", "boundary")
    r = one(loc, 150, 100)
    assert (r.cell_code, r.status) == ("310101001001005", "boundary")


@pytest.mark.parametrize("x,y,dist", [(-30, 50, 30.0), (230, 150, 30.0), (50, 250, 50.0),
                                      (-30, -40, 50.0)])
def test_snapped(block, x, y, dist):
    r = one(block, x, y)
    assert r.status == "snapped" and r.distance_m == pytest.approx(dist)


def test_snap_tie_goes_to_smallest_code(block):
    r = one(block, 100, 230)  # 30 m north of the C1|C2 corner
    assert (r.cell_code, r.status, r.distance_m) == (C1, "snapped", 30.0)


@pytest.mark.parametrize("x,y", [(-60, 50), (260, 150), (100, 300), (-5000, -5000)])
def test_outside(block, x, y):
    r = one(block, x, y)
    assert r.cell_code is None and r.street_code is None and r.status == "outside"
    assert math.isnan(r.distance_m)
    assert r.to_dict()["distance_m"] is None


def test_nan_coordinates_are_outside(block):
    res = block.locate_xy([np.nan, X0 + 50], [Y0 + 50, Y0 + 50])
    assert res.status.tolist() == ["outside", "inside"]


def test_hole_is_outside_the_cell():
    outer = shapely.Polygon(
        [(X0, Y0), (X0 + 300, Y0), (X0 + 300, Y0 + 300), (X0, Y0 + 300)],
        [[(X0 + 100, Y0 + 100), (X0 + 200, Y0 + 100), (X0 + 200, Y0 + 200),
          (X0 + 100, Y0 + 200)]])
    for snap, status in ((50.0, "snapped"), (30.0, "outside")):
        loc = Locator.from_geometries([C1], [outer], snap_m=snap)
        r = one(loc, 140, 150)  # 40 m from the hole's edge
        assert r.status == status
        if status == "snapped":
            assert (r.cell_code, r.distance_m) == (C1, pytest.approx(40.0))
        assert one(loc, 100, 150).status == "boundary"  # on the hole's ring
        assert one(loc, 50, 150).status == "inside"


def test_multipolygon_cell_indexed_per_part():
    mp = shapely.MultiPolygon([sq(0, 0), sq(1000, 0)])
    loc = Locator.from_geometries([C2, C1], [sq(100, 0), mp], snap_m=20.0)
    assert one(loc, 50, 50).cell_code == C1
    assert one(loc, 1050, 50).cell_code == C1
    assert (one(loc, 1110, 50).cell_code, one(loc, 1110, 50).status) == (C1, "snapped")
    assert one(loc, 600, 50).status == "outside"
    assert len(loc) == 2


def test_batch_result_shape_and_rows(block):
    xs = X0 + np.array([50, 100, -30, -500.0])
    ys = Y0 + np.array([50, 100, 50, 50.0])
    res = block.locate_xy(xs, ys)
    assert len(res) == 4
    assert res.cell_code.tolist() == [C3, C1, C3, None]
    assert res.status.tolist() == ["inside", "boundary", "snapped", "outside"]
    np.testing.assert_allclose(res.distance_m[:3], [0.0, 0.0, 30.0])
    assert math.isnan(res.distance_m[3])
    assert [r.cell_code for r in res.rows()] == [C3, C1, C3, None]
    assert len(block.locate_xy([], [])) == 0


def test_locate_wgs84_and_scalar():
    from gridroute.grids.coords import from_wgs84, to_wgs84

    loc = Locator.from_geometries([C1], [sq(0, 0)])
    lon, lat = to_wgs84(X0 + 50, Y0 + 50, "EPSG:32651")
    assert loc.locate(lon, lat).cell_code.tolist() == [C1]
    assert loc.locate_one(lon, lat).status == "inside"
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert loc.locate_one(glon, glat, crs="gcj02").cell_code == C1
    assert loc.locate(glon, glat, crs="gcj02").status.tolist() == ["inside"]
    assert loc.locate_one(glon, glat, crs="wgs84").status == "outside"  # ~500 m away
    assert loc.locate_one(X0 + 50, Y0 + 50, crs="EPSG:32651").cell_code == C1


def test_unknown_crs_raises():
    from gridroute.grids.coords import UnknownCRSError

    loc = Locator.from_geometries([C1], [sq(0, 0)])
    with pytest.raises(UnknownCRSError):
        loc.locate_one(121.0, 31.0, crs="mars")


def test_memory_and_grid_constructor():
    import geopandas as gpd

    from gridroute.grids.layers import load_grid

    g = gpd.GeoDataFrame({"cell_code": [C1, C2, C3, C4]},
                         geometry=[sq(0, 100), sq(100, 100), sq(0, 0), sq(100, 0)],
                         crs="EPSG:32651")
    layer, _ = load_grid(g)
    loc = Locator(layer, snap_m=10.0)
    assert loc.snap_m == 10.0 and loc.working_crs == "EPSG:32651"
    assert 0 < loc.memory_bytes() < 10_000_000
    assert loc.locate_xy_one(X0 + 100, Y0 + 100).cell_code == C1


def test_rejects_duplicate_codes():
    with pytest.raises(ValueError, match="unique"):
        Locator.from_geometries([C1, C1], [sq(0, 0), sq(100, 0)])


def test_empty_grid():
    loc = Locator.from_geometries([], [])
    assert loc.locate_xy([X0], [Y0]).status.tolist() == ["outside"]
    assert loc.locate_xy_one(X0, Y0).status == "outside"


def test_overlapping_cells_pick_smallest_code():
    big = sq(0, 0, 300)
    small = sq(100, 100)  # entirely inside big
    loc = Locator.from_geometries(["310101001001009", C1], [big, small], bucket_m=10.0)
    r = one(loc, 150, 150)
    assert (r.cell_code, r.status) == (C1, "boundary")
    r = one(loc, 50, 50)
    assert (r.cell_code, r.status) == ("310101001001009", "inside")


# --- property test against a brute-force shapely reference --------------------------------


def reference(codes, geoms, x, y, snap):
    p = shapely.Point(x, y)
    hits = [c for c, g in zip(codes, geoms) if shapely.intersects(g, p)]
    if hits:
        code = min(hits)
        inside = len(hits) == 1 and shapely.contains_xy(geoms[codes.index(code)], x, y)
        return code, "inside" if inside else "boundary", 0.0
    d = [shapely.distance(g, p) for g in geoms]
    dmin = min(d)
    if dmin <= snap:
        return min(c for c, dd in zip(codes, d) if dd == dmin), "snapped", dmin
    return None, "outside", math.nan


@st.composite
def voronoi_case(draw):
    n = draw(st.integers(min_value=2, max_value=25))
    seeds = draw(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
                          min_size=n, max_size=n, unique=True))
    seed = draw(st.integers(0, 2**32 - 1))
    bucket = draw(st.sampled_from([None, 3.0, 25.0, 120.0]))
    return seeds, seed, bucket


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(voronoi_case())
def test_matches_bruteforce_reference(case):
    seeds, seed, bucket = case
    frame = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    pts = shapely.multipoints([(X0 + a, Y0 + b) for a, b in seeds])
    cells = [shapely.intersection(c, frame)
             for c in shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame))]
    cells = [c for c in cells if not c.is_empty and c.area > 0]
    # punch a hole in the first cell so holes are exercised too
    c0 = cells[0]
    hole = shapely.buffer(c0.representative_point(), 15, quad_segs=2)
    if c0.contains(hole):
        cells[0] = c0.difference(hole)
    rng = np.random.default_rng(seed)
    codes = [f"310101001001{i:03d}" for i in rng.permutation(len(cells)) + 1]
    loc = Locator.from_geometries(codes, cells, snap_m=20.0, bucket_m=bucket)
    # random points, all vertices (exact boundary points), edge midpoints, points off the box
    xy = [tuple(p) for p in rng.uniform([X0 - 40, Y0 - 40], [X0 + 1040, Y0 + 1040], (150, 2))]
    verts = shapely.get_coordinates(np.asarray(cells, dtype=object))
    xy += [tuple(v) for v in verts[rng.choice(len(verts), min(60, len(verts)), replace=False)]]
    xy += [tuple((verts[i] + verts[i + 1]) / 2) for i in range(0, min(len(verts) - 1, 40))]
    xs = np.array([p[0] for p in xy])
    ys = np.array([p[1] for p in xy])
    res = loc.locate_xy(xs, ys)
    for i, (x, y) in enumerate(xy):
        code, status, dist = reference(codes, cells, x, y, 20.0)
        got = res.row(i)
        assert (got.cell_code, got.status) == (code, status), (x, y)
        if status == "snapped":
            assert got.distance_m == pytest.approx(dist)
        single = loc.locate_xy_one(x, y)
        assert (single.cell_code, single.status) == (code, status), (x, y)
