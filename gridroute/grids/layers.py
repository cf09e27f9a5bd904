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
from gridroute.grids.validate import GridIssue, ValidationReport, check_placement, validate_grid

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


_SIGNATURES = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel workbook, or zipped files: unzip it first)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"), (b"SQLite format 3", "an SQLite database"),
)


def describe_file(p: Path) -> str:
    """What a file that is not a grid looks like, for the error message (文件类型)."""
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if not head:
        return "an empty file (0 bytes)"
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head.decode("gb18030")
        except UnicodeDecodeError:
            return "binary data of an unknown format"
    first = text.lstrip("\ufeff").strip().splitlines()[0] if text.strip() else ""
    if not first:
        return "a text file with only blank lines"
    if first.startswith(("{", "[")):
        return "JSON text that is not GeoJSON"
    if "," in first or "\t" in first:
        return f"a table of text (CSV) with header {first[:80]!r}"
    return f"a text file starting {first[:60]!r}"


def list_layers(path: str | os.PathLike) -> list[tuple[str, str]]:
    """(name, geometry type) of each layer of a data source (a Shapefile folder: its files)."""
    import pyogrio

    try:
        return [(str(n), str(g)) for n, g in pyogrio.list_layers(path)]
    except Exception:  # noqa: BLE001 - pyogrio raises several DataSourceError types
        return []


def read_grid_file(path: str | os.PathLike, layer: str | None = None
                   ) -> "gpd.GeoDataFrame":  # noqa: F821
    """Read a GeoJSON / GeoPackage / Shapefile (or a folder of Shapefiles) with pyogrio.

    A source with several layers needs ``layer``; the error lists them. A file that is empty,
    holds no features or is not geographic data is refused with what it is.
    """
    import pyogrio

    p = Path(path)
    if not p.exists():
        raise GridLoadError(f"grid file not found: {p}")
    if p.is_file() and p.stat().st_size == 0:
        raise GridLoadError(f"grid file {p} is empty (0 bytes)")
    layers = list_layers(p)
    if not layers:
        if p.is_dir():
            raise GridLoadError(f"grid path {p} is a folder without a Shapefile or other "
                                "grid file GDAL can open")
        raise GridLoadError(f"{p} is not a grid file: it is {describe_file(p)} "
                            "(expected GeoJSON, GeoPackage or Shapefile)")
    names = [n for n, _ in layers]
    listing = ", ".join(f"{n} ({g or 'no geometry'})" for n, g in layers)
    if layer is None and len(layers) > 1:
        raise GridLoadError(f"{p} has {len(layers)} layers: {listing}; choose one with --layer")
    if layer is not None and layer not in names:
        raise GridLoadError(f"{p} has no layer {layer!r}; its layers: {listing}")
    chosen = layer if layer is not None else names[0]
    try:
        try:  # through Arrow: half the time of the row-by-row reader
            gdf = pyogrio.read_dataframe(p, layer=chosen, use_arrow=True)
        except Exception:  # noqa: BLE001 - whatever Arrow cannot read, the plain reader tries
            gdf = pyogrio.read_dataframe(p, layer=chosen)
    except Exception as exc:  # pyogrio raises several DataSourceError/DataLayerError types
        raise GridLoadError(f"cannot read grid file {p}: {exc}") from exc
    where = f"{p}" + (f" layer {chosen!r}" if len(layers) > 1 or layer else "")
    if not hasattr(gdf, "geometry") or "geometry" not in getattr(gdf, "columns", []):
        cols = ", ".join(str(c) for c in list(getattr(gdf, "columns", []))[:8])
        raise GridLoadError(f"{where} is a table without geometry ({len(gdf)} rows; columns "
                            f"{cols or 'none'}): not a grid")
    if len(gdf) == 0:
        raise GridLoadError(f"{where} holds no features (0 cells)")
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


