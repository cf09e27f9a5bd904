"""Grids wrong in ways the geometry checks miss: degrees under a metric CRS, swapped axes, an
extent far from the working area, several layers, files that are not grids, row numbers."""
from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from gridroute.grids.layers import GridLoadError, GridValidationError, load_grid

C1, C2 = "310101001001001", "310101001001002"


def lonlat_cells(lon=121.47, lat=31.23, d=0.001):
    return [shapely.box(lon, lat, lon + d, lat + d), shapely.box(lon + d, lat, lon + 2 * d, lat + d)]


def frame(geoms, crs, codes=(C1, C2)):
    return gpd.GeoDataFrame({"cell_code": list(codes)}, geometry=geoms, crs=crs)


def test_degrees_under_a_metric_crs_are_a_hard_error_unless_forced():
    gdf = frame(lonlat_cells(), "EPSG:32651")
    with pytest.raises(GridValidationError) as err:
        load_grid(gdf)
    assert err.value.report.render().splitlines()[1] == (
        "  ERROR degrees_in_metric_crs: coordinates (x 121.47…121.472, y 31.23…31.231) look "
        "like degrees, but EPSG:32651 counts metres: the file's CRS is wrong (declare the real "
        "one, e.g. --source-crs wgs84)")
    assert "use --force to load it anyway" in str(err.value)
    # declared correctly it loads
    layer, _ = load_grid(gdf, source_crs="wgs84")
    assert len(layer) == 2


def test_forced_placement_errors_become_warnings():
    gdf = frame([shapely.box(116.39, 39.9, 116.4, 39.91),
                 shapely.box(116.4, 39.9, 116.41, 39.91)], "EPSG:4326")  # Beijing
    with pytest.raises(GridValidationError) as err:
        load_grid(gdf)
    assert ("ERROR far_from_working_area: the grid lies at lon 116.3900…116.4100, lat "
            "39.9000…39.9100, far from the area of the working CRS EPSG:32651 (lon 120…126, "
            "lat 0…84)") in str(err.value)
    layer, report = load_grid(gdf, force=True)
    assert report.kinds("warning")[0] == "far_from_working_area"
    assert report.warnings[0].message.endswith("(--force)")


def test_swapped_axes_are_named():
    swapped = [shapely.transform(g, lambda c: c[:, ::-1]) for g in lonlat_cells()]
    with pytest.raises(GridValidationError) as err:
        load_grid(frame(swapped, "EPSG:4326"))
    assert ("ERROR swapped_axes: axes look swapped: x (31.23…31.231) reads as latitude and y "
            "(121.47…121.472) as longitude; write longitude as x and latitude as y"
            ) in str(err.value)


def test_missing_codes_are_numbered_as_in_the_file_and_duplicates_name_their_rows():
    gdf = frame(lonlat_cells() + [shapely.box(121.472, 31.23, 121.473, 31.231)], "EPSG:4326",
                codes=(C1, None, C1))
    with pytest.raises(GridValidationError) as err:
        load_grid(gdf)
    text = str(err.value)
    assert "ERROR missing_code [row 2]: 1 cell(s) have no cell code (rows numbered as in " \
           "the file, from 1)" in text
    assert f"ERROR duplicate_code [{C1}]: 2 cells share this code (rows 1, 3)" in text


def test_a_source_with_several_layers_needs_one_named(tmp_path):
    path = tmp_path / "two.gpkg"
    frame(lonlat_cells(), "EPSG:4326").to_file(path, layer="cells", driver="GPKG")
    frame(lonlat_cells(), "EPSG:4326").to_file(path, layer="old_cells", driver="GPKG")
    with pytest.raises(GridLoadError) as err:
        load_grid(path)
    assert str(err.value) == (f"{path} has 2 layers: cells (Polygon), old_cells (Polygon); "
                              "choose one with --layer")
    with pytest.raises(GridLoadError, match="has no layer 'new'; its layers: cells"):
        load_grid(path, layer="new")
    layer, _ = load_grid(path, layer="old_cells")
    assert len(layer) == 2


@pytest.mark.parametrize("name, content, said", [
    ("empty.geojson", b"", "is empty (0 bytes)"),
    ("cells.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "is not a grid file: it is a PNG image"),
    ("cells.geojson", b'{"type": "FeatureCollection", "features": []}', "holds no features"),
])
def test_files_that_are_not_grids_say_what_they_are(tmp_path, name, content, said):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(GridLoadError) as err:
        load_grid(path)
    assert said in str(err.value)


def test_a_csv_table_is_named_as_one(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text("cell_code,name\n310101001001001,a\n", encoding="utf-8")
    with pytest.raises(GridLoadError) as err:
        load_grid(path)
    assert str(err.value) == (f"{path} is a table without geometry (1 rows; columns "
                              "cell_code, name): not a grid")


def test_dissolved_layers_and_the_content_hash_wait_until_used():
    layer, _ = load_grid(frame(lonlat_cells(), "EPSG:4326"))
    assert layer.derived_computed() == {"communities": False, "streets": False,
                                        "districts": False, "content_hash": False}
    assert layer.streets["code"].tolist() == ["310101001"]
    assert layer.derived_computed()["streets"] and not layer.derived_computed()["districts"]
    assert len(layer.content_hash) == 64 and layer.derived_computed()["content_hash"]
