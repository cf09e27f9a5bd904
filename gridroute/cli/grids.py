"""Grid commands (网格命令): ``gridroute grids validate`` and ``gridroute locate``."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import click

__all__ = ["grids", "locate", "validate"]

EXIT_REJECTED_ROWS = 3
OUTPUT_COLUMNS = ["id", "cell_code", "community_code", "street_code", "district_code",
                  "status", "distance_m"]
_GEOGRAPHIC_NAMES = ("wgs84", "gcj02", "bd09")


def _config():
    """The configuration: from the main group's state when present, else ``load_config()``."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.obj if ctx is not None else None
    if obj is not None and hasattr(obj, "config"):
        return obj.config
    from gridroute.config import load_config

    return load_config()


def _grid_settings(required: bool):
    """``cfg.grid`` or ``None`` when the configuration cannot be read and is not required."""
    try:
        return _config().grid
    except (click.ClickException, Exception) as exc:  # noqa: BLE001 - any config failure
        if required:
            if isinstance(exc, click.ClickException):
                raise
            raise click.ClickException(f"configuration error: {exc}") from None
        return None


def _load(path: str, working_crs: str, settings, source_crs: str | None = None,
          overlap: float | None = None, gap: float | None = None,
          repair: float | None = None, scheme_name: str | None = None):
    from gridroute.grids.layers import CodeScheme, load_grid

    kwargs = {}
    if settings is not None:
        scheme = CodeScheme.from_config(settings)  # as services.context.code_scheme_of
        kwargs.update(
            overlap_tolerance_m2=settings.overlap_tolerance_m2,
            gap_tolerance_m2=settings.gap_tolerance_m2,
            repair_max_area_change=settings.repair_max_area_change,
        )
        names = getattr(settings, "street_names", None)
        if names and Path(names).is_file():
            kwargs["street_names"] = names
    else:
        scheme = CodeScheme()
    if scheme_name:
        scheme = CodeScheme.preset(scheme_name)
    if overlap is not None:
        kwargs["overlap_tolerance_m2"] = overlap
    if gap is not None:
        kwargs["gap_tolerance_m2"] = gap
    if repair is not None:
        kwargs["repair_max_area_change"] = repair
    return load_grid(path, working_crs=working_crs, scheme=scheme, source_crs=source_crs,
                     **kwargs)


@click.group()
def grids() -> None:
    """Grid layers (单元网格): validation and inspection."""


@grids.command("validate")
@click.argument("path", type=click.Path(dir_okay=True))
@click.option("--working-crs", default=None, help="Metric working CRS (default: configured).")
@click.option("--source-crs", default=None,
              help="Override the file's CRS, e.g. gcj02 for Amap coordinates.")
@click.option("--scheme", "scheme_name", default=None, help="Code scheme preset: 15 or CJT213.")
@click.option("--overlap-tolerance-m2", type=float, default=None,
              help="Largest tolerated overlap between two cells (m²).")
@click.option("--gap-tolerance-m2", type=float, default=None,
              help="Largest tolerated hole inside a street (m²).")
@click.option("--repair-max-area-change", type=float, default=None,
              help="Largest relative area change accepted when repairing (0.001 = 0.1 %).")
def validate(path, working_crs, source_crs, scheme_name, overlap_tolerance_m2,
             gap_tolerance_m2, repair_max_area_change) -> None:
    """Check a grid file; print the report; exit 1 when it has hard errors."""
    from gridroute.grids.layers import GridLoadError, GridValidationError

    settings = _grid_settings(required=False)
    working = working_crs or (settings.working_crs if settings else "EPSG:32651")
    try:
        layer, report = _load(path, working, settings, source_crs, overlap_tolerance_m2,
                              gap_tolerance_m2, repair_max_area_change, scheme_name)
    except GridValidationError as exc:
        click.echo(exc.report.render())
        sys.exit(1)
    except (GridLoadError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.render())
    s = layer.summary()
    click.echo(
        f"{s['cell_count']} cells in {s['community_count']} communities, "
        f"{s['street_count']} streets, {s['district_count']} districts; "
        f"working CRS {s['working_crs']}; content hash {s['content_hash'][:16]}"
    )