class GridLayer:
    """Cells and the layers dissolved from them, in the working CRS (网格图层).

    The dissolved layers (社区, 街道, 区) and the content hash are computed on first use:
    locating needs neither, and each costs as much as the index build on a city's grid.
    """

    def __init__(self, cells, communities=None, streets=None, districts=None,
                 working_crs: str = "EPSG:32651", content_hash: str = "",
                 source_path: str | None = None, scheme: CodeScheme | None = None) -> None:
        self.cells = cells
        self.working_crs = working_crs
        self.source_path = source_path
        self.scheme = scheme or CodeScheme()
        self._derived = {"communities": communities, "streets": streets,
                         "districts": districts}
        self._content_hash = content_hash or None

    def _layer(self, name: str, code_col: str, name_col: str):
        if self._derived[name] is None:
            self._derived[name] = _dissolve(self.cells, code_col, name_col)
        return self._derived[name]

    @property
    def communities(self):
        return self._layer("communities", "community_code", "community_name")

    @property
    def streets(self):
        return self._layer("streets", "street_code", "street_name")

    @property
    def districts(self):
        return self._layer("districts", "district_code", "district_name")

    @property
    def content_hash(self) -> str:
        if self._content_hash is None:
            self._content_hash = content_hash(self.cells)
        return self._content_hash

    def derived_computed(self) -> dict[str, bool]:
        """Which lazy parts exist yet (for tests and diagnostics)."""
        done = {k: v is not None for k, v in self._derived.items()}
        done["content_hash"] = self._content_hash is not None
        return done

    def __len__(self) -> int:
        return len(self.cells)

    def summary(self) -> dict:
        """Plain data for pages: counts and, per street, code, name, communities, cells."""
        cells = self.cells

        def counts(level: str, below: str) -> list[dict]:
            out = []
            for code, grp in sorted(_groupby(cells, f"{level}_code").items()):
                names = [n for n in grp[f"{level}_name"].tolist() if n]
                out.append({"code": code, "name": names[0] if names else None,
                            f"{below}_count": int(grp[f"{below}_code"].dropna().nunique()),
                            "cell_count": int(len(grp))})
            return out

        streets = counts("street", "community")
        districts = counts("district", "street")
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


def _geometry_hash_bytes(geoms: np.ndarray) -> list[bytes]:
    """`_hash_geometry` of every geometry, in bulk: one rounding, normalising and WKB pass
    over all polygons (the same bytes; per geometry it was most of the hashing time)."""
    n = len(geoms)
    out = [b""] * n
    if not n:
        return out
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = ~shapely.is_empty(parts)
    parts, owner = parts[keep], owner[keep]
    if not len(parts):
        return out
    rounded = shapely.transform(parts, lambda c: np.round(c, 2) + 0.0)
    counts = np.bincount(owner, minlength=n)
    whole = np.empty(n, dtype=object)
    single = counts[owner] == 1
    whole[owner[single]] = rounded[single]
    for i in np.flatnonzero(counts > 1).tolist():
        whole[i] = shapely.MultiPolygon(list(rounded[owner == i]))
    present = np.flatnonzero(counts > 0)
    wkb = shapely.to_wkb(shapely.normalize(whole[present]), output_dimension=2, byte_order=1)
    for i, b in zip(present.tolist(), wkb.tolist()):
        out[i] = b
    return out


def content_hash(cells) -> str:
    """sha256 over cells sorted by code: codes, names, tags and geometry rounded to 1 cm."""
    h = hashlib.sha256()
    order = np.argsort(np.asarray(cells["cell_code"].astype(str).values), kind="stable")
    geoms = np.asarray(cells.geometry.values, dtype=object)
    attrs = [c for c in CELL_COLUMNS if c in cells.columns]
    records = {c: cells[c].tolist() for c in attrs}
    if "tags" in records:
        records["tags"] = [list(v) for v in records["tags"]]
    rows = list(zip(*(records[c] for c in attrs))) if attrs else [()] * len(geoms)
    geometry = _geometry_hash_bytes(geoms)
    dumps = json.dumps
    h.update(b"".join(
        dumps(list(rows[i]), ensure_ascii=False, default=str).encode("utf-8") + geometry[i]
        + b"\x00" for i in order.tolist()))
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


def _clean_codes(values: list) -> list[str | None]:
    """`_clean_code` of each value (text columns, the usual case, in one pass)."""
    if set(map(type, values)) <= {str}:
        return [v.strip() or None for v in values]
    return [_clean_code(v) for v in values]


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
    out = gdf.set_geometry(moved, crs=None)
    return out.set_crs("EPSG:4326" if target == "wgs84" else target, allow_override=True)


