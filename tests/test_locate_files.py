"""`gridroute locate` never destroys a file, reads other encodings when told, refuses a
longitude/latitude working CRS, keeps csv-module line numbers for quoted input, and caches the
grid's index on disk (a damaged entry is rebuilt)."""
from __future__ import annotations

import os

import click
import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from gridroute.cli.grids import locate
from gridroute.grids import batch
from gridroute.grids.cache import GridCache
from gridroute.grids.coords import to_wgs84

X0, Y0, CRS = 350_000.0, 3_450_000.0, "EPSG:32651"
C1, C2 = "310101001001001", "310101001001002"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "grid-cache"
    monkeypatch.setenv("GRIDROUTE_GRID_CACHE_DIR", str(path))
    return path


@pytest.fixture
def cli():
    group = click.Group("gridroute")
    group.add_command(locate)
    return group


@pytest.fixture
def grid_file(tmp_path):
    path = tmp_path / "cells.gpkg"
    gpd.GeoDataFrame({"cell_code": [C1, C2]},
                     geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100),
                               shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)],
                     crs=CRS).to_file(path, driver="GPKG")
    return path


def lonlat(x, y):
    lon, lat = to_wgs84(X0 + x, Y0 + y, CRS)
    return f"{float(lon):.9f},{float(lat):.9f}"


