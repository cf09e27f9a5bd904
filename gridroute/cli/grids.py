"""Grid commands (网格命令): ``gridroute grids validate`` and ``gridroute locate``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["grids", "locate", "validate"]

EXIT_REJECTED_ROWS = 3


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
          repair: float | None = None, scheme_name: str | None = None,
          layer: str | None = None, force: bool = False):
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
                     layer=layer, force=force, **kwargs)


@click.group()
def grids() -> None:
    """Grid layers (单元网格): validation and inspection."""


LAYER_OPTION = click.option("--layer", default=None,
                            help="Layer to read from a source with several (GeoPackage, folder).")
FORCE_OPTION = click.option("--force", is_flag=True,
                            help="Accept coordinates that do not fit the CRS or the working "
                                 "area (reported as warnings).")


def metric_crs(value: str | None, option: str = "--working-crs") -> str | None:
    """A working CRS must count metres: distances, snapping and areas are computed in it."""
    if value is None:
        return None
    import pyproj

    from gridroute.grids.coords import COMMON_CRS, UnknownCRSError, normalize_crs

    try:
        name = normalize_crs(value)
    except UnknownCRSError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    if name in COMMON_CRS or not pyproj.CRS.from_user_input(name).is_projected:
        raise click.BadParameter(f"{value} is a longitude/latitude CRS; the working CRS must "
                                 "be projected in metres (e.g. EPSG:32651)", param_hint=option)
    return name


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
@LAYER_OPTION
@FORCE_OPTION
def validate(path, working_crs, source_crs, scheme_name, overlap_tolerance_m2,
             gap_tolerance_m2, repair_max_area_change, layer, force) -> None:
    """Check a grid file or folder; print the report; exit 1 when it has hard errors."""
    from gridroute.grids.layers import GridLoadError, GridValidationError

    settings = _grid_settings(required=False)
    working = metric_crs(working_crs) or (settings.working_crs if settings else "EPSG:32651")
    try:
        grid, report = _load(path, working, settings, source_crs, overlap_tolerance_m2,
                             gap_tolerance_m2, repair_max_area_change, scheme_name,
                             layer=layer, force=force)
    except GridValidationError as exc:
        click.echo(exc.report.render())
        sys.exit(1)
    except (GridLoadError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.render())
    s = grid.summary()
    click.echo(
        f"{s['cell_count']} cells in {s['community_count']} communities, "
        f"{s['street_count']} streets, {s['district_count']} districts; "
        f"working CRS {s['working_crs']}; content hash {s['content_hash'][:16]}"
    )


# ----------------------------------------------------------------------------- locate


class _NoBar:
    """Stands in for tqdm when no progress is shown (tqdm's import alone costs 0.2 s)."""

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


@click.command("locate")
@click.option("--grid", "grid_path", default=None, type=click.Path(),
              help="Grid file or folder (default: the configured grid.path).")
@click.option("--in", "in_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with columns id,lon,lat and optionally crs.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="CSV to write: id,cell_code,community_code,street_code,district_code,"
                   "status,distance_m (written in full, then renamed into place).")
@click.option("--crs", "default_crs", default="wgs84", show_default=True,
              help="Coordinate system of rows without a crs value (wgs84, gcj02, bd09, EPSG:n).")
@click.option("--encoding", default="utf-8", show_default=True,
              help="Text encoding of --in (e.g. gbk for files saved by Chinese Excel).")
@click.option("--snap-m", type=float, default=None,
              help="Snap points within this many metres of a cell (default: configured).")
@click.option("--working-crs", default=None, help="Metric working CRS (default: configured).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Rows located per batch.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: only on a terminal).")
@LAYER_OPTION
@FORCE_OPTION
def locate(grid_path, in_path, out_path, default_crs, encoding, snap_m, working_crs,
           chunk_size, progress, layer, force) -> None:
    """Locate the points of a CSV file in the grid (批量网格定位).

    Rows that cannot be read are reported on stderr as FILE:LINE: FIELD: REASON and left out
    of the output; the exit code is then 3. The grid's validated index is cached on disk
    (grid.cache_dir), so later runs on the same grid skip validation and indexing.
    """
    from gridroute.grids.batch import BatchInputError
    from gridroute.grids.coords import UnknownCRSError, normalize_crs
    from gridroute.grids.layers import GridLoadError, GridValidationError
    from gridroute.grids.locator import LocateStatus
    from gridroute.services.grids import locate_file

    settings = _grid_settings(required=grid_path is None)
    path = grid_path or settings.path
    working = metric_crs(working_crs) or (settings.working_crs if settings else "EPSG:32651")
    snap = snap_m if snap_m is not None else (settings.snap_tolerance_m if settings else 50.0)
    try:
        normalize_crs(default_crs)
    except UnknownCRSError:
        raise click.BadParameter(f"unknown coordinate system {default_crs!r}",
                                 param_hint="--crs") from None
    if snap < 0:
        raise click.BadParameter("must be ≥ 0", param_hint="--snap-m")
    show = progress if progress is not None else sys.stderr.isatty()
    if show:
        from tqdm import tqdm

        bar = tqdm(unit=" rows", file=sys.stderr, desc="locate", mininterval=0.5)
    else:
        bar = _NoBar()
    try:
        summary = locate_file(settings, path, in_path, out_path, working_crs=working,
                              snap_m=snap, default_crs=default_crs, encoding=encoding,
                              layer=layer, force=force, chunk_size=chunk_size,
                              progress=bar.update)
    except GridValidationError as exc:
        raise click.ClickException(f"grid {path} is not usable:\n{exc}") from None
    except (GridLoadError, BatchInputError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        bar.close()
    for line, message in summary.problems:
        click.echo(f"{in_path}:{line}: {message}", err=True)
    detail = ", ".join(f"{k} {summary.counts.get(k, 0)}" for k in LocateStatus)
    click.echo(f"located {summary.located} rows ({detail}); rejected {summary.rejected} rows",
               err=True)
    if summary.rejected:
        sys.exit(EXIT_REJECTED_ROWS)