def _placement(df, source_crs: str | None, working_crs: str) -> list[GridIssue]:
    """`check_placement` on the cells as read, in the CRS they declare."""
    import pyproj

    from gridroute.grids import coords

    geoms = np.asarray(df.geometry.values, dtype=object)
    geoms = geoms[~shapely.is_missing(geoms)] if len(geoms) else geoms
    if not len(geoms):
        return []
    if source_crs is not None:
        name = coords.normalize_crs(source_crs)
        geographic = name in coords.COMMON_CRS or pyproj.CRS.from_user_input(name).is_geographic
        declared = "EPSG:4326" if name in coords.COMMON_CRS else name
        label = name
    else:
        geographic = bool(df.crs.is_geographic)
        declared = df.crs
        label = df.crs.to_string()
    target = coords.normalize_crs(working_crs)
    issues = check_placement(shapely.total_bounds(geoms), declared, geographic,
                             "EPSG:4326" if target in coords.COMMON_CRS else target)
    return [GridIssue(i.severity, i.kind, i.cell_codes,
                      i.message.replace(str(declared), label, 1)) for i in issues]


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
    layer: str | None = None,
    force: bool = False,
) -> tuple[GridLayer, ValidationReport]:
    """Read, validate, repair and reproject a grid; derive community/street/district codes.

    ``source_crs`` overrides the CRS the file declares (e.g. ``"gcj02"`` for a file whose
    coordinates are Amap longitude/latitude). A missing CRS is a hard error, and so are
    coordinates that cannot be in the declared CRS (degrees under a metric CRS, swapped axes,
    an extent far from the working CRS's area; see ``check_placement``) unless ``force``,
    which reports them as warnings. ``layer`` picks one layer of a multi-layer source. Raises
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
        raw = read_grid_file(path_or_gdf, layer=layer)

    code_col = _find_column(raw, code_column, truncated=False)
    if code_col is None:
        report = ValidationReport(cell_count=len(raw), source=source)
        report.issues.append(GridIssue("error", "missing_code_column", (),
                                       f"no column {code_column!r} with cell codes"))
        raise GridValidationError(report)

    # normalise columns before validation so codes are strings
    df = gpd.GeoDataFrame({"cell_code": _clean_codes(raw[code_col].tolist())},
                          geometry=np.asarray(raw.geometry.values, dtype=object), crs=raw.crs)
    explicit = {}
    for target, name in (("community_code", community_code_column),
                         ("street_code", street_code_column),
                         ("district_code", district_code_column)):
        col = _find_column(raw, name, truncated=False)
        explicit[target] = _clean_codes(raw[col].tolist()) if col else [None] * len(raw)
    texts = {}
    for target, name in (("community_name", community_name_column),
                         ("street_name", street_name_column),
                         ("district_name", district_name_column)):
        col = _find_column(raw, name)
        texts[target] = [_clean_text(v) for v in raw[col].tolist()] if col else [None] * len(raw)
    tcol = _find_column(raw, tags_column)
    tags = [_parse_tags(v) for v in raw[tcol].tolist()] if tcol else [()] * len(raw)

    parents = scheme.parents_of(df["cell_code"].tolist())

    def derive(kind: str, level: str) -> list[str | None]:
        return [e if e is not None else p for e, p in zip(explicit[kind], parents[level])]

    df["community_code"] = derive("community_code", "community")
    df["street_code"] = derive("street_code", "street")
    df["district_code"] = derive("district_code", "district")

    if df.crs is None and source_crs is None:
        report = validate_grid(df, scheme, repair_max_area_change=repair_max_area_change,
                               overlap_tolerance_m2=overlap_tolerance_m2,
                               gap_tolerance_m2=gap_tolerance_m2, source=source)
        raise GridValidationError(report)

    placement = _placement(df, source_crs, working_crs)
    if placement and not force:
        raise GridValidationError(ValidationReport(
            issues=placement + [GridIssue("warning", "forced", (), "use --force to load it "
                                          "anyway")], cell_count=len(df), source=source))
    try:
        df = _reproject(df, source_crs, working_crs)
    except Exception as exc:
        raise GridLoadError(f"cannot reproject grid to {working_crs}: {exc}") from exc

    report = validate_grid(df, scheme, repair_max_area_change=repair_max_area_change,
                           overlap_tolerance_m2=overlap_tolerance_m2,
                           gap_tolerance_m2=gap_tolerance_m2, source=source)
    report.issues[:0] = [GridIssue("warning", i.kind, i.cell_codes, i.message + " (--force)")
                         for i in placement]
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