def run(cli, *args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_out_equal_to_in_is_refused_and_the_input_kept(cli, grid_file, tmp_path):
    src = tmp_path / "points.csv"
    text = f"id,lon,lat\na,{lonlat(50, 50)}\n"
    src.write_text(text, encoding="utf-8")
    os.chdir(tmp_path)
    for out in (str(src), "points.csv", f"./sub/../points.csv"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        result = run(cli, "locate", "--grid", str(grid_file), "--in", str(src), "--out", out)
        assert result.exit_code == 1
        assert "--out is the input file; choose another name" in result.output
    assert src.read_text(encoding="utf-8") == text


def test_unwritable_output_is_refused_before_any_work(cli, grid_file, tmp_path, monkeypatch):
    src = tmp_path / "points.csv"
    src.write_text(f"id,lon,lat\na,{lonlat(50, 50)}\n", encoding="utf-8")
    calls = []
    monkeypatch.setattr("gridroute.services.grids.file_locator",
                        lambda *a, **k: calls.append(1))
    result = run(cli, "locate", "--grid", str(grid_file), "--in", str(src),
                 "--out", str(tmp_path / "missing" / "out.csv"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'missing' / 'out.csv'}: folder {tmp_path / 'missing'} does not exist" \
        in result.output
    result = run(cli, "locate", "--grid", str(grid_file), "--in", str(src),
                 "--out", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.output
    assert calls == []  # the grid was not even read


def test_a_failed_write_leaves_the_earlier_output_and_no_temporary_file(
        cli, grid_file, tmp_path, monkeypatch):
    src = tmp_path / "points.csv"
    src.write_text(f"id,lon,lat\na,{lonlat(50, 50)}\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    out.write_text("yesterday's results\n", encoding="utf-8")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pyarrow.csv.write_csv", broken)
    with pytest.raises(OSError):
        run(cli, "locate", "--grid", str(grid_file), "--in", str(src), "--out", str(out))
    assert out.read_text(encoding="utf-8") == "yesterday's results\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_gbk_input_needs_encoding(cli, grid_file, tmp_path):
    src = tmp_path / "points.csv"
    src.write_bytes(f"id,lon,lat\n井盖1,{lonlat(50, 50)}\n".encode("gbk"))
    out = tmp_path / "out.csv"
    result = run(cli, "locate", "--grid", str(grid_file), "--in", str(src), "--out", str(out))
    assert result.exit_code == 1
    assert f"Error: {src}: not UTF-8 (try --encoding gbk)" in result.output
    assert not out.exists()
    result = run(cli, "locate", "--grid", str(grid_file), "--in", str(src), "--out", str(out),
                 "--encoding", "gbk")
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[1] == \
        f"井盖1,{C1},310101001001,310101001,310101,inside,0.00"


def test_geographic_working_crs_is_refused(cli, grid_file, tmp_path):
    src = tmp_path / "points.csv"
    src.write_text("id,lon,lat\n", encoding="utf-8")
    result = run(cli, "locate", "--grid", str(grid_file), "--in", str(src),
                 "--out", str(tmp_path / "o.csv"), "--working-crs", "EPSG:4326")
    assert result.exit_code == 2
    assert "EPSG:4326 is a longitude/latitude CRS; the working CRS must be projected in " \
           "metres" in result.output


def test_quoted_input_keeps_line_numbers_and_quotes(cli, grid_file, tmp_path):
    src = tmp_path / "points.csv"
    src.write_text('id,lon,lat\n"a, first",' + lonlat(50, 50) + '\n'
                   '"multi\nline",' + lonlat(150, 50) + '\n'
                   '\n'
                   'c,east,31\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run(cli, "locate", "--grid", str(grid_file), "--in", str(src), "--out", str(out))
    assert result.exit_code == 3
    assert f"{src}:6: lon: not a number: 'east'" in result.output
    assert out.read_text(encoding="utf-8") == (
        "id,cell_code,community_code,street_code,district_code,status,distance_m\n"
        f'"a, first",{C1},310101001001,310101001,310101,inside,0.00\n'
        f'"multi\nline",{C2},310101001001,310101001,310101,inside,0.00\n')


def test_fast_path_numbers_as_python_float_reads_them(cli, grid_file, tmp_path):
    src = tmp_path / "points.csv"
    good = lonlat(50, 50).split(",")
    src.write_text("id,lon,lat\n"
                   f"a, {good[0]} ,{good[1]}\n"   # spaces around: float() accepts them
                   f"b,{good[0]},inf\n"
                   f"c,{good[0]},nan\n"
                   f"d,{good[0]}\n"               # short row
                   "\n   \n,,\n"                  # blank rows are skipped silently
                   f"e,{good[0]},{good[1]},extra\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run(cli, "locate", "--grid", str(grid_file), "--in", str(src), "--out", str(out))
    assert result.exit_code == 3
    errors = [line for line in result.output.splitlines() if line.startswith(str(src))]
    assert errors == [f"{src}:3: lat: not a finite number: 'inf'",
                      f"{src}:4: lat: not a finite number: 'nan'",
                      f"{src}:5: lat: missing"]
    assert [r.split(",")[0] for r in out.read_text(encoding="utf-8").splitlines()[1:]] == \
        ["a", "e"]


def test_the_index_is_cached_and_a_damaged_entry_is_rebuilt(cli, grid_file, tmp_path,
                                                              cache_dir, monkeypatch):
    src = tmp_path / "points.csv"
    src.write_text(f"id,lon,lat\na,{lonlat(50, 50)}\nb,{lonlat(150, 50)}\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert run(cli, "locate", "--grid", str(grid_file), "--in", str(src),
               "--out", str(out)).exit_code == 0
    expected = out.read_text(encoding="utf-8")
    (entry,) = cache_dir.glob("grid-*.npz")

    loads = []
    real = batch.locate_csv

    def spy(locator, *args, **kwargs):
        loads.append(getattr(locator, "_prepared", None) is not None)  # loaded → lazy prep
        return real(locator, *args, **kwargs)

    monkeypatch.setattr(batch, "locate_csv", spy)
    assert run(cli, "locate", "--grid", str(grid_file), "--in", str(src),
               "--out", str(out)).exit_code == 0
    assert loads == [True] and out.read_text(encoding="utf-8") == expected

    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the zip CRC no longer matches
    entry.write_bytes(bytes(data))
    assert run(cli, "locate", "--grid", str(grid_file), "--in", str(src),
               "--out", str(out)).exit_code == 0
    assert loads == [True, False] and out.read_text(encoding="utf-8") == expected
    assert GridCache(cache_dir).load(entry.name.split("-")[1].ljust(64, "0"),
                                     working_crs=CRS, snap_m=50.0) is None  # wrong hash


def test_an_entry_for_other_content_is_not_trusted(tmp_path):
    from gridroute.grids.locator import Locator

    cache = GridCache(tmp_path)
    loc = Locator.from_geometries([C1], [shapely.box(X0, Y0, X0 + 100, Y0 + 100)])
    stored = cache.store("a" * 64, loc)
    assert cache.load("a" * 64, working_crs=CRS, snap_m=50.0) is not None
    stored.rename(cache.entry_path("b" * 64, CRS, 50.0))  # renamed by hand
    assert cache.load("b" * 64, working_crs=CRS, snap_m=50.0) is None


def test_a_changed_grid_file_is_never_served_from_the_cache(cli, tmp_path, cache_dir):
    src = tmp_path / "points.csv"
    src.write_text(f"id,lon,lat\na,{lonlat(50, 50)}\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    grid = tmp_path / "cells.gpkg"

    def write(code):
        gpd.GeoDataFrame({"cell_code": [code]},
                         geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)],
                         crs=CRS).to_file(grid, driver="GPKG")

    write(C1)
    assert run(cli, "locate", "--grid", str(grid), "--in", str(src),
               "--out", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines()[1].split(",")[1] == C1
    write(C2)  # same place, another code
    assert run(cli, "locate", "--grid", str(grid), "--in", str(src),
               "--out", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines()[1].split(",")[1] == C2
    assert len(list(cache_dir.glob("grid-*.npz"))) == 2


def test_a_shapefile_with_a_changed_attribute_table_is_rebuilt(cli, tmp_path, cache_dir):
    src = tmp_path / "points.csv"
    src.write_text(f"id,lon,lat\na,{lonlat(50, 50)}\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    folder = tmp_path / "shp"
    folder.mkdir()
    shp = folder / "cells.shp"
    box = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    gpd.GeoDataFrame({"cell_code": [C1]}, geometry=[box], crs=CRS).to_file(shp)
    geometry_bytes = shp.read_bytes()
    assert run(cli, "locate", "--grid", str(shp), "--in", str(src),
               "--out", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines()[1].split(",")[1] == C1
    gpd.GeoDataFrame({"cell_code": [C2]}, geometry=[box], crs=CRS).to_file(shp)
    assert shp.read_bytes() == geometry_bytes  # only the .dbf differs
    assert run(cli, "locate", "--grid", str(shp), "--in", str(src),
               "--out", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines()[1].split(",")[1] == C2
