"""Point → grid cell lookup (网格定位), array-first and exact.

Semantics, for a point in the working CRS (metres):

* strictly inside one cell → that cell, status ``"inside"``;
* on the boundary of a cell (an edge or vertex, possibly shared by several cells), or claimed by
  several cells → the cell with the smallest cell code among the cells that intersect the point
  (shapely ``intersects`` semantics), status ``"boundary"``;
* outside every cell but within ``snap_m`` metres of one → the nearest cell (ties → smallest
  code), status ``"snapped"``, ``distance_m`` = the distance;
* farther → status ``"outside"``, codes ``None``, ``distance_m`` NaN.

Holes belong to no cell; MultiPolygon cells are indexed part by part.

Index: a uniform raster of square buckets over the grid's extent (a fraction of the median cell
size). Each bucket is either *pure* (its closed square lies in the interior of exactly one cell:
answered by one array lookup), *far* (no cell within ``snap_m``: outside), *near* (no cell in
the bucket, but maybe one within ``snap_m``: nearest-cell search) or *mixed* (touched by a cell
boundary: a short candidate list, tested exactly with shapely's prepared ``intersects_xy`` /
``contains_xy``). Buckets touched by boundaries are found by walking every edge across the
raster with a small safety margin, so a pure bucket is never wrong; pure buckets are labelled by
an even-odd scanline fill at bucket centres, which lie at least half a bucket from any edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Sequence

import numpy as np
import shapely

__all__ = ["LocateResult", "LocateStatus", "Locator", "PointLocation", "STATUSES"]


class LocateStatus(StrEnum):
    """How a point relates to the grid (see the module docstring)."""

    INSIDE = "inside"
    BOUNDARY = "boundary"
    SNAPPED = "snapped"
    OUTSIDE = "outside"


# In this order: the batch locator's status codes index it (plain text for columnar output).
STATUSES: tuple[str, ...] = tuple(s.value for s in LocateStatus)

INDEX_FORMAT = 3
"""Version of the index layout and build rules; bump it whenever either changes, so cached
indexes built by older code are rebuilt (see gridroute.grids.cache)."""

_OUTSIDE_FAR = -1
_SLICE = 16_384  # edges walked at a time (smaller slices: less fresh memory to fault in)
_OUTSIDE_NEAR = -2
_MIXED_BASE = -3  # mixed bucket k is stored as -3 - k
_EDGE_EPS = 1e-6  # safety margin of the edge walk, in bucket units
# Shewchuk's orient2d filter bound (3 + 16 eps) eps, doubled for margin.
_ORIENT_ERR = 2 * (3.0 + 16.0 * 2.0**-53) * 2.0**-53


@dataclass
class _Edges:
    """The distinct edges of all rings (see ``Locator._unique_edges``)."""

    table: np.ndarray  # (ax, ay, bx, by), endpoints in lexicographic order
    edge_of: np.ndarray  # per ring segment: its edge
    left_cell: np.ndarray  # cell whose interior lies left of the edge (-1 none; max if several)
    right_cell: np.ndarray  # ... right of it
    multi: np.ndarray  # several cells on one side (overlaps, repeated edges)
    d_cnt: np.ndarray  # change of the cell count crossing the edge towards +u
    d_lab: np.ndarray  # change of the sum of (cell + 1) crossing it towards +u
    first_cell: np.ndarray  # the cells of its occurrences: first, second (-1 none) ...
    second_cell: np.ndarray
    count: np.ndarray  # ... how many ...
    starts: np.ndarray  # ... and where they start in occ_cell
    occ_cell: np.ndarray


@dataclass(frozen=True)
class PointLocation:
    """Where one point is (单点定位结果)."""

    cell_code: str | None
    community_code: str | None
    street_code: str | None
    district_code: str | None
    status: LocateStatus
    distance_m: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell_code": self.cell_code,
            "community_code": self.community_code,
            "street_code": self.street_code,
            "district_code": self.district_code,
            "status": self.status,
            "distance_m": None if math.isnan(self.distance_m) else self.distance_m,
        }


@dataclass
class LocateResult:
    """Locations of many points as parallel numpy arrays (批量定位结果)."""

    cell_code: np.ndarray
    community_code: np.ndarray
    street_code: np.ndarray
    district_code: np.ndarray
    status: np.ndarray
    distance_m: np.ndarray

    def __len__(self) -> int:
        return len(self.status)

    def row(self, i: int) -> PointLocation:
        return PointLocation(
            cell_code=self.cell_code[i],
            community_code=self.community_code[i],
            street_code=self.street_code[i],
            district_code=self.district_code[i],
            status=LocateStatus(self.status[i]),
            distance_m=float(self.distance_m[i]),
        )

    def rows(self) -> list[PointLocation]:
        return [self.row(i) for i in range(len(self))]


_OUTSIDE_POINT = PointLocation(None, None, None, None, LocateStatus.OUTSIDE, float("nan"))


def _opt_codes(values, n: int, shared: bool = False) -> np.ndarray:
    """Codes per cell as an object array with a trailing None for "no cell". ``shared``: the
    cells of one community (street, district) get one string object, so that taking the
    codes of a million points touches a few hundred objects, not one per cell."""
    out = np.empty(n + 1, dtype=object)  # last slot: None for "no cell"
    out[:] = None
    if values is not None:
        vals = list(values)
        if len(vals) != n:
            raise ValueError(f"expected {n} codes, got {len(vals)}")
        if not set(map(type, vals)) <= {str, type(None)}:
            vals = [None if v is None else str(v) for v in vals]
        if shared:
            pool = dict(zip(vals, vals))  # one object per distinct code
            vals = list(map(pool.__getitem__, vals))
        out[:n] = vals
    return out


class Locator:
    """Exact, fast point-in-cell index over a grid layer (网格定位索引)."""

    def __init__(
        self,
        grid=None,
        snap_m: float = 50.0,
        *,
        bucket_m: float | None = None,
        max_buckets: int = 16_000_000,
    ) -> None:
        if grid is None:
            raise TypeError("Locator needs a GridLayer; use Locator.from_geometries otherwise")
        cells = grid.cells
        self._build(
            codes=cells["cell_code"].tolist(),
            geoms=np.asarray(cells.geometry.values, dtype=object),
            community_codes=cells["community_code"].tolist(),
            street_codes=cells["street_code"].tolist(),
            district_codes=cells["district_code"].tolist(),
            working_crs=grid.working_crs,
            snap_m=snap_m,
            bucket_m=bucket_m,
            max_buckets=max_buckets,
        )

    @classmethod
    def from_geometries(
        cls,
        codes: Sequence[str],
        geoms,
        community_codes: Sequence[str | None] | None = None,
        street_codes: Sequence[str | None] | None = None,
        district_codes: Sequence[str | None] | None = None,
        *,
        working_crs: str = "EPSG:32651",
        snap_m: float = 50.0,
        scheme=None,
        bucket_m: float | None = None,
        max_buckets: int = 16_000_000,
    ) -> "Locator":
        """Build from cell codes and polygons already in the working CRS.

        Community/street/district codes not given are derived from the cell codes with
        ``scheme`` (default :class:`CodeScheme`) where the codes match it.
        """
        from gridroute.grids.codes import CodeScheme

        scheme = scheme or CodeScheme()
        codes = [c if type(c) is str else str(c) for c in codes]
        parents = None
        if community_codes is None or street_codes is None or district_codes is None:
            parents = scheme.parents_of(codes)

        def derive(given, level):
            return list(given) if given is not None else parents[level]

        self = cls.__new__(cls)
        self._build(
            codes=codes,
            geoms=np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms,
                             dtype=object),
            community_codes=derive(community_codes, "community"),
            street_codes=derive(street_codes, "street"),
            district_codes=derive(district_codes, "district"),
            working_crs=working_crs,
            snap_m=snap_m,
            bucket_m=bucket_m,
            max_buckets=max_buckets,
        )
        return self

    # ------------------------------------------------------------------------------ build

    def _build(self, *, codes, geoms, community_codes, street_codes, district_codes,
               working_crs, snap_m, bucket_m, max_buckets) -> None:
        n = len(codes)
        if len(geoms) != n:
            raise ValueError(f"{n} codes but {len(geoms)} geometries")
        if len(set(codes)) != n:
            raise ValueError("cell codes must be unique")
        if snap_m < 0 or not math.isfinite(snap_m):
            raise ValueError("snap_m must be a finite number ≥ 0")
        self.working_crs = working_crs
        self.snap_m = float(snap_m)
        order = np.array(sorted(range(n), key=codes.__getitem__), dtype=np.int64)
        geoms = np.asarray(geoms, dtype=object)[order] if n else np.empty(0, dtype=object)
        self._geoms = geoms
        self._n = n

        def in_order(values):
            values = np.empty(0, dtype=object) if not n else np.asarray(
                values if isinstance(values, list) else list(values), dtype=object)
            if values.ndim != 1 or len(values) != n:
                raise ValueError(f"expected {n} codes, got {len(values)}")
            return values[order].tolist()

        self._codes = _opt_codes(in_order(codes), n)  # index order = code order
        self._community = _opt_codes(in_order(community_codes), n, shared=True)
        self._street = _opt_codes(in_order(street_codes), n, shared=True)
        self._district = _opt_codes(in_order(district_codes), n, shared=True)
        self._codes_list = self._codes.tolist()
        self._community_list = self._community.tolist()
        self._street_list = self._street.tolist()
        self._district_list = self._district.tolist()
        self._transformers: dict[str, Any] = {}

        if n:
            kind = shapely.get_type_id(geoms)
            bad_mask = ~np.isin(kind, (3, 6)) | shapely.is_empty(geoms)
            bad = [self._codes[i] for i in np.flatnonzero(bad_mask)]
            if bad:
                raise ValueError(f"cells without polygon geometry: {', '.join(bad[:10])}")
        shapely.prepare(geoms)
        self._prepared = None  # all prepared

        if n and (shapely.get_type_id(geoms) == 3).all():  # all Polygons: no copies
            parts, part_cell = geoms, np.arange(n)
        else:
            parts, part_cell = shapely.get_parts(geoms, return_index=True)
        self._parts = parts
        self._part_cell = part_cell.astype(np.int32)
        self._tree = shapely.STRtree(parts)

        if n == 0:
            self._x0 = self._y0 = 0.0
            self._s = 1.0
            self._ncols = self._nrows = 1
            self._lab = np.full(1, _OUTSIDE_FAR, dtype=np.int32)
            self._cand_off = np.zeros(1, dtype=np.int64)
            self._m_seg = self._m_left = self._m_right = np.zeros(0, dtype=np.int32)
            self._seg_table = np.zeros((0, 4))
            self._cand = np.zeros(0, dtype=np.int32)
            return

        self._no_holes = not shapely.get_num_interior_rings(parts).any()
        segs, seg_part, seg_left, areas = self._ring_segments(parts, self._no_holes)
        xmin, ymin = segs[:, 0::2].min(axis=0).min(), segs[:, 1::2].min(axis=0).min()
        xmax, ymax = segs[:, 0::2].max(axis=0).max(), segs[:, 1::2].max(axis=0).max()
        side = math.sqrt(float(np.median(areas))) if len(areas) else 1.0
        margin = self.snap_m
        width = (xmax - xmin) + 2 * margin
        height = (ymax - ymin) + 2 * margin
        s = bucket_m if bucket_m else max(side / 10.0, 1e-3)
        min_s = math.sqrt(max(width * height, 1e-12) / max_buckets)
        s = max(s, min_s, max(width, height) / 65000.0)
        ncols = int(math.floor(width / s)) + 3
        nrows = int(math.floor(height / s)) + 3
        self._x0 = float(xmin - margin - s)
        self._y0 = float(ymin - margin - s)
        self._s = float(s)
        self._ncols = ncols
        self._nrows = nrows

        self._classify(segs, self._part_cell[seg_part], seg_left)

    @staticmethod
    def _ring_segments(parts, no_holes: bool = False):
        """Segments (ax, ay, bx, by) of every ring, their part, interior-on-the-left, and the
        area of each part."""
        if no_holes:
            return Locator._exterior_segments(parts)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        is_ext = np.ones(len(rings), dtype=bool)
        is_ext[1:] = ring_part[1:] != ring_part[:-1]
        ccw = shapely.is_ccw(rings)
        interior_left = is_ext == ccw  # exterior CCW, or hole CW
        coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
        same = ring_idx[1:] == ring_idx[:-1]
        a = coords[:-1][same]
        b = coords[1:][same]
        seg_ring = ring_idx[:-1][same]
        return (np.column_stack([a, b]), ring_part[seg_ring], interior_left[seg_ring],
                shapely.area(parts))

    @staticmethod
    def _exterior_segments(parts):
        """`_ring_segments` for polygons without holes, without copying out their rings: the
        coordinates of the part are those of its exterior ring, whose orientation is the sign
        of its area (shoelace about the ring's first vertex). GEOS decides the rings where
        that sign is within the rounding error bound."""
        coords, part_idx = shapely.get_coordinates(parts, return_index=True)
        same = part_idx[1:] == part_idx[:-1]
        first = np.flatnonzero(np.r_[True, ~same])
        count = np.diff(np.append(first, len(coords)))
        rel = coords - np.repeat(coords[first], count, axis=0)
        x0, y0, x1, y1 = rel[:-1, 0], rel[:-1, 1], rel[1:, 0], rel[1:, 1]
        p, q = x0 * y1, x1 * y0
        term = np.where(same, p - q, 0.0)
        mag = np.where(same, np.abs(p) + np.abs(q), 0.0)
        del p, q, x0, y0, x1, y1
        nseg = len(term)
        idx = np.minimum(first, max(nseg - 1, 0))
        area2 = np.add.reduceat(term, idx) if nseg else np.zeros(len(first))
        bound = np.add.reduceat(mag, idx) if nseg else np.zeros(len(first))
        scale = np.abs(coords).max() if len(coords) else 0.0
        reach = np.add.reduceat(np.where(same, np.abs(np.diff(rel, axis=0)).sum(axis=1), 0.0),
                                idx) if nseg else np.zeros(len(first))
        # sum of n rounded products, and the rounding of each shift to the first vertex
        err = (4.0 * (count + 2) * bound + 4.0 * reach * scale) * 2.0**-52
        ccw = area2 > 0
        unsure = np.flatnonzero(np.abs(area2) <= err)
        if len(unsure):
            ccw[unsure] = shapely.is_ccw(shapely.get_exterior_ring(parts[part_idx[first[unsure]]]))
        ring_of = np.repeat(np.arange(len(first)), count)[:-1][same]
        segs = np.column_stack([coords[:-1][same], coords[1:][same]])
        areas = np.zeros(len(parts))
        areas[part_idx[first]] = np.abs(area2) / 2
        return segs, part_idx[:-1][same], ccw[ring_of], areas

    def _to_grid(self, x, y):
        return (np.asarray(x, dtype=float) - self._x0) / self._s, \
               (np.asarray(y, dtype=float) - self._y0) / self._s

    def _classify(self, segs: np.ndarray, seg_cell: np.ndarray, seg_left: np.ndarray) -> None:
        """Label every bucket in its named steps (see the module docstring)."""
        edges = self._unique_edges(segs, seg_cell, seg_left)
        au, av = self._to_grid(edges.table[:, 0], edges.table[:, 1])
        bu, bv = self._to_grid(edges.table[:, 2], edges.table[:, 3])
        # in slices of edges: the walk's temporaries are ten arrays per (edge, column),
        # which for a whole city would triple the peak memory of the build
        marks = [self._edge_buckets(au[i:i + _SLICE], av[i:i + _SLICE], bu[i:i + _SLICE],
                                    bv[i:i + _SLICE], offset=i)
                 for i in range(0, len(au), _SLICE)] or [(np.zeros(0, np.int64),) * 2]
        mark_bucket = np.concatenate([m[0] for m in marks])
        mark_edge = np.concatenate([m[1] for m in marks])
        del marks
        lab, fill_cnt = self._scanline_fill(au, av, bu, bv, edges)
        del au, av, bu, bv
        covered_twice = np.flatnonzero(fill_cnt > 1)
        lab[fill_cnt != 1] = _OUTSIDE_FAR  # pure where exactly one cell holds the centre
        del fill_cnt
        lab = self._mixed_buckets(mark_bucket, mark_edge, edges, lab, covered_twice)
        self._near_buckets(lab)
        self._lab = lab
        self._simple_buckets(edges, mark_bucket, mark_edge)

    @staticmethod
    def _unique_edges(segs: np.ndarray, seg_cell: np.ndarray, seg_left: np.ndarray) -> "_Edges":
        """Step 0: the distinct edges. Neighbouring cells share their edges, walked in opposite
        directions: each edge is stored once, endpoints in lexicographic order, with the
        cells it bounds on its left and on its right, so the later steps walk half as many."""
        segs = segs + 0.0  # -0.0 → 0.0: equal coordinates, equal bits
        ax, ay, bx, by = segs[:, 0], segs[:, 1], segs[:, 2], segs[:, 3]
        flip = (ax > bx) | ((ax == bx) & (ay > by))
        canon = np.where(flip[:, None], segs[:, [2, 3, 0, 1]], segs)
        left = seg_left ^ flip
        order = _group_rows(canon)
        cs = canon[order]
        del canon, flip
        new = np.ones(len(cs), dtype=bool)
        if len(cs) > 1:
            new[1:] = (cs[1:] != cs[:-1]).any(axis=1)
        starts = np.flatnonzero(new)
        table = cs[starts]
        del cs
        edge_of = np.empty(len(order), dtype=np.int32)  # per segment: its edge
        edge_of[order] = np.cumsum(new) - 1
        occ_cell = seg_cell[order].astype(np.int32)  # occurrences, grouped by edge
        occ_left = left[order]
        ne = len(table)
        count = np.diff(np.append(starts, len(order)))
        if ne:
            n_left = np.add.reduceat(occ_left.astype(np.int32), starts)
            left_cell = np.maximum.reduceat(np.where(occ_left, occ_cell, -1), starts)
            right_cell = np.maximum.reduceat(np.where(occ_left, -1, occ_cell), starts)
            # winding of each occurrence for a +u crossing (see _scanline_fill), summed per edge
            down = (table[:, 3] < table[:, 1])[np.repeat(np.arange(ne), count)]
            wind = np.where(down == occ_left, 1, -1).astype(np.int32)
            # (int32 throughout: np.add.at with values of another type is twenty times slower)
            d_cnt = np.add.reduceat(wind, starts).astype(np.int32)
            d_lab = np.add.reduceat(wind * (occ_cell + 1), starts).astype(np.int32)
        else:
            n_left = left_cell = right_cell = d_cnt = d_lab = np.zeros(0, dtype=np.int32)
        n_right = count - n_left
        # several cells on one side: overlapping cells or a repeated edge
        multi = (n_left > 1) | (n_right > 1)
        first_cell = occ_cell[starts] if ne else np.zeros(0, dtype=np.int32)
        second_cell = np.full(ne, -1, dtype=np.int32)
        two = np.flatnonzero(count >= 2)
        second_cell[two] = occ_cell[starts[two] + 1]
        return _Edges(table=table, edge_of=edge_of, left_cell=left_cell.astype(np.int32),
                      right_cell=right_cell.astype(np.int32), multi=multi, d_cnt=d_cnt,
                      d_lab=d_lab, first_cell=first_cell, second_cell=second_cell,
                      count=count, starts=starts, occ_cell=occ_cell)

    def _edge_buckets(self, au, av, bu, bv, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Step 1: every (bucket, edge) pair where the edge touches the bucket.

        A conservative supercover walk with margin ``_EDGE_EPS``: column by column along the
        edge, then the rows its span covers in that column.
        """
        eps = _EDGE_EPS
        umin, umax = np.minimum(au, bu), np.maximum(au, bu)
        vmin, vmax = np.minimum(av, bv), np.maximum(av, bv)
        c0 = np.floor(umin - eps).astype(np.int64)
        c1 = np.floor(umax + eps).astype(np.int64)
        sid, col = _expand_ranges(c0, c1 - c0 + 1)
        du = (bu - au)[sid]
        dv = (bv - av)[sid]
        ua = np.maximum(col - eps, umin[sid])
        ub = np.minimum(col + 1 + eps, umax[sid])
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = dv / du
            va = av[sid] + (ua - au[sid]) * slope
            vb = av[sid] + (ub - au[sid]) * slope
        del ua, ub, slope, dv
        vertical = du == 0
        va = np.where(vertical, vmin[sid], va)
        vb = np.where(vertical, vmax[sid], vb)
        lo = np.maximum(np.minimum(va, vb), vmin[sid]) - eps
        hi = np.minimum(np.maximum(va, vb), vmax[sid]) + eps
        del va, vb, du, vertical
        r0 = np.floor(lo).astype(np.int64)
        r1 = np.floor(hi).astype(np.int64)
        pid, row = _expand_ranges(r0, np.maximum(r1 - r0 + 1, 1))
        return row * self._ncols + col[pid], (sid[pid] + offset).astype(np.int32)

    def _scanline_fill(self, au, av, bu, bv, edges: "_Edges") -> tuple[np.ndarray, np.ndarray]:
        """Step 2: winding numbers at bucket centres, per cell, by scanlines.

        Each edge crossing a row of centres adds, at the first centre right of the crossing,
        +1 for each cell whose interior lies on its +u side and −1 for each whose interior
        lies on its −u side (and likewise ±(cell + 1)), so a row's prefix sum is the winding
        number of each centre. An edge between two cells adds 0 to the count: only the
        coverage's outline changes it. No sort is needed. Returns per bucket the sum of
        (cell + 1) over the cells holding its centre, minus one, and how many cells do
        (exactly one → that cell).
        """
        ncols, nrows = self._ncols, self._nrows
        active = np.flatnonzero((edges.d_lab != 0) | (edges.d_cnt != 0))
        au, av, bu, bv = au[active], av[active], bu[active], bv[active]
        vmin, vmax = np.minimum(av, bv), np.maximum(av, bv)
        rmin = np.ceil(vmin - 0.5).astype(np.int64)  # rows whose centre v = r + 0.5 ≥ vmin
        rmax = np.ceil(vmax - 0.5).astype(np.int64)  # ... and < vmax (half-open)
        sid, row = _expand_ranges(rmin, np.maximum(rmax - rmin, 0))
        del vmin, vmax, rmin, rmax
        with np.errstate(divide="ignore", invalid="ignore"):  # horizontal: no crossings
            inv_slope = (bu - au) / (bv - av)
        ucross = au[sid] + (row + 0.5 - av[sid]) * inv_slope[sid]
        col = np.clip(np.ceil(ucross - 0.5).astype(np.int64), 0, ncols)
        del ucross
        # a crossing right of a row's last centre lands on the next row's first bucket: the
        # row's crossings sum to 0 (closed rings), so the running sum restarts there anyway
        where = row * ncols + col
        del row, col
        size = nrows * ncols + 1
        # Accumulated in place in int16/int32 (a weighted bincount makes float64 rasters).
        cnt = np.zeros(size, dtype=np.int16)
        lab = np.zeros(size, dtype=np.int32)
        d_cnt = edges.d_cnt[active]
        outline = np.flatnonzero(d_cnt[sid] != 0)
        np.add.at(cnt, where[outline], d_cnt[sid[outline]].astype(np.int16))
        del outline
        np.add.at(lab, where, edges.d_lab[active][sid])
        del where, sid
        np.cumsum(cnt, dtype=cnt.dtype, out=cnt)  # (without dtype: summed in int64)
        np.cumsum(lab, dtype=lab.dtype, out=lab)
        lab -= 1
        return lab[:-1], cnt[:-1]

    def _mixed_buckets(self, mark_bucket, mark_edge, edges: "_Edges", lab,
                       covered_twice) -> np.ndarray:
        """Step 3: labels; buckets touched by an edge or covered by several cells are mixed,
        each with the sorted list of cells that may hold a point in it."""
        nb = self._ncols * self._nrows
        n = self._n
        bits = max(int(n).bit_length(), 1)  # key = bucket << bits | cell (divmod is slow)
        base = mark_bucket << bits
        keys = [base + edges.first_cell[mark_edge]]
        second = edges.second_cell[mark_edge]
        has = second >= 0
        keys.append(base[has] + second[has])
        del second, has
        more = np.flatnonzero(edges.count > 2)  # overlaps: an edge of three or more rings
        if len(more):
            extra = np.zeros(len(edges.count), dtype=bool)
            extra[more] = True
            mi = np.flatnonzero(extra[mark_edge])
            owner, k = _expand_ranges(edges.starts[mark_edge[mi]] + 2,
                                      edges.count[mark_edge[mi]] - 2)
            keys.append(base[mi[owner]] + edges.occ_cell[k])
        del base
        edge_mask = np.zeros(nb, dtype=bool)
        edge_mask[mark_bucket] = True
        # plus the cell covering the centre of each edge bucket (catches a cell containing
        # the whole bucket while other cells' edges cross it), unless an edge of that cell
        # crosses the bucket (it then has the key already: usually so)
        centre = lab[mark_bucket]
        listed = (centre == edges.first_cell[mark_edge]) | (centre == edges.second_cell[mark_edge])
        del centre
        edge_mask[mark_bucket[listed]] = False
        del listed
        eb = np.flatnonzero(edge_mask & (lab >= 0))
        del edge_mask
        keys.append((eb.astype(np.int64) << bits) + lab[eb])
        # overlaps and edge buckets at overlaps: exact candidates from the tree
        ob = covered_twice
        if len(ob):
            r, c = np.divmod(ob, self._ncols)
            boxes = shapely.box(self._x0 + c * self._s, self._y0 + r * self._s,
                                self._x0 + (c + 1) * self._s, self._y0 + (r + 1) * self._s)
            bi, pi = self._tree.query(boxes, predicate="intersects")
            keys.append((ob[bi].astype(np.int64) << bits) + self._part_cell[pi])
        del eb, ob
        keys = _sorted_unique(np.concatenate(keys))
        kb = keys >> bits
        kc = (keys & ((1 << bits) - 1)).astype(np.int32)
        del keys
        first = np.ones(len(kb), dtype=bool)
        first[1:] = kb[1:] != kb[:-1]
        first_idx = np.flatnonzero(first)
        mixed_buckets = kb[first_idx]
        self._cand = kc
        self._cand_off = np.append(first_idx, len(kc)).astype(np.int64)
        lab[mixed_buckets] = _MIXED_BASE - np.arange(len(mixed_buckets), dtype=np.int32)
        return lab

    def _near_buckets(self, lab: np.ndarray) -> None:
        """Step 4: outside buckets within snap_m + one bucket of a cell need a nearest search."""
        k = int(math.ceil(self.snap_m / self._s)) + 1
        occupied = (lab != _OUTSIDE_FAR).reshape(self._nrows, self._ncols)
        near = _box_dilate(occupied, k).ravel()
        lab[(lab == _OUTSIDE_FAR) & near] = _OUTSIDE_NEAR

    def _simple_buckets(self, edges: "_Edges", mark_bucket, mark_edge) -> None:
        """Step 5: mixed buckets crossed by one straight edge only: answered by a
        side-of-line test.

        Such a bucket is split by the edge into two regions free of any other boundary, so
        each lies in the interior of the cell whose ring has its interior on that side (or
        outside all cells). Points whose side is not certain in float arithmetic (within the
        orientation error bound) go through the exact shapely path.
        """
        nm = len(self._cand_off) - 1
        table = edges.table
        degenerate = (table[:, 0] == table[:, 2]) & (table[:, 1] == table[:, 3])
        mid = (_MIXED_BASE - self._lab[mark_bucket]).astype(np.int32)
        # per mixed bucket: is every mark the same edge? Write each mark's edge into its
        # bucket (any one wins), then look for a mark that differs.
        seg = np.full(nm, -1, dtype=np.int32)
        seg[mid] = mark_edge
        one_edge = np.ones(nm, dtype=bool)
        one_edge[mid[mark_edge != seg[mid]]] = False
        has_edge = seg >= 0
        e = np.where(has_edge, seg, 0)
        lcell = np.where(has_edge, edges.left_cell[e], -1)
        rcell = np.where(has_edge, edges.right_cell[e], -1)
        has_l, has_r = lcell >= 0, rcell >= 0
        ncand = np.diff(self._cand_off)
        simple = (
            has_edge & one_edge & ~edges.multi[e] & ~degenerate[e]
            & (~(has_l & has_r) | (lcell != rcell))
            & (ncand == has_l.astype(np.int64) + has_r)
        )
        self._m_seg = np.where(simple, seg, -1).astype(np.int32)
        self._m_left = np.where(simple, lcell, -1).astype(np.int32)
        self._m_right = np.where(simple, rcell, -1).astype(np.int32)
        self._seg_table = table

    # ----------------------------------------------------------------------- persistence

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The built index as plain data: a JSON-able ``meta`` and numpy arrays (no objects),
        for :mod:`gridroute.grids.cache`. :meth:`from_state` rebuilds the same locator."""
        if getattr(self, "_no_holes", False) and self._n:
            # polygons without holes: what to_ragged_array gives, without copying out rings
            geom_type = shapely.GeometryType.POLYGON
            coords = shapely.get_coordinates(self._parts)
            rings = np.zeros(len(self._parts) + 1, dtype=np.int32)
            np.cumsum(shapely.get_num_coordinates(self._parts), out=rings[1:])
            offsets = (rings, np.arange(len(self._parts) + 1, dtype=np.int32))
        else:
            geom_type, coords, offsets = shapely.to_ragged_array(self._parts)
        meta = {
            "format": INDEX_FORMAT, "n": self._n, "working_crs": self.working_crs,
            "snap_m": self.snap_m, "x0": self._x0, "y0": self._y0, "s": self._s,
            "ncols": self._ncols, "nrows": self._nrows, "geom_type": int(geom_type),
            "offsets": len(offsets),
        }
        arrays = {
            "lab": self._lab, "cand": self._cand, "cand_off": self._cand_off,
            "m_seg": self._m_seg, "m_left": self._m_left, "m_right": self._m_right,
            "seg_table": self._seg_table, "part_cell": self._part_cell, "coords": coords,
        }
        for i, off in enumerate(offsets):
            arrays[f"offsets{i}"] = off
        for name, values in (("codes", self._codes), ("community", self._community),
                             ("street", self._street), ("district", self._district)):
            arrays[name] = np.array(["" if v is None else v for v in values[:self._n]],
                                    dtype=str)
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> "Locator":
        """Inverse of :meth:`state`; raises ValueError when the pieces do not fit together."""
        if meta.get("format") != INDEX_FORMAT:
            raise ValueError(f"index format {meta.get('format')!r}, expected {INDEX_FORMAT}")
        self = cls.__new__(cls)
        n = int(meta["n"])
        self._n = n
        self.working_crs = str(meta["working_crs"])
        self.snap_m = float(meta["snap_m"])
        self._x0, self._y0, self._s = float(meta["x0"]), float(meta["y0"]), float(meta["s"])
        self._ncols, self._nrows = int(meta["ncols"]), int(meta["nrows"])
        for name in ("lab", "cand", "cand_off", "m_seg", "m_left", "m_right", "seg_table",
                     "part_cell"):
            setattr(self, "_" + name, arrays[name])
        offsets = tuple(arrays[f"offsets{i}"] for i in range(int(meta["offsets"])))
        parts = (shapely.from_ragged_array(shapely.GeometryType(int(meta["geom_type"])),
                                           arrays["coords"], offsets)
                 if n else np.empty(0, dtype=object))
        if (len(self._lab) != self._ncols * self._nrows or len(parts) != len(self._part_cell)
                or len(self._cand_off) != len(self._m_seg) + 1
                or (len(self._cand_off) and self._cand_off[-1] != len(self._cand))
                or len(arrays["codes"]) != n
                or (len(self._part_cell) and int(self._part_cell.max()) >= n)):
            raise ValueError("index arrays do not fit together")
        self._parts = parts
        self._no_holes = (int(meta["geom_type"]) == shapely.GeometryType.POLYGON
                          and len(offsets) == 2 and bool((np.diff(offsets[1]) == 1).all()))
        self._tree = shapely.STRtree(parts)
        counts = np.bincount(self._part_cell, minlength=n)
        if n and (counts == 1).all():
            geoms = parts
        else:
            geoms = np.empty(n, dtype=object)
            single = counts[self._part_cell] == 1
            geoms[self._part_cell[single]] = parts[single]
            multi = np.flatnonzero(counts > 1)
            for i in multi.tolist():
                geoms[i] = shapely.MultiPolygon(list(parts[self._part_cell == i]))
        self._geoms = geoms
        self._prepared = np.zeros(n, dtype=bool)  # prepared on first use (see _prepare)

        def codes(name, shared=True):
            return _opt_codes([v or None for v in arrays[name].tolist()], n, shared)

        self._codes, self._community = codes("codes", False), codes("community")
        self._street, self._district = codes("street"), codes("district")
        self._codes_list = self._codes.tolist()
        self._community_list = self._community.tolist()
        self._street_list = self._street.tolist()
        self._district_list = self._district.tolist()
        self._transformers = {}
        return self

    def _prepare(self, idx: np.ndarray) -> None:
        """Prepare the cells about to be tested exactly (a loaded index starts unprepared:
        preparing all 50,000 cells would cost more than most runs test)."""
        if self._prepared is None:
            return
        todo = idx[~self._prepared[idx]]
        if len(todo):
            todo = np.unique(todo)
            shapely.prepare(self._geoms[todo])
            self._prepared[todo] = True

    # ----------------------------------------------------------------------------- query

    def __len__(self) -> int:
        return self._n

    def memory_bytes(self) -> int:
        """Estimated size of the index: raster, candidate lists, geometries, tree, codes."""
        total = self._lab.nbytes + self._cand.nbytes + self._cand_off.nbytes
        total += self._part_cell.nbytes + self._seg_table.nbytes
        total += self._m_seg.nbytes + self._m_left.nbytes + self._m_right.nbytes
        ncoord = int(shapely.get_num_coordinates(self._parts).sum()) if self._n else 0
        total += ncoord * 16 * 2  # geometry + prepared copy
        total += len(self._parts) * (200 + 64)  # GEOS objects, tree nodes
        total += sum(len(c or "") + 50 for c in self._codes_list) * 4
        return int(total)

    def locate_xy(self, x, y) -> LocateResult:
        """Locate points given in working-CRS metres (arrays or scalars)."""
        x = np.atleast_1d(np.asarray(x, dtype=float)).ravel()
        y = np.atleast_1d(np.asarray(y, dtype=float)).ravel()
        if x.shape != y.shape:
            x, y = np.broadcast_arrays(x, y)
        n = len(x)
        cell, status, dist = self._locate_idx(x, y)
        none = self._n
        cell = np.where(cell < 0, none, cell)
        return LocateResult(
            cell_code=self._codes[cell],
            community_code=self._community[cell],
            street_code=self._street[cell],
            district_code=self._district[cell],
            status=np.asarray(STATUSES, dtype=object)[status] if n else np.empty(0, object),
            distance_m=dist,
        )

    def locate_indices(self, x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like :meth:`locate_xy` but as numbers: cell index in :meth:`code_columns` order
        (-1 for none), status index into ``STATUSES``, distance (batch output uses these
        without building an object array per column)."""
        x = np.atleast_1d(np.asarray(x, dtype=float)).ravel()
        y = np.atleast_1d(np.asarray(y, dtype=float)).ravel()
        if x.shape != y.shape:
            x, y = np.broadcast_arrays(x, y)
        return self._locate_idx(x, y)

    def code_columns(self) -> dict[str, list]:
        """Per cell (index order) and one trailing None for "no cell": the four codes."""
        return {"cell_code": self._codes_list, "community_code": self._community_list,
                "street_code": self._street_list, "district_code": self._district_list}

    def _locate_idx(self, x: np.ndarray, y: np.ndarray):
        """Cell index (-1 none), status index into STATUSES, distance."""
        n = len(x)
        if n == 0 or self._n == 0:
            return (np.full(n, -1, dtype=np.int64), np.full(n, 3, dtype=np.int8),
                    np.full(n, np.nan))
        u = (x - self._x0) / self._s
        v = (y - self._y0) / self._s
        inr = (u >= 0) & (v >= 0) & (u < self._ncols) & (v < self._nrows)  # NaN → False
        if inr.all():
            val = self._lab.take(v.astype(np.int64) * self._ncols + u.astype(np.int64))
        else:
            val = np.full(n, _OUTSIDE_FAR, dtype=np.int32)
            val[inr] = self._lab.take(v[inr].astype(np.int64) * self._ncols
                                      + u[inr].astype(np.int64))
        del u, v, inr
        pure = val >= 0
        cell = np.where(pure, val, -1).astype(np.int64)
        status = np.where(pure, np.int8(0), np.int8(3))
        dist = np.where(pure, 0.0, np.nan)

        mixed = np.flatnonzero(val <= _MIXED_BASE)
        snap_idx = [np.flatnonzero(val == _OUTSIDE_NEAR)]
        if len(mixed):
            mid = (_MIXED_BASE - val[mixed]).astype(np.int64)
            seg = self._m_seg.take(mid)
            simple = np.flatnonzero(seg >= 0)
            if len(simple):
                st = np.take(self._seg_table, seg[simple], axis=0)  # (x[i] was 5× slower)
                pi = mixed[simple]
                ms = mid[simple]
                px, py = x[pi], y[pi]
                t1 = (st[:, 0] - px) * (st[:, 3] - py)
                t2 = (st[:, 1] - py) * (st[:, 2] - px)
                del st
                det = t1 - t2
                err = _ORIENT_ERR * (np.abs(t1) + np.abs(t2))
                side = np.where(det > err, self._m_left.take(ms),
                                np.where(det < -err, self._m_right.take(ms), -2))
                got = side >= 0
                cell[pi[got]] = side[got]
                status[pi[got]] = 0
                dist[pi[got]] = 0.0
                snap_idx.append(pi[side == -1])
                rest = seg < 0
                rest[simple[side == -2]] = True
                mixed = mixed[rest]
        if len(mixed):
            mid = (_MIXED_BASE - val[mixed]).astype(np.int64)
            starts = self._cand_off[mid]
            counts = self._cand_off[mid + 1] - starts
            total = int(counts.sum())
            local = np.repeat(np.arange(len(mixed)), counts)
            within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            cand = self._cand[np.repeat(starts, counts) + within]
            px, py = x[mixed][local], y[mixed][local]
            self._prepare(cand)
            hit = shapely.intersects_xy(self._geoms[cand], px, py)
            nhit = np.bincount(local[hit], minlength=len(mixed))
            hl = local[hit]
            hc = cand[hit]
            firsts = np.ones(len(hl), dtype=bool)
            firsts[1:] = hl[1:] != hl[:-1]
            chosen = np.full(len(mixed), -1, dtype=np.int64)
            chosen[hl[firsts]] = hc[firsts]  # candidates ascending → smallest code
            mstatus = np.full(len(mixed), 1, dtype=np.int8)
            single = np.flatnonzero(nhit == 1)
            if len(single):
                inside = shapely.contains_xy(self._geoms[chosen[single]],
                                             x[mixed[single]], y[mixed[single]])
                mstatus[single[inside]] = 0
            found = nhit > 0
            cell[mixed[found]] = chosen[found]
            status[mixed[found]] = mstatus[found]
            dist[mixed[found]] = 0.0
            snap_idx.append(mixed[~found])
        todo = np.concatenate(snap_idx)
        if len(todo) and self.snap_m > 0:
            self._snap(x, y, todo, cell, status, dist)
        return cell, status, dist

    def _snap(self, x, y, todo, cell, status, dist) -> None:
        pts = shapely.points(x[todo], y[todo])
        # every part within snap_m (a little more: the exact distance decides below), then
        # the nearest; a tree's nearest-neighbour search took five times longer
        qi, ti = self._tree.query(pts, predicate="dwithin",
                                  distance=self.snap_m * (1 + 1e-9) + 1e-9)
        d = shapely.distance(pts[qi], self._parts[ti])
        ok = d <= self.snap_m
        qi, ti, d = qi[ok], ti[ok], d[ok]
        if not len(qi):
            return
        pc = self._part_cell[ti]
        order = np.lexsort((pc, d, qi))
        qi, pc, d = qi[order], pc[order], d[order]
        first = np.ones(len(qi), dtype=bool)
        first[1:] = qi[1:] != qi[:-1]
        tgt = todo[qi[first]]
        cell[tgt] = pc[first]
        dz = d[first]
        # a distance of exactly 0 means the point touches a cell after all
        status[tgt] = np.where(dz == 0.0, 1, 2)
        dist[tgt] = dz

    # ------------------------------------------------------------------- single point

    def _loc(self, i: int, status: str, d: float) -> PointLocation:
        return PointLocation(self._codes_list[i], self._community_list[i], self._street_list[i],
                             self._district_list[i], status, d)

    def locate_xy_one(self, x: float, y: float) -> PointLocation:
        """Fast path for one point in working-CRS metres."""
        x = float(x)
        y = float(y)
        u = (x - self._x0) / self._s
        v = (y - self._y0) / self._s
        if 0.0 <= u < self._ncols and 0.0 <= v < self._nrows and self._n:
            val = int(self._lab[int(v) * self._ncols + int(u)])
        else:
            val = _OUTSIDE_FAR
        if val >= 0:
            return self._loc(val, LocateStatus.INSIDE, 0.0)
        if val <= _MIXED_BASE:
            mid = _MIXED_BASE - val
            seg = int(self._m_seg[mid])
            if seg >= 0:
                ax, ay, bx, by = self._seg_table[seg].tolist()
                t1 = (ax - x) * (by - y)
                t2 = (ay - y) * (bx - x)
                det = t1 - t2
                err = _ORIENT_ERR * (abs(t1) + abs(t2))
                side = -2
                if det > err:
                    side = int(self._m_left[mid])
                elif det < -err:
                    side = int(self._m_right[mid])
                if side >= 0:
                    return self._loc(side, LocateStatus.INSIDE, 0.0)
                if side == -1:
                    return self._snap_one(x, y)
            cand_arr = self._cand[self._cand_off[mid]:self._cand_off[mid + 1]]
            self._prepare(cand_arr)
            cands = cand_arr.tolist()
            hits = [c for c in cands if shapely.intersects_xy(self._geoms[c], x, y)]
            if len(hits) == 1:
                c = hits[0]
                inside = bool(shapely.contains_xy(self._geoms[c], x, y))
                return self._loc(c, LocateStatus.INSIDE if inside else LocateStatus.BOUNDARY, 0.0)
            if hits:
                return self._loc(hits[0], LocateStatus.BOUNDARY, 0.0)
            val = _OUTSIDE_NEAR
        if val == _OUTSIDE_NEAR:
            return self._snap_one(x, y)
        return _OUTSIDE_POINT

    def _snap_one(self, x: float, y: float) -> PointLocation:
        if self.snap_m <= 0:
            return _OUTSIDE_POINT
        cell = np.full(1, -1, dtype=np.int64)
        status = np.full(1, 3, dtype=np.int8)
        dist = np.full(1, np.nan)
        self._snap(np.array([x]), np.array([y]), np.zeros(1, dtype=np.int64), cell, status, dist)
        if cell[0] < 0:
            return _OUTSIDE_POINT
        return self._loc(int(cell[0]), LocateStatus(STATUSES[int(status[0])]), float(dist[0]))

    # ------------------------------------------------------------------ other CRSs

    def _converter(self, crs: str):
        conv = self._transformers.get(crs)
        if conv is not None:
            return conv
        from gridroute.grids import coords

        source = coords.normalize_crs(crs)
        target = coords.normalize_crs(self.working_crs)
        if source == target:
            conv = ("same", None)
        elif source in ("gcj02", "bd09") or target in ("gcj02", "bd09"):
            conv = ("coords", source)
        else:
            import pyproj

            conv = ("pyproj", pyproj.Transformer.from_crs(
                "EPSG:4326" if source == "wgs84" else source,
                "EPSG:4326" if target == "wgs84" else target, always_xy=True))
        self._transformers[crs] = conv
        return conv

    def locate(self, lon, lat, crs: str = "wgs84") -> LocateResult:
        """Locate points given in ``crs`` (wgs84, gcj02, bd09 or EPSG:n); scalars allowed."""
        from gridroute.grids import coords

        x, y = coords.to_working(lon, lat, crs, self.working_crs)
        return self.locate_xy(x, y)

    def locate_one(self, lon: float, lat: float, crs: str = "wgs84") -> PointLocation:
        """Locate one point (fast path; raises UnknownCRSError for an unknown ``crs``)."""
        kind, tool = self._converter(crs)
        if kind == "same":
            x, y = lon, lat
        elif kind == "pyproj":
            x, y = tool.transform(float(lon), float(lat))
        else:
            from gridroute.grids import coords

            x, y = coords.to_working(lon, lat, tool, self.working_crs)
        return self.locate_xy_one(x, y)


def _group_rows(rows: np.ndarray) -> np.ndarray:
    """An order of the rows of a float array in which equal rows are adjacent.

    Sorted by a 64-bit hash of each row's bits (a four-key lexsort took five times longer);
    should two different rows share a hash and interleave, the lexsort it is."""
    bits = np.ascontiguousarray(rows).view(np.uint64)
    h = np.zeros(len(rows), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(bits.shape[1]):
            x = (h ^ bits[:, j]) * np.uint64(0x9E3779B97F4A7C15)
            h = x ^ (x >> np.uint64(29))
    order = np.argsort(h)
    if len(order) > 1:
        hs, rs = h[order], rows[order]
        clash = (hs[1:] == hs[:-1]) & (rs[1:] != rs[:-1]).any(axis=1)
        if clash.any():
            order = np.lexsort(rows.T[::-1])
    return order


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values; sort and mask (np.unique took 90 times longer on 3.5 M keys)."""
    values.sort()  # in place: callers pass a fresh array
    if len(values):
        keep = np.ones(len(values), dtype=bool)
        keep[1:] = values[1:] != values[:-1]
        values = values[keep]
    return values


def _expand_ranges(start: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``start[i] .. start[i] + count[i] - 1``: (range index, value) of each member."""
    owner = np.repeat(np.arange(len(start)), count)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    return owner, start[owner] + offset


def _shift_or(mask: np.ndarray, k: int, axis: int) -> np.ndarray:
    """True where any True lies within k steps along ``axis`` (both directions)."""
    out = mask.copy()
    for sign in (1, -1):
        cur = mask.copy()
        reach = 0  # cur covers offsets 0..reach in direction sign
        while reach < k:
            step = min(reach + 1, k - reach)
            shifted = np.zeros_like(cur)
            if axis == 0:
                if sign > 0:
                    shifted[step:] = cur[:-step]
                else:
                    shifted[:-step] = cur[step:]
            elif sign > 0:
                shifted[:, step:] = cur[:, :-step]
            else:
                shifted[:, :-step] = cur[:, step:]
            cur |= shifted
            reach += step
        out |= cur
    return out


def _box_dilate(mask: np.ndarray, k: int) -> np.ndarray:
    """True where any True lies within k cells (Chebyshev distance): separable OR of shifts
    by doubling steps, on booleans (a summed-area table on int32 was four times slower)."""
    if k <= 0:
        return mask.copy()
    return _shift_or(_shift_or(mask, k, 1), k, 0)