# ----------------------------------------------------------------------------- locate


class _CrsCache:
    """Normalised CRS names and whether they are longitude/latitude, memoised."""

    def __init__(self) -> None:
        self._names: dict[str, str | None] = {}
        self._geo: dict[str, bool] = {}

    def normalize(self, text: str) -> str | None:
        if text not in self._names:
            from gridroute.grids.coords import UnknownCRSError, normalize_crs

            try:
                self._names[text] = normalize_crs(text)
            except UnknownCRSError:
                self._names[text] = None
        return self._names[text]

    def geographic(self, name: str) -> bool:
        if name not in self._geo:
            if name in _GEOGRAPHIC_NAMES:
                self._geo[name] = True
            else:
                import pyproj

                self._geo[name] = bool(pyproj.CRS.from_user_input(name).is_geographic)
        return self._geo[name]


def _parse_number(raw: str | None, field: str, problems: list[str]) -> float | None:
    if raw is None or raw.strip() == "":
        problems.append(f"{field}: missing")
        return None
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{field}: not a number: {raw.strip()!r}")
        return None
    if not math.isfinite(value):
        problems.append(f"{field}: not a finite number: {raw.strip()!r}")
        return None
    return value


def _format_distance(status: str, d: float) -> str:
    if status == "outside" or d is None or math.isnan(d):
        return ""
    return f"{round(float(d), 2):.2f}"


def _flush(chunk, locator, working_crs, writer, counts) -> None:
    """Locate one chunk of valid rows (grouped by CRS) and write them in input order."""
    import numpy as np

    from gridroute.grids.coords import to_working

    n = len(chunk)
    if not n:
        return
    out_cell = np.empty(n, dtype=object)
    out_comm = np.empty(n, dtype=object)
    out_street = np.empty(n, dtype=object)
    out_dist_code = np.empty(n, dtype=object)
    out_status = np.empty(n, dtype=object)
    out_dist = np.full(n, np.nan)
    by_crs: dict[str, list[int]] = {}
    for i, row in enumerate(chunk):
        by_crs.setdefault(row[3], []).append(i)
    for crs, idx in by_crs.items():
        ix = np.asarray(idx)
        lon = np.fromiter((chunk[i][1] for i in idx), dtype=float, count=len(idx))
        lat = np.fromiter((chunk[i][2] for i in idx), dtype=float, count=len(idx))
        x, y = to_working(lon, lat, crs, working_crs)
        res = locator.locate_xy(np.atleast_1d(x), np.atleast_1d(y))
        out_cell[ix] = res.cell_code
        out_comm[ix] = res.community_code
        out_street[ix] = res.street_code
        out_dist_code[ix] = res.district_code
        out_status[ix] = res.status
        out_dist[ix] = res.distance_m
    rows = []
    for i in range(n):
        status = out_status[i]
        counts[status] = counts.get(status, 0) + 1
        rows.append((chunk[i][0], out_cell[i] or "", out_comm[i] or "", out_street[i] or "",
                     out_dist_code[i] or "", status, _format_distance(status, out_dist[i])))
    writer.writerows(rows)


@click.command("locate")
@click.option("--grid", "grid_path", default=None, type=click.Path(),
              help="Grid file (default: the configured grid.path).")
@click.option("--in", "in_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with columns id,lon,lat and optionally crs.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="CSV to write: id,cell_code,community_code,street_code,district_code,"
                   "status,distance_m.")
@click.option("--crs", "default_crs", default="wgs84", show_default=True,
              help="Coordinate system of rows without a crs value (wgs84, gcj02, bd09, EPSG:n).")
@click.option("--snap-m", type=float, default=None,
              help="Snap points within this many metres of a cell (default: configured).")
