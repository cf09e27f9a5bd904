"""Checks on a grid layer before it is used for routing (网格数据质量检查).

:func:`validate_grid` takes the cells already reprojected to the metric working CRS and returns a
:class:`ValidationReport`: a list of :class:`GridIssue` (``error`` stops loading, ``warning`` is
shown, ``repaired`` says what was fixed) plus the repaired GeoDataFrame.

Checks: missing CRS, empty or non-polygonal geometry, invalid geometry (repaired with
``shapely.make_valid`` keeping polygonal parts when the area changes by at most
``repair_max_area_change``), duplicate and malformed cell codes, overlaps between cells larger
than ``overlap_tolerance_m2`` and gaps (holes not covered by any cell) inside a street (街道)
larger than ``gap_tolerance_m2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

import numpy as np
import shapely

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from gridroute.grids.layers import CodeScheme

__all__ = ["GridIssue", "ValidationReport", "check_placement", "validate_grid", "polygonal_part"]

SEVERITIES = ("error", "warning", "repaired")
_MAX_CODES_IN_LINE = 20


@dataclass(frozen=True)
class GridIssue:
    """One finding of the validation (问题): severity, kind, the cells concerned, a message."""

    severity: str
    kind: str
    cell_codes: tuple[str, ...]
    message: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        object.__setattr__(self, "cell_codes", tuple(str(c) for c in self.cell_codes))

    def line(self) -> str:
        codes = list(self.cell_codes)
        shown = ", ".join(codes[:_MAX_CODES_IN_LINE])
        if len(codes) > _MAX_CODES_IN_LINE:
            shown += f", … (+{len(codes) - _MAX_CODES_IN_LINE} more)"
        where = f" [{shown}]" if codes else ""
        return f"{self.severity.upper()} {self.kind}{where}: {self.message}"


@dataclass
class ValidationReport:
    """Result of :func:`validate_grid`; ``render()`` gives the text shown to people."""

    issues: list[GridIssue] = field(default_factory=list)
    gdf: "gpd.GeoDataFrame | None" = None
    cell_count: int = 0
    source: str | None = None

    @property
    def errors(self) -> list[GridIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[GridIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def repaired(self) -> list[GridIssue]:
        return [i for i in self.issues if i.severity == "repaired"]

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def kinds(self, severity: str | None = None) -> list[str]:
        return [i.kind for i in self.issues if severity is None or i.severity == severity]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for i in self.issues if i.severity == s) for s in SEVERITIES}

    def render(self) -> str:
        c = self.counts()

        def plural(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        head = "Grid validation"
        if self.source:
            head += f" of {self.source}"
        lines = [
            f"{head}: {plural(self.cell_count, 'cell')}, {plural(c['error'], 'error')}, "
            f"{plural(c['warning'], 'warning')}, {c['repaired']} repaired"
        ]
        order = {"error": 0, "warning": 1, "repaired": 2}
        for issue in sorted(self.issues, key=lambda i: order[i.severity]):
            lines.append("  " + issue.line())
        if not self.issues:
            lines.append("  OK: no problems found")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def polygonal_part(geom):
    """Keep only the polygonal parts of a geometry (Polygon / MultiPolygon or None)."""
    if geom is None or geom.is_empty:
        return None
    gtype = shapely.get_type_id(geom)
    if gtype in (3, 6):  # Polygon, MultiPolygon
        return geom
    if gtype == 7:  # GeometryCollection
        polys = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
        flat: list = []
        for p in polys:
            flat.extend(shapely.get_parts(p) if shapely.get_type_id(p) == 6 else [p])
        if not flat:
            return None
        return flat[0] if len(flat) == 1 else shapely.MultiPolygon(flat)
    return None


def _row_label(i: int) -> str:
    """A cell without a code is named by its row, numbered as in the file (from 1)."""
    return f"row {i + 1}"


def _codes_of(gdf, code_column: str) -> list[str]:
    if code_column not in gdf.columns:
        return [_row_label(i) for i in range(len(gdf))]
    values = gdf[code_column].tolist()
    if set(map(type, values)) <= {str}:  # the usual column: nothing to name or convert
        return values
    out = []
    for i, v in enumerate(values):
        missing = v is None or (isinstance(v, float) and np.isnan(v))
        out.append(_row_label(i) if missing else str(v))
    return out


def _rows(indices) -> str:
    shown = [str(i + 1) for i in indices[:_MAX_CODES_IN_LINE]]
    more = len(indices) - len(shown)
    return ", ".join(shown) + (f", … (+{more} more)" if more > 0 else "")


def validate_grid(
    gdf: "gpd.GeoDataFrame",
    scheme: "CodeScheme | None" = None,
    *,
    code_column: str = "cell_code",
    street_column: str | None = "street_code",
    repair_max_area_change: float = 0.001,
    overlap_tolerance_m2: float = 1.0,
    gap_tolerance_m2: float = 1.0,
    source: str | None = None,
) -> ValidationReport:
    """Validate (and repair) grid cells given in the metric working CRS (网格校验).

    ``street_column`` names the street code column used to group cells for the gap check; when
    that column is missing the street code is the scheme's prefix of the cell code.
    Returns a report whose ``gdf`` is a copy of the input with repaired geometries.
    """
    if scheme is None:
        from gridroute.grids.layers import CodeScheme

        scheme = CodeScheme()
    issues: list[GridIssue] = []
    gdf = gdf.copy()
    codes = _codes_of(gdf, code_column)
    n = len(gdf)

    # --- CRS --------------------------------------------------------------------------
    crs_missing = gdf.crs is None
    if crs_missing:
        issues.append(
            GridIssue("error", "missing_crs", (), "the grid file declares no coordinate "
                      "reference system; set one (e.g. EPSG:4326) before loading")
        )
    elif not gdf.crs.is_projected:
        issues.append(
            GridIssue("warning", "geographic_crs", (), f"cells are in {gdf.crs.to_string()}; "
                      "area tolerances assume metres (use a projected working CRS)")
        )

    # --- codes ------------------------------------------------------------------------
    if code_column not in gdf.columns:
        issues.append(GridIssue("error", "missing_code_column", (),
                                f"no column {code_column!r} with cell codes"))
    else:
        has_code = [not (c.startswith("row ") and c == _row_label(i))
                    for i, c in enumerate(codes)]
        missing = [codes[i] for i, ok in enumerate(has_code) if not ok]
        if missing:
            issues.append(GridIssue("error", "missing_code", tuple(missing),
                                    f"{len(missing)} cell(s) have no cell code (rows numbered "
                                    "as in the file, from 1)"))
        bad = [c for c, ok, m in zip(codes, has_code, scheme.matching(codes)) if ok and not m]
        if bad:
            issues.append(GridIssue(
                "error", "bad_code", tuple(bad),
                f"{len(bad)} code(s) do not match scheme {scheme.name!r} "
                f"({scheme.total_len} digits: {scheme.layout()})"))
        seen: dict[str, list[int]] = {}
        present = [c for c, ok in zip(codes, has_code) if ok]
        for i, (c, ok) in enumerate(zip(codes, has_code) if len(set(present)) < len(present)
                                    else ()):
            if ok:
                seen.setdefault(c, []).append(i)
        for c, rows in sorted(seen.items()):
            if len(rows) > 1:
                issues.append(GridIssue("error", "duplicate_code", (c,),
                                        f"{len(rows)} cells share this code (rows "
                                        f"{_rows(rows)})"))

    # --- geometry: empty, non-polygonal, invalid ---------------------------------------------
    geoms = np.asarray(gdf.geometry.values, dtype=object).copy() if n else np.empty(0, object)
    usable = np.ones(n, dtype=bool)
    kinds = shapely.get_type_id(geoms) if n else np.empty(0, dtype=int)  # None → -1
    empty = np.flatnonzero((kinds < 0) | shapely.is_empty(geoms)).tolist() if n else []
    if empty:
        usable[empty] = False
        issues.append(GridIssue("error", "empty_geometry", tuple(codes[i] for i in empty),
                                f"{len(empty)} cell(s) have no geometry"))
    for i in np.flatnonzero(usable & ~np.isin(kinds, (3, 6, 7))).tolist():
        usable[i] = False
        issues.append(GridIssue("error", "not_polygon", (codes[i],),
                                f"geometry is a {geoms[i].geom_type}, not a polygon"))
    if n:
        valid = np.zeros(n, dtype=bool)
        valid[usable] = shapely.is_valid(geoms[usable])
        for i in np.flatnonzero(usable & ~valid):
            g = geoms[i]
            reason = shapely.is_valid_reason(g)
            old_area = float(shapely.area(g))
            fixed = polygonal_part(shapely.make_valid(g))
            new_area = 0.0 if fixed is None else float(shapely.area(fixed))
            if fixed is None or new_area == 0.0:
                usable[i] = False
                issues.append(GridIssue("error", "invalid_geometry", (codes[i],),
                                        f"{reason}; repair leaves no polygon area"))
                continue
            change = abs(new_area - old_area) / old_area if old_area > 0 else float("inf")
            if change <= repair_max_area_change:
                geoms[i] = fixed
                issues.append(GridIssue(
                    "repaired", "invalid_geometry", (codes[i],),
                    f"{reason}; repaired with make_valid (area {old_area:.2f} → "
                    f"{new_area:.2f} m², change {change:.4%})"))
            else:
                usable[i] = False
                pct = "∞" if change == float("inf") else f"{change:.2%}"
                issues.append(GridIssue(
                    "error", "invalid_geometry", (codes[i],),
                    f"{reason}; make_valid would change the area from {old_area:.2f} to "
                    f"{new_area:.2f} m² ({pct} > {repair_max_area_change:.2%} allowed): "
                    "fix the polygon in the source file"))
        # a GeometryCollection that is valid still needs reducing to polygons
        for i in np.flatnonzero(usable & (shapely.get_type_id(geoms) == 7)):
            fixed = polygonal_part(geoms[i])
            if fixed is None:
                usable[i] = False
                issues.append(GridIssue("error", "not_polygon", (codes[i],),
                                        "geometry collection without polygons"))
            else:
                geoms[i] = fixed
        gdf = gdf.set_geometry(geoms, crs=gdf.crs)

    # --- overlaps and gaps (need metres) --------------------------------------------------
    idx = np.flatnonzero(usable)
    if crs_missing:
        if len(idx):
            issues.append(GridIssue("warning", "skipped_checks", (),
                                    "overlap and gap checks skipped: no CRS"))
    elif len(idx) > 1:
        # A valid polygonal coverage (edges matched, interiors disjoint: GEOS CoverageValidator)
        # has no overlaps at all, and its streets can be merged by a coverage union, twenty
        # times faster than a general union. Anything else takes the general path.
        clean = bool(shapely.coverage_is_valid(geoms[idx]))
        if not clean:
            issues.extend(_overlaps(geoms[idx], [codes[i] for i in idx], overlap_tolerance_m2))
        if street_column and street_column in gdf.columns:
            streets = [None if v is None else str(v) for v in gdf[street_column].tolist()]
        else:
            streets = scheme.parents_of(codes)["street"]
        issues.extend(_gaps(geoms, codes, streets, idx, gap_tolerance_m2, clean))

    return ValidationReport(issues=issues, gdf=gdf, cell_count=n, source=source)


def _overlaps(geoms: np.ndarray, codes: list[str], tol: float) -> Iterable[GridIssue]:
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return []
    shapely.prepare(geoms)
    touching = shapely.touches(geoms[a], geoms[b])
    a, b = a[~touching], b[~touching]
    if not len(a):
        return []
    areas = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    out: list[GridIssue] = []
    small: list[tuple[str, str, float]] = []
    for i, j, area in zip(a.tolist(), b.tolist(), areas.tolist()):
        ci, cj = sorted((codes[i], codes[j]))
        if area > tol:
            out.append(GridIssue("error", "overlap", (ci, cj),
                                 f"cells overlap by {area:.2f} m² (tolerance {tol:g} m²)"))
        elif area > 0:
            small.append((ci, cj, area))
    if small:
        flat = tuple(c for pair in small for c in pair[:2])
        total = sum(s[2] for s in small)
        out.append(GridIssue("warning", "small_overlap", flat,
                             f"{len(small)} cell pair(s) overlap by at most {tol:g} m² "
                             f"(total {total:.3f} m²); tolerated"))
    out.sort(key=lambda i: i.cell_codes)
    return out


def _gaps(geoms, codes, streets, idx, tol: float, clean: bool = False) -> Iterable[GridIssue]:
    if clean and not shapely.get_num_interior_rings(
            shapely.get_parts(shapely.coverage_union_all(geoms[idx]))).any():
        # An uncovered area inside a street is an uncovered area inside the whole grid: a
        # grid whose union has no hole has no gap in any street (one union instead of one
        # per street, a fifth of the time).
        return []
    groups: dict[str, list[int]] = {}
    for i in idx.tolist():
        if streets[i] is not None:
            groups.setdefault(streets[i], []).append(i)
    all_tree = shapely.STRtree(geoms[idx])
    out: list[GridIssue] = []
    small = 0
    small_area = 0.0
    for street, members in sorted(groups.items()):
        union = (shapely.coverage_union_all(geoms[members]) if clean
                 else shapely.union_all(geoms[members]))
        holes = []
        for part in shapely.get_parts(union):
            if shapely.get_type_id(part) != 3:
                continue
            for ring in part.interiors:
                holes.append(shapely.Polygon(ring))
        for hole in holes:
            if hole.area <= 0:
                continue
            near = idx[all_tree.query(hole, predicate="intersects")]
            uncovered = hole
            if len(near):
                uncovered = shapely.difference(hole, shapely.union_all(geoms[near]))
            area = float(shapely.area(uncovered))
            if area > tol:
                around = sorted(
                    codes[i] for i in members
                    if shapely.intersects(geoms[i], hole.exterior)
                )
                c = hole.representative_point()
                out.append(GridIssue(
                    "error", "gap", tuple(around),
                    f"street {street} has a {area:.2f} m² hole covered by no cell near "
                    f"({c.x:.1f}, {c.y:.1f}) (tolerance {tol:g} m²)"))
            elif area > 0:
                small += 1
                small_area += area
    if small:
        out.append(GridIssue("warning", "small_gap", (),
                             f"{small} hole(s) inside streets of at most {tol:g} m² "
                             f"(total {small_area:.3f} m²); tolerated"))
    return out


# --------------------------------------------------------------------------- placement

# Wider than any city: a grid whose extent in a metric CRS spans less than this many units
# and lies within ±180/±90 holds degrees, not metres.
_DEGREE_SPAN = 10.0
# How far (degrees) outside the working CRS's area of use a grid may reach.
_AREA_MARGIN_DEG = 1.0


def _area_of_use(crs_name: str):
    import pyproj

    area = pyproj.CRS.from_user_input(crs_name).area_of_use
    return None if area is None else area.bounds


def _intersects(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _fmt_bounds(b) -> str:
    return f"x {b[0]:.6g}…{b[2]:.6g}, y {b[1]:.6g}…{b[3]:.6g}"


def check_placement(bounds, declared_crs: str, geographic: bool,
                    working_crs: str) -> list[GridIssue]:
    """Coordinates that cannot be what the CRS says (坐标与坐标系不符), as errors.

    ``bounds`` (xmin, ymin, xmax, ymax) are in ``declared_crs``, before any reprojection:

    * ``degrees_in_metric_crs``: a projected CRS, but a tiny extent within ±180/±90;
    * ``swapped_axes``: a longitude/latitude CRS whose x looks like latitude and y like
      longitude (y beyond ±90, or only the swapped reading lies in the working area);
    * ``far_from_working_area``: the extent (as WGS84) does not meet the working CRS's area of
      use (widened by one degree).
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not all(np.isfinite([xmin, ymin, xmax, ymax])):
        return []
    area = _area_of_use(working_crs)
    if area is not None:
        m = _AREA_MARGIN_DEG
        area = (area[0] - m, area[1] - m, area[2] + m, area[3] + m)
    looks_degrees = (-180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90
                     and max(xmax - xmin, ymax - ymin) < _DEGREE_SPAN)
    if not geographic:
        if looks_degrees:
            return [GridIssue("error", "degrees_in_metric_crs", (),
                              f"coordinates ({_fmt_bounds(bounds)}) look like degrees, but "
                              f"{declared_crs} counts metres: the file's CRS is wrong (declare "
                              "the real one, e.g. --source-crs wgs84)")]
        return _far(bounds, declared_crs, area, working_crs)
    swapped_bounds = (ymin, xmin, ymax, xmax)
    plain_ok = -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90
    swapped_ok = -180 <= ymin and ymax <= 180 and -90 <= xmin and xmax <= 90
    if swapped_ok and (not plain_ok or (area is not None and not _intersects(bounds, area)
                                        and _intersects(swapped_bounds, area))):
        return [GridIssue("error", "swapped_axes", (),
                          f"axes look swapped: x ({xmin:.6g}…{xmax:.6g}) reads as latitude and "
                          f"y ({ymin:.6g}…{ymax:.6g}) as longitude; write longitude as x and "
                          "latitude as y")]
    if not plain_ok:
        return [GridIssue("error", "not_lonlat", (),
                          f"coordinates ({_fmt_bounds(bounds)}) are not longitude/latitude, but "
                          f"{declared_crs} is a longitude/latitude CRS: the file's CRS is wrong")]
    return _far(bounds, declared_crs, area, working_crs, lonlat=True)


def _far(bounds, declared_crs, area, working_crs, lonlat: bool = False) -> list[GridIssue]:
    if area is None:
        return []
    if lonlat:
        wgs = bounds
    else:
        import pyproj

        try:
            t = pyproj.Transformer.from_crs(declared_crs, "EPSG:4326", always_xy=True)
            wgs = t.transform_bounds(*bounds)
        except Exception:  # noqa: BLE001 - a CRS pyproj cannot invert: nothing to compare
            return []
    if not all(np.isfinite(wgs)) or _intersects(wgs, area):
        return []
    return [GridIssue("error", "far_from_working_area", (),
                      f"the grid lies at lon {wgs[0]:.4f}…{wgs[2]:.4f}, lat {wgs[1]:.4f}…"
                      f"{wgs[3]:.4f}, far from the area of the working CRS {working_crs} "
                      f"(lon {area[0] + _AREA_MARGIN_DEG:g}…{area[2] - _AREA_MARGIN_DEG:g}, "
                      f"lat {area[1] + _AREA_MARGIN_DEG:g}…{area[3] - _AREA_MARGIN_DEG:g})")]
