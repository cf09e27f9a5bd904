"""Grid layers: code scheme, reading files, load_grid, dissolves, content hash (网格图层)."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from gridroute.grids.layers import (
    CodeScheme,
    GridLayer,
    GridLoadError,
    GridValidationError,
    load_grid,
    read_grid_file,
    read_street_names,
)

X0, Y0, CRS = 350_000.0, 3_450_000.0, "EPSG:32651"


def sq(x, y, size=100.0):
    return shapely.box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def block_2x2(crs=CRS):
    return gpd.GeoDataFrame(
        {
            "cell_code": ["310101001001001", "310101001001002",
                          "310101001002003", "310101001002004"],
            "community_name": ["一居", "一居", "二居", "二居"],
            "street_name": ["南京东路街道"] * 4,
            "district_name": ["黄浦区"] * 4,
            "tags": ["market,road", "", "waterfront", ""],
        },
        geometry=[sq(0, 100), sq(100, 100), sq(0, 0), sq(100, 0)],
        crs=crs,
    )


# --- code scheme -------------------------------------------------------------------------


def test_default_scheme_prefixes():
    s = CodeScheme()
    code = "310101001002003"
    assert s.total_len == 15 and s.name == "15"
    assert s.matches(code)
    assert (s.district(code), s.street(code), s.community(code)) == (
        "310101", "310101001", "310101001002")


@pytest.mark.parametrize("bad", ["31010100100200", "3101010010020031", "31010100100200x",
                                 "", None, 310101001002003, "３１０１０１００１００２００３"])
def test_scheme_rejects_bad_codes(bad):
    assert not CodeScheme().matches(bad)


def test_cjt213_preset_and_from_config():
    s = CodeScheme.preset("CJT213")
    assert (s.total_len, s.cell_len, s.name) == (14, 2, "CJT213")
    assert s.matches("31010100100201") and not s.matches("310101001002001")
    assert CodeScheme.from_config({"code_scheme": "CJT213"}) == s
    custom = CodeScheme.from_config({"code_scheme": "15", "cell_len": 4})
    assert custom.total_len == 16 and custom.community("3101010010020001") == "310101001002"
    assert CodeScheme.from_config({}) == CodeScheme()
    with pytest.raises(ValueError, match="unknown code scheme"):
        CodeScheme.preset("nope")
    with pytest.raises(ValueError, match="positive integer"):
        CodeScheme(cell_len=0)


# --- reading -----------------------------------------------------------------------------


def test_read_missing_file(tmp_path):
    with pytest.raises(GridLoadError, match="grid file not found: .*nothing.geojson"):
        read_grid_file(tmp_path / "nothing.geojson")


def test_read_unreadable_file(tmp_path):
    p = tmp_path / "broken.geojson"
    p.write_text("{ this is not json", encoding="utf-8")
    with pytest.raises(GridLoadError, match="broken.geojson is not a grid file: it is JSON text that is not GeoJSON"):
        read_grid_file(p)
    with pytest.raises(GridLoadError):
        load_grid(p)


# --- load_grid -----------------------------------------------------------------------------


def test_load_grid_derives_codes_and_layers():
    layer, report = load_grid(block_2x2())
    assert not report.has_errors
    cells = layer.cells
    assert list(cells.columns) == ["cell_code", "community_code", "street_code",
                                   "district_code", "community_name", "street_name",
                                   "district_name", "tags", "geometry"]
    assert cells["community_code"].tolist() == ["310101001001", "310101001001",
                                                "310101001002", "310101001002"]
    assert set(cells["street_code"]) == {"310101001"}
    assert set(cells["district_code"]) == {"310101"}
    assert cells["tags"].tolist() == [("market", "road"), (), ("waterfront",), ()]
    assert layer.working_crs == "EPSG:32651" and cells.crs.to_epsg() == 32651
    comm = layer.communities.set_index("code")
    assert comm.loc["310101001001", "cell_count"] == 2
    assert comm.loc["310101001001", "name"] == "一居"
    assert comm.loc["310101001002", "geometry"].area == pytest.approx(20000.0)
    assert layer.streets["cell_count"].tolist() == [4]
    assert layer.streets["community_count"].tolist() == [2]
    assert layer.districts["code"].tolist() == ["310101"]
    assert layer.districts.geometry.iloc[0].area == pytest.approx(40000.0)


def test_summary_per_street():
    layer, _ = load_grid(block_2x2())
    s = layer.summary()
    assert s["cell_count"] == 4 and s["community_count"] == 2 and s["street_count"] == 1
    assert s["streets"] == [{"code": "310101001", "name": "南京东路街道",
                             "community_count": 2, "cell_count": 4}]
    assert s["districts"][0]["name"] == "黄浦区"
    assert s["content_hash"] == layer.content_hash and len(s["content_hash"]) == 64


def test_explicit_code_columns_win():
    g = block_2x2()
    g["street_code"] = ["310101999"] * 4
    g["community_code"] = [None, None, "310101999777", "310101999777"]
    layer, _ = load_grid(g)
    assert set(layer.cells["street_code"]) == {"310101999"}
    assert layer.cells["community_code"].tolist() == [
        "310101001001", "310101001001", "310101999777", "310101999777"]


def test_missing_crs_is_a_hard_error():
    g = block_2x2(crs=None)
    with pytest.raises(GridValidationError) as exc:
        load_grid(g)
    text = str(exc.value)
    assert "ERROR missing_crs" in text
    assert "declares no coordinate reference system" in text
    assert exc.value.report.has_errors


def test_validation_error_str_is_report():
    g = block_2x2()
    g.loc[1, "cell_code"] = "310101001001001"
    with pytest.raises(GridValidationError) as exc:
        load_grid(g)
    assert str(exc.value) == exc.value.report.render()
    assert "ERROR duplicate_code [310101001001001]: 2 cells share this code (rows 1, 2)" in str(exc.value)


def test_multipolygon_stays_one_cell():
    g = block_2x2()
    g.loc[3, "geometry"] = shapely.MultiPolygon([sq(100, 0), sq(300, 0)])
    layer, report = load_grid(g, gap_tolerance_m2=1.0)
    assert len(layer.cells) == 4
    geom = layer.cells.set_index("cell_code").loc["310101001002004", "geometry"]
    assert geom.geom_type == "MultiPolygon" and geom.area == pytest.approx(20000.0)


def test_reprojects_from_wgs84():
    g = block_2x2().to_crs("EPSG:4326")
    layer, _ = load_grid(g)
    assert layer.cells.crs.to_epsg() == 32651
    assert layer.cells.geometry.iloc[0].area == pytest.approx(10000.0, rel=1e-6)


def test_source_crs_gcj02_override():
    from gridroute.grids.coords import from_wgs84

    wgs = block_2x2().to_crs("EPSG:4326")

    def to_gcj(xy):
        import numpy as np

        lon, lat = from_wgs84(xy[:, 0], xy[:, 1], "gcj02")
        return np.column_stack([lon, lat])

    gcj = wgs.set_geometry(shapely.transform(wgs.geometry.values, to_gcj))
    layer, _ = load_grid(gcj, source_crs="gcj02")
    c = layer.cells.geometry.iloc[0].centroid
    assert c.x == pytest.approx(X0 + 50, abs=0.01) and c.y == pytest.approx(Y0 + 150, abs=0.01)


def test_street_names_side_table(tmp_path):
    g = block_2x2().drop(columns=["street_name"])
    layer, _ = load_grid(g, street_names={"310101001": "南京东路街道"})
    assert set(layer.cells["street_name"]) == {"南京东路街道"}
    csv_path = tmp_path / "streets.csv"
    csv_path.write_text("street_code,name_zh,name_en\n310101001,外滩街道,The Bund\n",
                        encoding="utf-8")
    assert read_street_names(csv_path) == {"310101001": "外滩街道"}
    layer, _ = load_grid(g, street_names=csv_path)
    assert layer.summary()["streets"][0]["name"] == "外滩街道"
    js = tmp_path / "streets.json"
    js.write_text(json.dumps({"district": {"code": "310101"},
                              "streets": [{"seq": "001", "name_zh": "南京东路街道"}]}),
                  encoding="utf-8")
    assert read_street_names(js) == {"310101001": "南京东路街道"}


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("ext,driver", [("geojson", "GeoJSON"), ("gpkg", "GPKG"),
                                        ("shp", "ESRI Shapefile")])
def test_formats_give_same_content_hash(tmp_path, ext, driver):
    reference, _ = load_grid(block_2x2())
    g = block_2x2().to_crs("EPSG:4326").iloc[[2, 0, 3, 1]]  # another order
    path = tmp_path / f"cells.{ext}"
    g.to_file(path, driver=driver, engine="pyogrio")
    layer, report = load_grid(path)
    assert not report.has_errors
    assert layer.source_path == str(path)
    assert layer.cells["community_name"].tolist() == ["一居", "一居", "二居", "二居"]
    assert layer.content_hash == reference.content_hash


def test_hash_changes_with_content():
    a, _ = load_grid(block_2x2())
    g = block_2x2()
    g.loc[0, "community_name"] = "别的居委"
    b, _ = load_grid(g)
    g2 = block_2x2()
    g2.loc[0, "geometry"] = shapely.box(X0, Y0 + 100, X0 + 100, Y0 + 200.5)
    c, _ = load_grid(g2, overlap_tolerance_m2=100)
    assert len({a.content_hash, b.content_hash, c.content_hash}) == 3


def test_gridlayer_dissolves_when_not_given():
    layer, _ = load_grid(block_2x2())
    again = GridLayer(cells=layer.cells, working_crs=layer.working_crs)
    assert again.content_hash == layer.content_hash
    assert again.streets["cell_count"].tolist() == [4]
