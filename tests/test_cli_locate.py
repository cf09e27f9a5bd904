"""CLI: `grids validate` and `locate` end to end (命令行网格定位)."""

from __future__ import annotations

import click
import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from gridroute.cli.grids import grids, locate
from gridroute.grids.coords import from_wgs84, to_wgs84

X0, Y0, CRS = 350_000.0, 3_450_000.0, "EPSG:32651"
C1, C2, C3, C4 = ("310101001001001", "310101001001002", "310101001002003", "310101001002004")


def sq(x, y, size=100.0):
    return shapely.box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


@pytest.fixture
def cli():
    group = click.Group("gridroute")
    group.add_command(grids)
    group.add_command(locate)
    return group


@pytest.fixture
def grid_file(tmp_path):
    path = tmp_path / "cells.gpkg"
    gpd.GeoDataFrame({"cell_code": [C1, C2, C3, C4]},
                     geometry=[sq(0, 100), sq(100, 100), sq(0, 0), sq(100, 0)],
                     crs=CRS).to_file(path, driver="GPKG")
    return path


def run(cli, args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_validate_ok(cli, grid_file):
    result = run(cli, ["grids", "validate", str(grid_file), "--working-crs", "EPSG:32651"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"Grid validation of {grid_file}: 4 cells, 0 errors, 0 warnings, "
                        "0 repaired")
    assert lines[2].startswith("4 cells in 2 communities, 1 streets, 1 districts; "
                               "working CRS EPSG:32651; content hash ")


def test_validate_hard_errors_exit_1(cli, tmp_path):
    path = tmp_path / "bad.geojson"
    gpd.GeoDataFrame({"cell_code": [C1, C1, "12"]},
                     geometry=[sq(0, 0), sq(100, 0), sq(200, 0)],
                     crs=CRS).to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    result = run(cli, ["grids", "validate", str(path)])
    assert result.exit_code == 1
    assert "2 errors" in result.output.splitlines()[0]
    assert f"ERROR duplicate_code [{C1}]: 2 cells share this code (rows 1, 2)" in result.output
    assert "ERROR bad_code [12]:" in result.output


def test_validate_missing_file_exit_1(cli, tmp_path):
    result = run(cli, ["grids", "validate", str(tmp_path / "none.geojson")])
    assert result.exit_code == 1
    assert "grid file not found" in result.output


def _lonlat(x, y, crs="wgs84"):
    lon, lat = to_wgs84(X0 + x, Y0 + y, CRS)
    if crs != "wgs84":
        lon, lat = from_wgs84(lon, lat, crs)
    return f"{float(lon):.9f}", f"{float(lat):.9f}"


def test_locate_end_to_end(cli, grid_file, tmp_path):
    src = tmp_path / "in.csv"
    out = tmp_path / "out.csv"
    rows = ["id,lon,lat,crs"]
    rows.append("a,%s,%s," % _lonlat(50, 150))                       # inside C1
    rows.append("b,%s,%s,gcj02" % _lonlat(150, 50, "gcj02"))          # inside C4 via GCJ-02
    rows.append(f"c,{X0 + 100},{Y0 + 100},EPSG:32651")              # 4-cell vertex → C1
    rows.append(f"d,{X0 - 30},{Y0 + 50},EPSG:32651")                # snapped 30 m to C3
    rows.append(f"e,{X0 + 1000},{Y0 + 50},EPSG:32651")              # outside
    rows.append("f,%s,%s,bd09" % _lonlat(150, 150, "bd09"))          # inside C2 via BD-09
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run(cli, ["locate", "--grid", str(grid_file), "--in", str(src), "--out", str(out),
                       "--snap-m", "50"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines() == [
        "id,cell_code,community_code,street_code,district_code,status,distance_m",
        f"a,{C1},310101001001,310101001,310101,inside,0.00",
        f"b,{C4},310101001002,310101001,310101,inside,0.00",
        f"c,{C1},310101001001,310101001,310101,boundary,0.00",
        f"d,{C3},310101001002,310101001,310101,snapped,30.00",
        "e,,,,,outside,",
        f"f,{C2},310101001001,310101001,310101,inside,0.00",
    ]
    assert ("located 6 rows (inside 3, boundary 1, snapped 1, outside 1); rejected 0 rows"
            in result.output)


def test_locate_rejects_bad_rows_exit_3(cli, grid_file, tmp_path):
    src = tmp_path / "in.csv"
    out = tmp_path / "out.csv"
    lon, lat = _lonlat(50, 50)
    src.write_text(
        "id,lon,lat,crs\n"
        f"1,{lon},{lat},\n"
        "2,abc,31.2,\n"
        f"3,{lon},,\n"
        f"4,{lon},91.5,\n"
        f"5,{lon},{lat},mars\n"
        f"6,{lon},{lat},wgs84\n",
        encoding="utf-8")
    result = run(cli, ["locate", "--grid", str(grid_file), "--in", str(src), "--out", str(out)])
    assert result.exit_code == 3
    err = [line for line in result.output.splitlines() if line.startswith(str(src))]
    assert err == [
        f"{src}:3: lon: not a number: 'abc'",
        f"{src}:4: lat: missing",
        f"{src}:5: lat: out of range [-90, 90]: 91.5",
        f"{src}:6: crs: unknown coordinate system 'mars'",
    ]
    assert out.read_text(encoding="utf-8").splitlines() == [
        "id,cell_code,community_code,street_code,district_code,status,distance_m",
        f"1,{C3},310101001002,310101001,310101,inside,0.00",
        f"6,{C3},310101001002,310101001,310101,inside,0.00",
    ]
    assert "rejected 4 rows" in result.output


def test_locate_default_crs_option_and_chunks(cli, grid_file, tmp_path):
    src = tmp_path / "in.csv"
    out = tmp_path / "out.csv"
    lines = ["id,lon,lat"] + [f"p{i},{X0 + 10 + i},{Y0 + 10}" for i in range(180)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(cli, ["locate", "--grid", str(grid_file), "--in", str(src), "--out", str(out),
                       "--crs", "EPSG:32651", "--chunk-size", "50", "--no-progress"])
    assert result.exit_code == 0, result.output
    body = out.read_text(encoding="utf-8").splitlines()[1:]
    assert [r.split(",")[0] for r in body] == [f"p{i}" for i in range(180)]
    assert [r.split(",")[1] for r in body][:3] == [C3, C3, C3]
    assert body[90] == f"p90,{C3},310101001002,310101001,310101,boundary,0.00"  # x = 100
    assert body[91].split(",")[1] == C4
    assert body[-1] == f"p179,{C4},310101001002,310101001,310101,inside,0.00"


def test_locate_missing_columns(cli, grid_file, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,x,y\n1,2,3\n", encoding="utf-8")
    result = run(cli, ["locate", "--grid", str(grid_file), "--in", str(src),
                       "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert "missing column(s) lon, lat" in result.output


def test_locate_unknown_default_crs(cli, grid_file, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,lon,lat\n", encoding="utf-8")
    result = run(cli, ["locate", "--grid", str(grid_file), "--in", str(src),
                       "--out", str(tmp_path / "o.csv"), "--crs", "mars"])
    assert result.exit_code == 2
    assert "unknown coordinate system 'mars'" in result.output
