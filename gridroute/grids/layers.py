"""Grid layers: cell codes, reading grid files and the loaded :class:`GridLayer` (网格图层).

A unit grid cell (单元网格) code is, in the default scheme "15", 6 district (区县) + 3 street
(街道) + 3 community (社区/居委) + 3 cell digits; the district, street and community codes are
prefixes of the cell code. :func:`load_grid` reads a file (GeoJSON, GeoPackage, Shapefile) or a
GeoDataFrame, validates and repairs it (:mod:`gridroute.grids.validate`), reprojects it to the
metric working CRS and derives the upper layers (社区, 街道, 区) by dissolving cells.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import shapely

from gridroute.grids.codes import CodeScheme
from gridroute.grids.validate import GridIssue, ValidationReport, validate_grid

__all__ = [
    "CodeScheme",
    "GridLayer",
    "GridLoadError",
    "GridValidationError",
    "load_grid",
    "read_grid_file",
    "read_street_names",
]

CELL_COLUMNS = [
    "cell_code",
    "community_code",
    "street_code",
    "district_code",
    "community_name",
    "street_name",
    "district_name",
    "tags",
]


class GridLoadError(Exception):
    """A grid file cannot be found or read (网格文件读取失败)."""


class GridValidationError(Exception):
    """The grid has hard errors; ``str()`` is the full validation report (网格校验未通过)."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.render())

    def __str__(self) -> str:
        return self.report.render()


# ---------------------------------------------------------------------------------------
# reading


def read_grid_file(path: str | os.PathLike) -> "gpd.GeoDataFrame":  # noqa: F821
    """Read a GeoJSON / GeoPackage / Shapefile with pyogrio into a GeoDataFrame."""
    import pyogrio

    p = Path(path)
    if not p.exists():
        raise GridLoadError(f"grid file not found: {p}")
    if p.is_dir() and not any(p.glob("*.shp")):
        raise GridLoadError(f"grid path is a directory without a shapefile: {p}")
    try:
        gdf = pyogrio.read_dataframe(p)
    except Exception as exc:  # pyogrio raises several DataSourceError/DataLayerError types
        raise GridLoadError(f"cannot read grid file {p}: {exc}") from exc
    if not hasattr(gdf, "geometry") or "geometry" not in getattr(gdf, "columns", []):
        raise GridLoadError(f"grid file {p} has no geometry column")
    return gdf


def read_street_names(source: str | os.PathLike | Mapping[str, str]) -> dict[str, str]:
    """Street code → name side table (街道名称表) from a dict, a CSV or a JSON file.

    CSV: columns ``street_code``/``code`` and ``street_name``/``name``/``name_zh``.
    JSON: a flat ``{code: name}`` object, a list of such rows, or
    ``{"district": {"code": ...}, "streets": [{"seq": ..., "name_zh": ...}]}``.
    """
    if isinstance(source, Mapping):
        return {str(k): str(v) for k, v in source.items()}
    p = Path(source)
    if not p.exists():
        raise GridLoadError(f"street names file not found: {p}")

    def from_rows(rows, prefix: str = "") -> dict[str, str]:
        out = {}
        for r in rows:
            code = r.get("street_code") or r.get("code")
            if not code and r.get("seq") is not None:
                code = prefix + str(r["seq"])
            name = r.get("street_name") or r.get("name") or r.get("name_zh")
            if code and name:
                out[str(code).strip()] = str(name).strip()
        return out

    try:
        if p.suffix.lower() == ".json":
            data = json.loads(p.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "streets" in data:
                prefix = str((data.get("district") or {}).get("code", ""))
                return from_rows(data["streets"], prefix)
            if isinstance(data, list):
                return from_rows(data)
            return {str(k): str(v) for k, v in data.items()}
        with p.open(encoding="utf-8-sig", newline="") as fh:
            return from_rows(csv.DictReader(fh))
    except (OSError, ValueError, AttributeError) as exc:
        raise GridLoadError(f"cannot read street names file {p}: {exc}") from exc


# ---------------------------------------------------------------------------------------
# the layer


@dataclass
class GridLayer:
    """Cells and the layers dissolved from them, in the working CRS (网格图层)."""

    cells: Any
    communities: Any = None
    streets: Any = None
    districts: Any = None
    working_crs: str = "EPSG:32651"
    content_hash: str = ""
    source_path: str | None = None
    scheme: CodeScheme = field(default_factory=CodeScheme)

    def __post_init__(self) -> None:
        if self.communities is None:
            self.communities = _dissolve(self.cells, "community_code", "community_name")
        if self.streets is None:
            self.streets = _dissolve(self.cells, "street_code", "street_name")
        if self.districts is None:
            self.districts = _dissolve(self.cells, "district_code", "district_name")
        if not self.content_hash:
            self.content_hash = content_hash(self.cells)

    def __len__(self) -> int:
        return len(self.cells)

    def summary(self) -> dict:
        """Plain data for pages: counts and, per street, code, name, communities, cells."""
        cells = self.cells
        streets = []
        for code, grp in sorted(_groupby(cells, "street_code").items()):
            names = [n for n in grp["street_name"].tolist() if n]
            streets.append({
                "code": code,
                "name": names[0] if names else None,
                "community_count": int(grp["community_code"].dropna().nunique()),
                "cell_count": int(len(grp)),
            })
        districts = []
        for code, grp in sorted(_groupby(cells, "district_code").items()):
            names = [n for n in grp["district_name"].tolist() if n]
            districts.append({
                "code": code,
                "name": names[0] if names else None,
                "street_count": int(grp["street_code"].dropna().nunique()),
                "cell_count": int(len(grp)),
            })
        return {
            "source_path": self.source_path,
            "working_crs": self.working_crs,
            "content_hash": self.content_hash,
            "scheme": self.scheme.name,
            "cell_count": int(len(cells)),
            "community_count": int(cells["community_code"].dropna().nunique()),
            "street_count": int(cells["street_code"].dropna().nunique()),
            "district_count": int(cells["district_code"].dropna().nunique()),
            "area_m2": float(shapely.area(np.asarray(cells.geometry.values)).sum()),
            "districts": districts,
            "streets": streets,
        }


def _groupby(df, column: str) -> dict:
    return {k: g for k, g in df.groupby(column, sort=True, dropna=True)}


def _dissolve(cells, code_col: str, name_col: str):
    import geopandas as gpd

    rows = []
    for code, grp in _groupby(cells, code_col).items():
        names = [n for n in grp[name_col].tolist() if n]
        row = {
            "code": code,
            "name": names[0] if names else None,
            "cell_count": int(len(grp)),
            "geometry": shapely.union_all(np.asarray(grp.geometry.values)),
        }
        if code_col != "community_code":
            row["community_count"] = int(grp["community_code"].dropna().nunique())
        rows.append(row)
    cols = ["code", "name", "cell_count"]
    if code_col != "community_code":
        cols.append("community_count")
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=cells.crs)
    return gpd.GeoDataFrame(rows, columns=cols + ["geometry"], geometry="geometry", crs=cells.crs)


