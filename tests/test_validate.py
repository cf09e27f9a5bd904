"""Grid validation: geometry repair, codes, overlaps, gaps, CRS (网格数据质量检查)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from gridroute.grids.layers import CodeScheme, GridValidationError, load_grid
from gridroute.grids.validate import GridIssue, validate_grid

X0, Y0, CRS = 350_000.0, 3_450_000.0, "EPSG:32651"
C1, C2, C3, C4 = ("310101001001001", "310101001001002", "310101001002003", "310101001002004")


def sq(x, y, size=100.0):
    return shapely.box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def grid(geoms, codes=(C1, C2, C3, C4), crs=CRS):
    return gpd.GeoDataFrame({"cell_code": list(codes)}, geometry=list(geoms), crs=crs)


def block():
    return [sq(0, 100), sq(100, 100), sq(0, 0), sq(100, 0)]


def test_clean_grid_has_no_issues():
    report = validate_grid(grid(block()), CodeScheme())
    assert report.issues == [] and not report.has_errors
    assert report.render() == ("Grid validation: 4 cells, 0 errors, 0 warnings, 0 repaired\n"
                               "  OK: no problems found")


def test_bow_tie_is_refused_with_message():
    bow = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    report = validate_grid(grid([sq(0, 100), sq(100, 100), bow, sq(100, 0)]))
    assert report.has_errors
    (issue,) = report.errors
    assert issue.kind == "invalid_geometry" and issue.cell_codes == (C3,)
    assert "Self-intersection" in issue.message
    assert "make_valid would change the area from 0.00 to 5000.00 m²" in issue.message
    assert f"ERROR invalid_geometry [{C3}]: Self-intersection" in report.render()


def test_tiny_self_intersection_is_repaired():
    # square with a 1 cm "twist" at one corner: area changes by far less than 0.1 %
    ring = [(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 100), (X0 + 0.02, Y0 + 100),
            (X0, Y0 + 100.01), (X0 + 0.01, Y0 + 100.02), (X0, Y0 + 100)]
    twisted = shapely.Polygon(ring)
    assert not twisted.is_valid
    report = validate_grid(grid([twisted, sq(100, 0), sq(200, 0), sq(300, 0)]))
    assert not report.has_errors
    (issue,) = report.repaired
    assert issue.kind == "invalid_geometry" and issue.cell_codes == (C1,)
    assert "repaired with make_valid" in issue.message
    fixed = report.gdf.geometry.iloc[0]
    assert fixed.is_valid and fixed.geom_type in ("Polygon", "MultiPolygon")
    assert fixed.area == pytest.approx(10000.0, rel=1e-3)
    assert "1 repaired" in report.render().splitlines()[0]


def test_repair_threshold_is_configurable():
    bow = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    with pytest.raises(GridValidationError, match="invalid_geometry"):
        load_grid(grid([bow, sq(300, 0), sq(400, 0), sq(500, 0)]))


def test_empty_geometry():
    report = validate_grid(grid([sq(0, 0), shapely.Polygon(), None, sq(300, 0)]))
    (issue,) = [i for i in report.errors if i.kind == "empty_geometry"]
    assert issue.cell_codes == (C2, C3)
    assert issue.message == "2 cell(s) have no geometry"


def test_duplicate_and_bad_codes():
    codes = [C1, C1, "31010100100200X", "3101010010020"]
    report = validate_grid(grid(block(), codes=codes))
    kinds = sorted(i.kind for i in report.errors)
    assert kinds == ["bad_code", "duplicate_code"]
    dup = [i for i in report.errors if i.kind == "duplicate_code"][0]
    assert dup.cell_codes == (C1,) and dup.message == "2 cells share this code (rows 1, 2)"
    bad = [i for i in report.errors if i.kind == "bad_code"][0]
    assert bad.cell_codes == ("31010100100200X", "3101010010020")
    assert "do not match scheme '15' (15 digits: 6 district + 3 street + 3 community + 3 cell)" \
        in bad.message


def test_cjt213_scheme_codes():
    codes = ["31010100100101", "31010100100102", "31010100100203", "31010100100204"]
    assert not validate_grid(grid(block(), codes=codes), CodeScheme.preset("CJT213")).has_errors
    assert validate_grid(grid(block(), codes=codes)).has_errors


def test_overlap_beyond_tolerance():
    geoms = block()
    geoms[1] = shapely.box(X0 + 98, Y0 + 100, X0 + 200, Y0 + 200)  # 2 m × 100 m over C1
    report = validate_grid(grid(geoms), overlap_tolerance_m2=1.0)
    (issue,) = report.errors
    assert issue.kind == "overlap" and issue.cell_codes == (C1, C2)
    assert issue.message == "cells overlap by 200.00 m² (tolerance 1 m²)"


def test_small_overlap_is_a_warning():
    geoms = block()
    geoms[1] = shapely.box(X0 + 99.995, Y0 + 100, X0 + 200, Y0 + 200)  # 0.5 m²
    report = validate_grid(grid(geoms), overlap_tolerance_m2=1.0)
    assert not report.has_errors
    (w,) = report.warnings
    assert w.kind == "small_overlap" and w.cell_codes == (C1, C2)


def test_gap_inside_street():
    # 3×3 block, the middle cell missing: a 100 m × 100 m hole inside street 310101001
    geoms = [sq(x, y) for y in (200, 100, 0) for x in (0, 100, 200) if (x, y) != (100, 100)]
    codes = [f"310101001001{i:03d}" for i in range(1, 9)]
    report = validate_grid(grid(geoms, codes=codes), gap_tolerance_m2=1.0)
    (issue,) = report.errors
    assert issue.kind == "gap"
    assert issue.cell_codes == tuple(codes)  # every cell touches the hole's ring
    assert "street 310101001 has a 10000.00 m² hole covered by no cell" in issue.message


def test_hole_filled_by_another_street_is_not_a_gap():
    geoms = [sq(x, y) for y in (200, 100, 0) for x in (0, 100, 200)]
    codes = [f"310101001001{i:03d}" for i in range(1, 10)]
    codes[4] = "310101002001001"  # the middle cell belongs to another street
    assert validate_grid(grid(geoms, codes=codes)).issues == []


def test_tiny_gap_is_tolerated():
    geoms = [sq(x, y) for y in (200, 100, 0) for x in (0, 100, 200) if (x, y) != (100, 100)]
    geoms.append(shapely.box(X0 + 100.2, Y0 + 100.2, X0 + 199.8, Y0 + 199.8))
    codes = [f"310101001001{i:03d}" for i in range(1, 10)]
    report = validate_grid(grid(geoms, codes=codes), gap_tolerance_m2=100.0)
    assert not report.has_errors
    assert [w.kind for w in report.warnings] == ["small_gap"]


def test_missing_crs_reported():
    report = validate_grid(grid(block(), crs=None))
    assert report.errors[0].kind == "missing_crs"
    assert "skipped_checks" in report.kinds("warning")


def test_issue_line_and_severity():
    issue = GridIssue("warning", "x", ("1", "2"), "msg")
    assert issue.line() == "WARNING x [1, 2]: msg"
    with pytest.raises(ValueError):
        GridIssue("fatal", "x", (), "msg")
