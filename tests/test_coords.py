"""Tests for gridroute.grids.coords (坐标系转换)."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridroute.grids import coords
from gridroute.grids.coords import (
    ACCEPTED_CRS_NAMES,
    UnknownCRSError,
    alternative_readings,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    normalize_crs,
    to_wgs84,
    to_working,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = pyproj.Geod(ellps="WGS84")
LON_MIN, LON_MAX = 120.85, 122.2
LAT_MIN, LAT_MAX = 30.67, 31.88
PEOPLES_SQUARE = (121.4737, 31.2304)


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    arrays = (np.asarray(v, dtype=float) for v in (lon1, lat1, lon2, lat2))
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(*arrays)
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(scope="module")
def shanghai_grid():
    lon, lat = np.meshgrid(np.linspace(LON_MIN, LON_MAX, 28), np.linspace(LAT_MIN, LAT_MAX, 25))
    return lon, lat


# --------------------------------------------------------------------------- round trips


def test_gcj02_round_trip_from_wgs84_within_1m(shanghai_grid):
    lon, lat = shanghai_grid
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert back_lon.shape == lon.shape
    assert metres(lon, lat, back_lon, back_lat).max() <= 1.0


def test_gcj02_round_trip_from_gcj02_within_1m(shanghai_grid):
    lon, lat = shanghai_grid
    back_lon, back_lat = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert metres(lon, lat, back_lon, back_lat).max() <= 1.0


def test_gcj02_inverse_converges_below_1e_7_degrees(shanghai_grid):
    lon, lat = shanghai_grid
    w_lon, w_lat = gcj02_to_wgs84(lon, lat)
    f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
    assert np.abs(f_lon - lon).max() < 1e-7
    assert np.abs(f_lat - lat).max() < 1e-7


def test_bd09_round_trip_within_1m(shanghai_grid):
    lon, lat = shanghai_grid
    back_lon, back_lat = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, back_lon, back_lat).max() <= 1.0
    back_lon, back_lat = wgs84_to_bd09(*bd09_to_wgs84(lon, lat))
    assert metres(lon, lat, back_lon, back_lat).max() <= 1.0


def test_bd09_gcj02_round_trip_within_1m(shanghai_grid):
    lon, lat = shanghai_grid
    back_lon, back_lat = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert metres(lon, lat, back_lon, back_lat).max() <= 1.0


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=LON_MIN, max_value=LON_MAX),
    lat=st.floats(min_value=LAT_MIN, max_value=LAT_MAX),
    crs=st.sampled_from(["gcj02", "bd09"]),
)
def test_round_trip_property(lon, lat, crs):
    x, y = from_wgs84(lon, lat, crs)
    back_lon, back_lat = to_wgs84(x, y, crs)
    assert metres(lon, lat, back_lon, back_lat) <= 1.0
    # and the offset is never negligible nor absurd inside Shanghai
    assert 100.0 < metres(lon, lat, x, y) < 1500.0


# --------------------------------------------------------------------------- offsets


def test_central_shanghai_gcj02_offset_is_400_to_600_m():
    lon, lat = PEOPLES_SQUARE
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    offset = float(metres(lon, lat, g_lon, g_lat))
    assert 400.0 <= offset <= 600.0
    # GCJ-02 lies east and south of WGS84 in Shanghai (about +0.0045°, -0.002°)
    assert 0.003 < g_lon - lon < 0.006
    assert -0.003 < g_lat - lat < -0.001


def test_bd09_is_further_offset_than_gcj02():
    lon, lat = PEOPLES_SQUARE
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert 500.0 < float(metres(g_lon, g_lat, b_lon, b_lat)) < 1500.0


@pytest.mark.parametrize(
    "lon, lat",
    [
        (139.6917, 35.6895),
        (2.3522, 48.8566),
        (-74.006, 40.7128),
        (151.2093, -33.8688),
        (70.0, 30.0),
    ],
)
def test_gcj02_is_identity_outside_china(lon, lat):
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert to_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_mixed_array_inside_and_outside_china():
    lon = np.array([121.4737, 139.6917])
    lat = np.array([31.2304, 35.6895])
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert g_lon[0] != lon[0]
    assert (g_lon[1], g_lat[1]) == (lon[1], lat[1])


# --------------------------------------------------------------------------- shapes


def test_scalar_in_scalar_out():
    lon, lat = wgs84_to_gcj02(*PEOPLES_SQUARE)
    assert np.ndim(lon) == 0 and np.ndim(lat) == 0
    assert isinstance(float(lon), float)


def test_array_shape_is_preserved_and_broadcast():
    lon = np.full((3, 4), 121.47)
    out_lon, out_lat = to_wgs84(lon, 31.23, "bd09")
    assert out_lon.shape == (3, 4) and out_lat.shape == (3, 4)
    assert out_lon.dtype == np.float64
    x, y = to_working([121.47, 121.48], [31.23, 31.24], "wgs84")
    assert x.shape == (2,) and y.shape == (2,)


def test_inputs_are_not_modified():
    lon = np.array([121.47, 121.48])
    lat = np.array([31.23, 31.24])
    gcj02_to_wgs84(lon, lat)
    bd09_to_wgs84(lon, lat)
    assert lon.tolist() == [121.47, 121.48] and lat.tolist() == [31.23, 31.24]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name",
    ["wgs84", "WGS84", "WGS-84", "wgs_84", "EPSG:4326", "epsg:4326", "4326", 4326, "cgcs2000",
     "CGCS2000", "EPSG:4490", "4490"],
)
def test_normalize_wgs84_aliases(name):
    assert normalize_crs(name) == "wgs84"


@pytest.mark.parametrize("name", ["gcj02", "GCJ02", "gcj-02", "GCJ-02"])
def test_normalize_gcj02_aliases(name):
    assert normalize_crs(name) == "gcj02"


@pytest.mark.parametrize("name", ["bd09", "BD09", "bd-09", "BD-09", "baidu", "Baidu"])
def test_normalize_bd09_aliases(name):
    assert normalize_crs(name) == "bd09"


@pytest.mark.parametrize(
    "name, expected",
    [("EPSG:32651", "EPSG:32651"), ("epsg:32651", "EPSG:32651"), ("EPSG:4547", "EPSG:4547"),
     ("3857", "EPSG:3857")],
)
def test_normalize_other_epsg(name, expected):
    assert normalize_crs(name) == expected


@pytest.mark.parametrize("bad", ["mars", "EPSG:999999", "gcj03", "", "EPSG:", None, 3.5])
def test_unknown_crs_error_names_value_and_accepted(bad):
    with pytest.raises(UnknownCRSError) as info:
        normalize_crs(bad)
    message = str(info.value)
    assert repr(bad) in message
    for accepted in ACCEPTED_CRS_NAMES:
        assert accepted in message
    assert isinstance(info.value, ValueError)


def test_conversions_reject_unknown_crs():
    with pytest.raises(UnknownCRSError):
        to_wgs84(121.47, 31.23, "mars")
    with pytest.raises(UnknownCRSError):
        to_working(121.47, 31.23, "wgs84", working_crs="nowhere")


# --------------------------------------------------------------------------- EPSG systems


def test_epsg_4490_is_wgs84():
    lon, lat = PEOPLES_SQUARE
    assert to_wgs84(lon, lat, "EPSG:4490") == (lon, lat)
    assert from_wgs84(lon, lat, "EPSG:4490") == (lon, lat)
    assert to_working(lon, lat, "EPSG:4490") == to_working(lon, lat, "wgs84")


def test_epsg_32651_round_trip(shanghai_grid):
    lon, lat = shanghai_grid
    x, y = to_working(lon, lat, "wgs84")
    assert np.all((x > 150_000) & (x < 500_000))
    assert np.all((y > 3_390_000) & (y < 3_540_000))
    back_lon, back_lat = to_wgs84(x, y, "EPSG:32651")
    assert metres(lon, lat, back_lon, back_lat).max() < 0.001
    fx, fy = from_wgs84(lon, lat, "EPSG:32651")
    assert np.array_equal(fx, x) and np.array_equal(fy, y)


def test_to_working_matches_pyproj_directly():
    lon, lat = PEOPLES_SQUARE
    transformer = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
    expected = transformer.transform(lon, lat)
    x, y = to_working(lon, lat, "WGS84")
    assert abs(x - expected[0]) < 1e-6 and abs(y - expected[1]) < 1e-6


def test_to_working_from_gcj02_and_bd09_goes_through_wgs84():
    lon, lat = PEOPLES_SQUARE
    g = wgs84_to_gcj02(lon, lat)
    b = wgs84_to_bd09(lon, lat)
    x0, y0 = to_working(lon, lat, "wgs84")
    for reading, crs in ((g, "gcj02"), (b, "bd09")):
        x, y = to_working(*reading, crs)
        assert np.hypot(x - x0, y - y0) < 1.0


def test_to_working_between_projected_systems():
    x, y = to_working(354_000.0, 3_456_000.0, "EPSG:32651", working_crs="EPSG:32651")
    assert (x, y) == (354_000.0, 3_456_000.0)
    x2, y2 = to_working(354_000.0, 3_456_000.0, "EPSG:32651", working_crs="EPSG:3857")
    lon, lat = to_wgs84(x2, y2, "EPSG:3857")
    blon, blat = to_wgs84(354_000.0, 3_456_000.0, "EPSG:32651")
    assert metres(lon, lat, blon, blat) < 0.001


def test_transformers_are_cached():
    coords._transformer.cache_clear()
    to_working(121.47, 31.23, "wgs84")
    to_working([121.48], [31.24], "wgs84")
    info = coords._transformer.cache_info()
    assert info.misses == 1 and info.hits >= 1


# --------------------------------------------------------------------------- alternative readings


def test_alternative_readings_for_wgs84_declaration():
    lon, lat = PEOPLES_SQUARE
    readings = alternative_readings(lon, lat, "WGS-84")
    assert set(readings) == {"gcj02", "bd09"}
    assert readings["gcj02"] == gcj02_to_wgs84(lon, lat)
    assert readings["bd09"] == bd09_to_wgs84(lon, lat)


def test_alternative_readings_recover_a_misdeclared_point():
    true_lon, true_lat = PEOPLES_SQUARE
    amap_lon, amap_lat = wgs84_to_gcj02(true_lon, true_lat)  # phone sent GCJ-02 ...
    readings = alternative_readings(amap_lon, amap_lat, "wgs84")  # ... but declared WGS84
    lon, lat = readings["gcj02"]
    assert metres(true_lon, true_lat, lon, lat) < 1.0
    assert set(alternative_readings(amap_lon, amap_lat, "bd09")) == {"wgs84", "gcj02"}
    as_wgs84 = alternative_readings(amap_lon, amap_lat, "gcj02")["wgs84"]
    assert as_wgs84 == (amap_lon, amap_lat)


def test_alternative_readings_vectorised_and_projected_input():
    lon = np.array([121.47, 121.48, 121.49])
    lat = np.array([31.22, 31.23, 31.24])
    readings = alternative_readings(lon, lat, "gcj02")
    assert readings["wgs84"][0].shape == (3,)
    projected = alternative_readings(354_000.0, 3_456_000.0, "EPSG:32651")
    assert set(projected) == {"wgs84", "gcj02", "bd09"}
    assert all(np.isnan(v).all() for pair in projected.values() for v in pair)


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09", "EPSG:32651", "EPSG:3857"])
def test_convert_point_gives_the_array_functions_numbers(crs):
    from gridroute.grids.coords import convert_point

    lon, lat = 121.4812345, 31.2301234
    if crs.startswith("EPSG"):
        lon, lat = (float(v) for v in coords.from_wgs84(lon, lat, crs))
    wlon, wlat, x, y = convert_point(lon, lat, crs, "EPSG:32651")
    assert (wlon, wlat) == pytest.approx(tuple(float(v) for v in coords.to_wgs84(lon, lat, crs)),
                                         abs=1e-9)
    assert (x, y) == pytest.approx(
        tuple(float(v) for v in coords.to_working(lon, lat, crs, "EPSG:32651")), abs=1e-6)
