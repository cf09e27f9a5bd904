"""Grid use cases: load a grid file as a new version, serve the active version's locator,
locate a CSV file against a grid file."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import shapely

from gridroute.grids.layers import CodeScheme, load_grid
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI locate path needs no database: keep SQLAlchemy unimported
    from gridroute.services.context import AppContext

# How often (seconds) a process looks whether another process activated a new grid version;
# loads in this process take effect at once.
RECHECK_S = 2.0

# A new grid with this much smaller a share of the active grid's cells is loaded, with a
# warning: a city rarely loses a fifth of its cells, a truncated export often does.
CELL_DROP_WARNING = 0.20

# Locators are immutable and keyed by content: contexts of one process share them.
_BUILT: dict[tuple, tuple] = {}


@dataclass
class GridLoadResult:
    version_id: int
    content_hash: str
    created: bool
    cell_count: int
    report: str
    previous_version_id: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def switched(self) -> bool:
        """An earlier version was made active again (not new, not the one already active)."""
        return not self.created and self.previous_version_id not in (None, self.version_id)

    def status_line(self) -> str:
        head = f"grid version {self.version_id} ({self.content_hash[:12]}): {self.cell_count} cells"
        if self.created:
            return f"{head}, new version"
        if self.switched:
            return (f"{head}, loaded before: switched the active grid from version "
                    f"{self.previous_version_id} back to version {self.version_id}")
        return f"{head}, unchanged"


@dataclass
class ActiveGrid:
    """The grid version new reports are located against."""

    version_id: int
    content_hash: str
    locator: object
    cell_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


def code_scheme(ctx: AppContext) -> CodeScheme:
    return ctx.code_scheme


def scheme_of(settings) -> CodeScheme:
    """The scheme of these grid settings, as services.context.code_scheme_of builds it."""
    return CodeScheme.from_config(settings)


def grid_cache(settings):
    """The on-disk cache of validated grids and indexes (None when switched off: "")."""
    from gridroute.grids.cache import GridCache

    directory = getattr(settings, "cache_dir", "")
    return GridCache(directory) if directory else None


def _validation_kwargs(settings, working_crs: str | None = None) -> dict:
    names = settings.street_names
    return dict(working_crs=working_crs or settings.working_crs, scheme=scheme_of(settings),
                street_names=names if names and Path(names).is_file() else None,
                repair_max_area_change=settings.repair_max_area_change,
                overlap_tolerance_m2=settings.overlap_tolerance_m2,
                gap_tolerance_m2=settings.gap_tolerance_m2)


def read_and_validate(ctx: AppContext, path: str, *, layer: str | None = None,
                      force: bool = False):
    """Read and validate a grid file with the configured settings; raises GridValidationError."""
    return load_grid(path, layer=layer, force=force, **_validation_kwargs(ctx.config.grid))


def load_grid_file(ctx: AppContext, path: str | None = None, *, layer: str | None = None,
                   force: bool = False) -> GridLoadResult:
    """Validate `path` and make it the active grid. Same content as a stored version →
    that version is reactivated, nothing new is created. Hard errors raise
    GridValidationError and leave the previously active grid serving."""
    path = path or ctx.config.grid.path
    layer_obj, report = read_and_validate(ctx, path, layer=layer, force=force)
    cells = layer_obj.cells
    warnings: list[str] = []
    with ctx.uow() as uow:
        active = uow.grids.active()
        existing = uow.grids.by_hash(layer_obj.content_hash)
        if existing is not None:
            version_id, created = existing.id, False
        else:
            if active is not None and len(cells) < active.cell_count * (1 - CELL_DROP_WARNING):
                drop = 1 - len(cells) / active.cell_count
                warnings.append(
                    f"WARNING cell_count_drop: {len(cells)} cells against {active.cell_count} "
                    f"in the active grid (version {active.id}), {drop:.0%} fewer; "
                    "check that the file is complete")
            wkb = shapely.to_wkb(cells.geometry.values)
            rows = [{
                "cell_code": r.cell_code, "community_code": r.community_code,
                "street_code": r.street_code, "district_code": r.district_code,
                "community_name": r.community_name, "street_name": r.street_name,
                "district_name": r.district_name, "tags": ",".join(r.tags or ()),
                "geometry_wkb": wkb[i],
            } for i, r in enumerate(cells.itertuples(index=False))]
            version_id = uow.grids.add(
                content_hash=layer_obj.content_hash, source_path=str(path),
                working_crs=layer_obj.working_crs, loaded_at=ctx.now(),
                summary=layer_obj.summary(), cells=rows)
            created = True
        uow.grids.activate(version_id)
        uow.commit()
    ctx.invalidate_caches()
    return GridLoadResult(version_id, layer_obj.content_hash, created, len(cells),
                          report.render(), active.id if active is not None else None, warnings)


def active_grid(ctx: AppContext) -> ActiveGrid | None:
    """The active version's locator, built once per process and version; the built index
    comes from the on-disk cache when an entry for this content and build exists."""
    cached = ctx.grid_cache.get("active")
    if cached is not None and time.monotonic() - ctx.grid_cache.get("checked", 0) < RECHECK_S:
        return cached
    settings = ctx.config.grid
    snap = settings.snap_tolerance_m
    with ctx.uow(read_only=True) as uow:
        version = uow.grids.active()
        if version is None:
            return None
        ctx.grid_cache["checked"] = time.monotonic()
        if cached is not None and cached.version_id == version.id:
            return cached
        key = (version.content_hash, version.working_crs, snap)
        shared = _BUILT.get(key)
        if shared is None:
            shared = _from_disk(settings, version, snap)
        if shared is None:
            shared = _build(settings, version, snap, uow.grids.cells(version.id))
        _BUILT[key] = shared
    grid = ActiveGrid(version.id, version.content_hash, *shared)
    with ctx.lock:
        ctx.grid_cache["active"] = grid
    return grid


def _lookups(codes, communities, streets, districts, community_names, street_names,
             district_names, tags) -> tuple[dict, dict]:
    names: dict[str, str] = {}
    for s, sn, c, cn, d, dn in zip(streets, street_names, communities, community_names,
                                   districts, district_names):
        names.setdefault(s, sn or s)
        names.setdefault(c, cn or c)
        names.setdefault(d, dn or d)
    cell_tags = {code: tuple(x for x in (t or "").split(",") if x)
                 for code, t in zip(codes, tags)}
    return cell_tags, names


def _from_disk(settings, version, snap):
    cache = grid_cache(settings)
    entry = cache.load(version.content_hash, working_crs=version.working_crs,
                       snap_m=snap) if cache else None
    if entry is None:
        return None
    loc = entry.locator
    cols = loc.code_columns()
    n = len(loc)
    a = entry.attributes
    tags, names = _lookups(cols["cell_code"][:n], cols["community_code"][:n],
                           cols["street_code"][:n], cols["district_code"][:n],
                           a["community_name"], a["street_name"], a["district_name"], a["tags"])
    return loc, tags, names


def _build(settings, version, snap, rows):
    from gridroute.grids.locator import Locator

    locator = Locator.from_geometries(
        [r.cell_code for r in rows], shapely.from_wkb([r.geometry_wkb for r in rows]),
        community_codes=[r.community_code for r in rows],
        street_codes=[r.street_code for r in rows],
        district_codes=[r.district_code for r in rows],
        working_crs=version.working_crs, snap_m=snap)
    attributes = {"community_name": [r.community_name for r in rows],
                  "street_name": [r.street_name for r in rows],
                  "district_name": [r.district_name for r in rows],
                  "tags": [r.tags for r in rows]}
    cache = grid_cache(settings)
    if cache is not None:
        cache.store(version.content_hash, locator, attributes)
    tags, names = _lookups([r.cell_code for r in rows], [r.community_code for r in rows],
                           [r.street_code for r in rows], [r.district_code for r in rows],
                           attributes["community_name"], attributes["street_name"],
                           attributes["district_name"], attributes["tags"])
    return locator, tags, names


def grid_overview(ctx: AppContext) -> dict | None:
    """What the grid page and /healthz show: version, hash, streets with counts."""
    with ctx.uow(read_only=True) as uow:
        version = uow.grids.active()
        if version is None:
            return None
        rows = uow.grids.street_counts(version.id)
        versions = uow.grids.versions()
    return {
        "version_id": version.id,
        "content_hash": version.content_hash,
        "loaded_at": version.loaded_at.astimezone(ctx.tz).isoformat(),
        "source_path": version.source_path,
        "working_crs": version.working_crs,
        "cell_count": version.cell_count,
        "community_count": sum(r.communities for r in rows),
        "streets": [r._asdict() for r in rows],
        "versions": [{"id": v.id, "content_hash": v.content_hash,
                      "loaded_at": v.loaded_at.astimezone(ctx.tz).isoformat(),
                      "cell_count": v.cell_count, "active": v.active} for v in versions],
    }


# ------------------------------------------------------------------ locate a CSV file


@dataclass
class FileLocator:
    locator: object
    cache_hit: bool


def file_locator(settings, path: str, *, working_crs: str, snap_m: float,
                 layer: str | None = None, force: bool = False) -> FileLocator:
    """The locator for a grid file: from the on-disk cache when the file's bytes and the
    validation settings were seen before and the entry checks out; otherwise read, validate
    and index the file, and store the result. Raises GridLoadError / GridValidationError.

    The entry is keyed by the fingerprint of the file's bytes and the settings (one pass of
    sha256 over the file), not by the content hash of the validated cells: nothing here needs
    that hash, and computing it cost as much as building the index. A changed byte or setting
    is another key, so a changed grid is never served from the cache."""
    from gridroute.grids.cache import GridCache
    from gridroute.grids.locator import Locator

    cache = grid_cache(settings) if settings is not None else None
    kwargs = _validation_kwargs(settings, working_crs) if settings is not None else \
        {"working_crs": working_crs}
    source_key = None
    if cache is not None and Path(path).exists():
        described = {k: (v.__dict__ if isinstance(v, CodeScheme) else v)
                     for k, v in kwargs.items()}
        described.update(layer=layer, force=force)
        extra = [kwargs["street_names"]] if kwargs.get("street_names") else []
        source_key = GridCache.source_key(path, described, extra)
        entry = cache.load(source_key, working_crs=working_crs, snap_m=snap_m)
        if entry is not None:
            return FileLocator(entry.locator, True)
    grid, _ = load_grid(path, layer=layer, force=force, **kwargs)
    locator = Locator(grid, snap_m=snap_m)
    if cache is not None and source_key is not None:
        cells = grid.cells
        cache.store(source_key, locator, {
            "community_name": cells["community_name"].tolist(),
            "street_name": cells["street_name"].tolist(),
            "district_name": cells["district_name"].tolist(),
            "tags": cells["tags"].tolist()})
    return FileLocator(locator, False)


def locate_file(settings, grid_path: str, in_path: str, out_path: str, *, working_crs: str,
                snap_m: float, default_crs: str = "wgs84", encoding: str = "utf-8",
                layer: str | None = None, force: bool = False, chunk_size: int = 1_000_000,
                progress: Callable[[int], None] | None = None):
    """`gridroute locate`: check the output path, get the grid's locator, locate the CSV."""
    from gridroute.grids.batch import check_output_path, locate_csv

    check_output_path(in_path, out_path)
    found = file_locator(settings, grid_path, working_crs=working_crs, snap_m=snap_m,
                         layer=layer, force=force)
    return locate_csv(found.locator, in_path, out_path, default_crs=default_crs,
                      encoding=encoding, chunk_size=chunk_size, progress=progress)