def _hash_geometry(geom) -> bytes:
    parts = [p for p in shapely.get_parts(geom) if not p.is_empty]
    if not parts:
        return b""
    rounded = shapely.transform(np.asarray(parts, dtype=object), lambda c: np.round(c, 2) + 0.0)
    g = rounded[0] if len(rounded) == 1 else shapely.MultiPolygon(list(rounded))
    return shapely.to_wkb(shapely.normalize(g), output_dimension=2, byte_order=1)


def content_hash(cells) -> str:
    """sha256 over cells sorted by code: codes, names, tags and geometry rounded to 1 cm."""
    h = hashlib.sha256()
    order = np.argsort(np.asarray(cells["cell_code"].astype(str).values), kind="stable")
    geoms = np.asarray(cells.geometry.values, dtype=object)
    attrs = [c for c in CELL_COLUMNS if c in cells.columns]
    records = {c: cells[c].tolist() for c in attrs}
    for i in order.tolist():
        payload = [records[c][i] if c != "tags" else list(records[c][i]) for c in attrs]
        h.update(json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8"))
        h.update(_hash_geometry(geoms[i]))
        h.update(b"\x00")
    return h.hexdigest()


def _find_column(gdf, name: str | None, truncated: bool = True) -> str | None:
    """Column by exact name, case-insensitively, or as truncated by Shapefile (10 chars).

    Code columns pass ``truncated=False``: "community_code" and "community_name" both become
    "community_" in a Shapefile, and that column holds the name.
    """
    if not name:
        return None
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    if name in cols:
        return name
    lower = {str(c).lower(): c for c in cols}
    if name.lower() in lower:
        return lower[name.lower()]
    if not truncated:
        return None
    return lower.get(name.lower()[:10])


def _clean_code(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        if float(v).is_integer():
            return str(int(v))
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    s = str(v).strip()
    return s or None


def _clean_text(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def _parse_tags(v) -> tuple[str, ...]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ()
    if isinstance(v, (list, tuple, np.ndarray)):
        return tuple(str(t).strip() for t in v if str(t).strip())
    s = str(v).strip()
    if not s:
        return ()
    if s.startswith("["):
        try:
            data = json.loads(s)
            if isinstance(data, list):
                return tuple(str(t).strip() for t in data if str(t).strip())
        except ValueError:
            pass
    for sep in (";", "|", ","):
        if sep in s:
            return tuple(t.strip() for t in s.split(sep) if t.strip())
    return (s,)


def _reproject(gdf, source_crs: str | None, working_crs: str):
    """Reproject to the working CRS; GCJ-02 / BD-09 sources go through coords.to_working."""
    from gridroute.grids import coords

    target = coords.normalize_crs(working_crs)
    if source_crs is None:
        return gdf.to_crs(target if target != "wgs84" else "EPSG:4326")
    src = coords.normalize_crs(source_crs)
    geoms = np.asarray(gdf.geometry.values, dtype=object)

    def conv(xy: np.ndarray) -> np.ndarray:
        if len(xy) == 0:
            return xy
        x, y = coords.to_working(xy[:, 0], xy[:, 1], src, target)
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])

    moved = shapely.transform(geoms, conv)
    out = gdf.set_geometry(list(moved), crs=None)
    return out.set_crs("EPSG:4326" if target == "wgs84" else target, allow_override=True)


def load_grid(
    path_or_gdf,
    *,
    working_crs: str = "EPSG:32651",
    scheme: CodeScheme | None = None,
    code_column: str = "cell_code",
    community_code_column: str = "community_code",
    street_code_column: str = "street_code",
    district_code_column: str = "district_code",
    community_name_column: str = "community_name",
    street_name_column: str = "street_name",
    district_name_column: str = "district_name",
    tags_column: str = "tags",
    street_names: str | os.PathLike | Mapping[str, str] | None = None,
    source_crs: str | None = None,
    repair_max_area_change: float = 0.001,
    overlap_tolerance_m2: float = 1.0,
    gap_tolerance_m2: float = 1.0,
) -> tuple[GridLayer, ValidationReport]:
    """Read, validate, repair and reproject a grid; derive community/street/district codes.

    ``source_crs`` overrides the CRS the file declares (e.g. ``"gcj02"`` for a file whose
    coordinates are Amap longitude/latitude). A missing CRS is a hard error. Raises
    :class:`GridLoadError` for unreadable input and :class:`GridValidationError` (its ``str``
    is the report) when the report has errors.
    """
    import geopandas as gpd

    scheme = scheme or CodeScheme()
    if isinstance(path_or_gdf, gpd.GeoDataFrame):
        raw = path_or_gdf.copy()
        source = None
    else:
        source = str(path_or_gdf)
        raw = read_grid_file(path_or_gdf)

    code_col = _find_column(raw, code_column, truncated=False)
    if code_col is None:
        report = ValidationReport(cell_count=len(raw), source=source)
        report.issues.append(GridIssue("error", "missing_code_column", (),
                                       f"no column {code_column!r} with cell codes"))
        raise GridValidationError(report)

    # normalise columns before validation so codes are strings
    df = gpd.GeoDataFrame({"cell_code": [_clean_code(v) for v in raw[code_col].tolist()]},
                          geometry=list(raw.geometry.values), crs=raw.crs)
    explicit = {}
    for target, name in (("community_code", community_code_column),
                         ("street_code", street_code_column),
                         ("district_code", district_code_column)):
        col = _find_column(raw, name, truncated=False)
        explicit[target] = [_clean_code(v) for v in raw[col].tolist()] if col else [None] * len(raw)
    texts = {}
    for target, name in (("community_name", community_name_column),
                         ("street_name", street_name_column),
                         ("district_name", district_name_column)):
        col = _find_column(raw, name)
        texts[target] = [_clean_text(v) for v in raw[col].tolist()] if col else [None] * len(raw)
    tcol = _find_column(raw, tags_column)
    tags = [_parse_tags(v) for v in raw[tcol].tolist()] if tcol else [()] * len(raw)

    codes = df["cell_code"].tolist()

    def derive(kind: str, fn) -> list[str | None]:
        return [e if e is not None else (fn(c) if c is not None and scheme.matches(c) else None)
                for e, c in zip(explicit[kind], codes)]

    df["community_code"] = derive("community_code", scheme.community)
    df["street_code"] = derive("street_code", scheme.street)
    df["district_code"] = derive("district_code", scheme.district)

    if df.crs is None and source_crs is None:
        report = validate_grid(df, scheme, repair_max_area_change=repair_max_area_change,
                               overlap_tolerance_m2=overlap_tolerance_m2,
                               gap_tolerance_m2=gap_tolerance_m2, source=source)
        raise GridValidationError(report)

    try:
        df = _reproject(df, source_crs, working_crs)
    except Exception as exc:
        raise GridLoadError(f"cannot reproject grid to {working_crs}: {exc}") from exc

    report = validate_grid(df, scheme, repair_max_area_change=repair_max_area_change,
                           overlap_tolerance_m2=overlap_tolerance_m2,
                           gap_tolerance_m2=gap_tolerance_m2, source=source)
    if report.has_errors:
        raise GridValidationError(report)
    cells = report.gdf

    if street_names is not None:
        table = read_street_names(street_names)
        texts["street_name"] = [
            n if n is not None else table.get(s) for n, s in
            zip(texts["street_name"], cells["street_code"].tolist())
        ]
    import pandas as pd

    for k, v in texts.items():
        cells[k] = pd.Series(v, index=cells.index, dtype=object)
    cells["tags"] = pd.Series(tags, index=cells.index, dtype=object)
    cells = cells[CELL_COLUMNS + ["geometry"]]
    cells = cells.sort_values("cell_code", kind="stable").reset_index(drop=True)
    layer = GridLayer(cells=cells, working_crs=str(working_crs), source_path=source,
                      scheme=scheme)
    return layer, report
