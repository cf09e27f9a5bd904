"""Coordinate systems used by grid-based urban management (坐标系).

Reports reach the router in several coordinate systems:

* WGS84 / CGCS2000 (国家2000坐标系) — GNSS receivers and official data; at map scale the two are
  treated as the same system here.
* GCJ-02 (国测局坐标, "火星坐标") — Amap / Tencent SDKs; an obfuscating offset of roughly 480 m in
  central Shanghai, applied only inside mainland China's rough bounding box.
* BD-09 (百度坐标) — Baidu; a further offset on top of GCJ-02.
* any EPSG coordinate reference system pyproj knows (e.g. the working CRS EPSG:32651, UTM 51N).

Every function is array-first, like shapely 2: longitude/latitude (or x/y) may be Python
scalars, sequences or numpy arrays; they are broadcast together and the results are float
arrays of the broadcast shape (a 0-d result is returned as a numpy float scalar).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pyproj
from pyproj.exceptions import CRSError

__all__ = [
    "ACCEPTED_CRS_NAMES",
    "COMMON_CRS",
    "convert_point",
    "UnknownCRSError",
    "normalize_crs",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "to_wgs84",
    "from_wgs84",
    "to_working",
    "alternative_readings",
    "in_china_bbox",
]

ACCEPTED_CRS_NAMES = ("wgs84", "gcj02", "bd09", "EPSG:<n>")
"""Canonical names returned by :func:`normalize_crs` (``EPSG:<n>`` stands for any EPSG code)."""

COMMON_CRS = ("wgs84", "gcj02", "bd09")
"""Longitude/latitude systems phones report in (GNSS, Amap/Tencent, Baidu)."""

WORKING_CRS = "EPSG:32651"
"""Default metric working CRS for Shanghai (WGS 84 / UTM zone 51N)."""

# Krasovsky 1940 ellipsoid as used by the published GCJ-02 algorithm.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
# BD-09 constant.
_X_PI = np.pi * 3000.0 / 180.0
# Rough bounding box of mainland China in which GCJ-02 applies its offset.
_CHINA_LON_MIN, _CHINA_LON_MAX = 72.004, 137.8347
_CHINA_LAT_MIN, _CHINA_LAT_MAX = 0.8293, 55.8271

_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_ITER = 30

_WGS84_ALIASES = frozenset({"wgs84", "epsg:4326", "4326", "cgcs2000", "epsg:4490", "4490"})
_GCJ02_ALIASES = frozenset({"gcj02", "gcj", "amap", "tencent"})
_BD09_ALIASES = frozenset({"bd09", "baidu", "bd09ll"})
_EPSG_RE = re.compile(r"^(?:epsg:)?(\d{4,6})$")


class UnknownCRSError(ValueError):
    """A coordinate system name that is not understood (未知坐标系)."""

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(
            f"unknown coordinate reference system {value!r}; "
            f"accepted names: {', '.join(ACCEPTED_CRS_NAMES)} "
            "(aliases: WGS-84, CGCS2000, EPSG:4326, EPSG:4490, GCJ-02, BD-09, baidu)"
        )


# ---------------------------------------------------------------------------
# names


@functools.lru_cache(maxsize=256)
def _epsg_known(code: int) -> bool:
    try:
        pyproj.CRS.from_epsg(code)
    except CRSError:
        return False
    return True


def normalize_crs(name: str | int) -> str:
    """Return the canonical name of a coordinate system (坐标系名称规范化).

    Case-insensitive; hyphens, underscores and spaces are ignored in the short names.
    ``wgs84``/``WGS-84``/``EPSG:4326``/``4326``/``cgcs2000``/``EPSG:4490`` → ``"wgs84"``,
    ``gcj02``/``gcj-02`` → ``"gcj02"``, ``bd09``/``bd-09``/``baidu`` → ``"bd09"``; any other
    ``EPSG:<n>`` (or bare ``<n>``) that pyproj knows → ``"EPSG:<n>"``.

    Raises :class:`UnknownCRSError` for anything else.
    """
    if isinstance(name, bool) or not isinstance(name, (str, int, np.integer)):
        raise UnknownCRSError(name)
    return _normalize_text(str(name))


@functools.lru_cache(maxsize=256)
def _normalize_text(name: str) -> str:
    """Cached: intake normalises the same few names for every report (failures not cached)."""
    text = name.strip().lower()
    squeezed = re.sub(r"[\s_\-]", "", text)
    if squeezed in _WGS84_ALIASES:
        return "wgs84"
    if squeezed in _GCJ02_ALIASES:
        return "gcj02"
    if squeezed in _BD09_ALIASES:
        return "bd09"
    match = _EPSG_RE.match(squeezed)
    if match:
        code = int(match.group(1))
        if code in (4326, 4490):
            return "wgs84"
        if _epsg_known(code):
            return f"EPSG:{code}"
    raise UnknownCRSError(name)


# ---------------------------------------------------------------------------
# helpers


def _as_pair(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon_arr, lat_arr = np.broadcast_arrays(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    )
    return np.array(lon_arr, dtype=float), np.array(lat_arr, dtype=float)


def _out(arr: np.ndarray):
    arr = np.asarray(arr, dtype=float)
    return arr[()] if arr.ndim == 0 else arr


def in_china_bbox(lon, lat):
    """True where a point is inside the rough mainland-China box where GCJ-02 is offset."""
    lon_arr, lat_arr = _as_pair(lon, lat)
    inside = (
        (lon_arr >= _CHINA_LON_MIN)
        & (lon_arr <= _CHINA_LON_MAX)
        & (lat_arr >= _CHINA_LAT_MIN)
        & (lat_arr <= _CHINA_LAT_MAX)
    )
    return inside[()] if inside.ndim == 0 else inside


# ---------------------------------------------------------------------------
# GCJ-02 (国测局坐标)


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj02_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 offset (degrees) at a WGS84 point; zero outside the China box."""
    x = lon - 105.0
    y = lat - 35.0
    dlat = _transform_lat(x, y)
    dlon = _transform_lon(x, y)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = np.asarray(in_china_bbox(lon, lat))
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02 (published algorithm; identity outside mainland China's box)."""
    lon_arr, lat_arr = _as_pair(lon, lat)
    dlon, dlat = _gcj02_delta(lon_arr, lat_arr)
    return _out(lon_arr + dlon), _out(lat_arr + dlat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS84 by fixed-point iteration of the forward transform (< 1e-7°)."""
    g_lon, g_lat = _as_pair(lon, lat)
    dlon, dlat = _gcj02_delta(g_lon, g_lat)
    return _invert(wgs84_to_gcj02, g_lon, g_lat, g_lon - dlon, g_lat - dlat)


def _invert(forward, lon: np.ndarray, lat: np.ndarray, guess_lon: np.ndarray,
            guess_lat: np.ndarray):
    """Solve ``forward(x, y) = (lon, lat)`` by fixed-point iteration from a first guess: the
    published offsets have no closed-form inverse, but move so little that each step gains
    orders of magnitude (stops below ``_INVERSE_TOLERANCE_DEG``)."""
    x, y = guess_lon, guess_lat
    for _ in range(_INVERSE_MAX_ITER):
        f_lon, f_lat = forward(x, y)
        err_lon = np.asarray(f_lon) - lon
        err_lat = np.asarray(f_lat) - lat
        x = x - err_lon
        y = y - err_lat
        if np.all(np.abs(err_lon) < _INVERSE_TOLERANCE_DEG) and np.all(
            np.abs(err_lat) < _INVERSE_TOLERANCE_DEG
        ):
            break
    return _out(x), _out(y)


# ---------------------------------------------------------------------------
# BD-09 (百度坐标)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (published Baidu formula)."""
    x, y = _as_pair(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _out(z * np.cos(theta) + 0.0065), _out(z * np.sin(theta) + 0.006)


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02: the published approximate inverse refined by iteration (< 1e-7°)."""
    b_lon, b_lat = _as_pair(lon, lat)
    x = b_lon - 0.0065
    y = b_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, b_lon, b_lat, z * np.cos(theta), z * np.sin(theta))


def wgs84_to_bd09(lon, lat):
    """WGS84 → BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# ---------------------------------------------------------------------------
# generic conversions


def _pyproj_name(crs: str) -> str:
    return "EPSG:4326" if crs == "wgs84" else crs


@functools.lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(
        _pyproj_name(source), _pyproj_name(target), always_xy=True
    )


def _pyproj_transform(source: str, target: str, x, y):
    xx, yy = _as_pair(x, y)
    out_x, out_y = _transformer(source, target).transform(xx, yy)
    return _out(out_x), _out(out_y)


# GCJ-02 and BD-09 are offsets of WGS84 with published formulas: (to WGS84, from WGS84)
_OFFSET_SYSTEMS = {"gcj02": (gcj02_to_wgs84, wgs84_to_gcj02),
                   "bd09": (bd09_to_wgs84, wgs84_to_bd09)}


def _convert(lon, lat, crs: str, to: bool):
    name = normalize_crs(crs)
    if name == "wgs84":
        lon_arr, lat_arr = _as_pair(lon, lat)
        return _out(lon_arr), _out(lat_arr)
    if name in _OFFSET_SYSTEMS:
        return _OFFSET_SYSTEMS[name][0 if to else 1](lon, lat)
    return _pyproj_transform(name, "wgs84", lon, lat) if to else \
        _pyproj_transform("wgs84", name, lon, lat)


def to_wgs84(lon, lat, crs: str):
    """Convert coordinates declared in ``crs`` to WGS84 longitude/latitude (转WGS84)."""
    return _convert(lon, lat, crs, to=True)


def from_wgs84(lon, lat, crs: str):
    """Convert WGS84 longitude/latitude to coordinates in ``crs`` (WGS84转目标坐标系)."""
    return _convert(lon, lat, crs, to=False)


def to_working(lon, lat, crs: str, working_crs: str = WORKING_CRS):
    """Convert coordinates declared in ``crs`` to the metric working CRS (工作坐标系, metres)."""
    source = normalize_crs(crs)
    target = normalize_crs(working_crs)
    if source == target:
        x, y = _as_pair(lon, lat)
        return _out(x), _out(y)
    if source.startswith("EPSG:") and target.startswith("EPSG:"):
        return _pyproj_transform(source, target, lon, lat)
    return from_wgs84(*to_wgs84(lon, lat, source), target)


def convert_point(lon: float, lat: float, crs: str,
                  working_crs: str = WORKING_CRS) -> tuple[float, float, float, float]:
    """One point (the intake path): ``(wgs84_lon, wgs84_lat, x, y)`` as plain floats, the same
    numbers `to_wgs84` and `to_working` give, without array set-up per call."""
    source = normalize_crs(crs)
    target = normalize_crs(working_crs)
    if source == "wgs84":
        wlon, wlat = float(lon), float(lat)
    elif source in ("gcj02", "bd09"):
        wlon, wlat = (float(v) for v in to_wgs84(lon, lat, source))
    else:
        wlon, wlat = _transformer(source, "wgs84").transform(float(lon), float(lat))
    if source == target:
        return wlon, wlat, float(lon), float(lat)
    if source.startswith("EPSG:") and target.startswith("EPSG:"):
        x, y = _transformer(source, target).transform(float(lon), float(lat))
    else:
        x, y = _transformer("wgs84", target).transform(wlon, wlat)
    return wlon, wlat, float(x), float(y)


def alternative_readings(lon, lat, declared: str) -> dict[str, tuple]:
    """WGS84 positions of the same numbers read in the other common systems (其他坐标系解读).

    For each of ``wgs84``/``gcj02``/``bd09`` other than ``declared``, the WGS84 point the given
    numbers would denote had they been in that system. Used to tell a reporter, e.g., "this
    point would be inside the managed area if it were GCJ-02". Values that are not valid
    longitude/latitude (e.g. when ``declared`` is a projected CRS) give NaN.
    """
    name = normalize_crs(declared)
    lon_arr, lat_arr = _as_pair(lon, lat)
    valid = (np.abs(lon_arr) <= 180.0) & (np.abs(lat_arr) <= 90.0)
    safe_lon = np.where(valid, lon_arr, 0.0)
    safe_lat = np.where(valid, lat_arr, 0.0)
    readings: dict[str, tuple] = {}
    for other in COMMON_CRS:
        if other == name:
            continue
        w_lon, w_lat = to_wgs84(safe_lon, safe_lat, other)
        readings[other] = (
            _out(np.where(valid, w_lon, np.nan)),
            _out(np.where(valid, w_lat, np.nan)),
        )
    return readings