@click.option("--working-crs", default=None, help="Metric working CRS (default: configured).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Rows located per batch.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: only on a terminal).")
def locate(grid_path, in_path, out_path, default_crs, snap_m, working_crs, chunk_size,
           progress) -> None:
    """Locate the points of a CSV file in the grid (批量网格定位).

    Rows that cannot be read are reported on stderr as FILE:LINE: FIELD: REASON and left out
    of the output; the exit code is then 3.
    """
    from tqdm import tqdm

    from gridroute.grids.layers import GridLoadError, GridValidationError
    from gridroute.grids.locator import Locator

    settings = _grid_settings(required=grid_path is None)
    path = grid_path or settings.path
    working = working_crs or (settings.working_crs if settings else "EPSG:32651")
    snap = snap_m if snap_m is not None else (settings.snap_tolerance_m if settings else 50.0)
    crs_cache = _CrsCache()
    default_name = crs_cache.normalize(default_crs)
    if default_name is None:
        raise click.BadParameter(f"unknown coordinate system {default_crs!r}",
                                 param_hint="--crs")
    if snap < 0:
        raise click.BadParameter("must be ≥ 0", param_hint="--snap-m")
    try:
        layer, _ = _load(path, working, settings)
    except GridValidationError as exc:
        raise click.ClickException(f"grid {path} is not usable:\n{exc}") from None
    except GridLoadError as exc:
        raise click.ClickException(str(exc)) from None
    locator = Locator(layer, snap_m=snap)

    rejected = 0
    counts: dict[str, int] = {}
    with open(in_path, newline="", encoding="utf-8-sig") as fin, \
            open(out_path, "w", newline="", encoding="utf-8") as fout:
        reader = csv.reader(fin)
        header = next(reader, None)
        if header is None:
            raise click.ClickException(f"{in_path}: empty file (expected header id,lon,lat)")
        cols = {name.strip().lower(): i for i, name in enumerate(header)}
        missing = [c for c in ("id", "lon", "lat") if c not in cols]
        if missing:
            raise click.ClickException(
                f"{in_path}:1: missing column(s) {', '.join(missing)} (expected id,lon,lat[,crs])")
        i_id, i_lon, i_lat = cols["id"], cols["lon"], cols["lat"]
        i_crs = cols.get("crs")
        writer = csv.writer(fout, lineterminator="\n")
        writer.writerow(OUTPUT_COLUMNS)
        show = progress if progress is not None else None
        bar = tqdm(unit=" rows", file=sys.stderr, disable=(not show) if show is not None
                   else None, desc="locate", mininterval=0.5)
        chunk: list[tuple] = []
        try:
            for row in reader:
                line = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                problems: list[str] = []

                def cell(i):
                    return row[i] if i is not None and i < len(row) else None

                lon = _parse_number(cell(i_lon), "lon", problems)
                lat = _parse_number(cell(i_lat), "lat", problems)
                crs_text = (cell(i_crs) or "").strip()
                crs = default_name
                if crs_text:
                    crs = crs_cache.normalize(crs_text)
                    if crs is None:
                        problems.append(f"crs: unknown coordinate system {crs_text!r}")
                if crs is not None and crs_cache.geographic(crs):
                    if lat is not None and not -90.0 <= lat <= 90.0:
                        problems.append(f"lat: out of range [-90, 90]: {cell(i_lat).strip()}")
                    if lon is not None and not -180.0 <= lon <= 180.0:
                        problems.append(f"lon: out of range [-180, 180]: {cell(i_lon).strip()}")
                if problems:
                    rejected += 1
                    for p in problems:
                        click.echo(f"{in_path}:{line}: {p}", err=True)
                    continue
                chunk.append((cell(i_id) or "", lon, lat, crs))
                if len(chunk) >= chunk_size:
                    _flush(chunk, locator, working, writer, counts)
                    bar.update(len(chunk))
                    chunk = []
            _flush(chunk, locator, working, writer, counts)
            bar.update(len(chunk))
        finally:
            bar.close()
    located = sum(counts.values())
    detail = ", ".join(f"{k} {counts.get(k, 0)}" for k in ("inside", "boundary", "snapped",
                                                           "outside"))
    click.echo(f"located {located} rows ({detail}); rejected {rejected} rows", err=True)
    if rejected:
        sys.exit(EXIT_REJECTED_ROWS)
