"""Grid use cases: load a grid file as a new version, serve the active version's locator."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import shapely
import sqlalchemy as sa

from gridroute.grids.layers import CodeScheme, load_grid
from gridroute.services.context import AppContext
from gridroute.store import tables as t


# How often (seconds) a process looks whether another process activated a new grid version;
# loads in this process take effect at once.
RECHECK_S = 2.0

# Locators are immutable and keyed by content: contexts of one process share them.
_BUILT: dict[tuple, tuple] = {}


@dataclass
class GridLoadResult:
    version_id: int
    content_hash: str
    created: bool
    cell_count: int
    report: str


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


def read_and_validate(ctx: AppContext, path: str):
    """Read and validate a grid file with the configured settings; raises GridValidationError."""
    g = ctx.config.grid
    return load_grid(path, working_crs=g.working_crs, scheme=code_scheme(ctx),
                     street_names=g.street_names or None,
                     repair_max_area_change=g.repair_max_area_change,
                     overlap_tolerance_m2=g.overlap_tolerance_m2,
                     gap_tolerance_m2=g.gap_tolerance_m2)


def load_grid_file(ctx: AppContext, path: str | None = None) -> GridLoadResult:
    """Validate `path` and make it the active grid. Same content as a stored version →
    that version is reactivated, nothing new is created. Hard errors raise
    GridValidationError and leave the previously active grid serving."""
    path = path or ctx.config.grid.path
    layer, report = read_and_validate(ctx, path)
    cells = layer.cells
    now = ctx.now()
    with ctx.uow() as uow:
        existing = uow.execute(sa.select(t.grid_versions.c.id).where(
            t.grid_versions.c.content_hash == layer.content_hash)).scalar()
        uow.execute(t.grid_versions.update().values(active=False))
        if existing is not None:
            uow.execute(t.grid_versions.update().where(t.grid_versions.c.id == existing)
                        .values(active=True))
            version_id, created = existing, False
        else:
            version_id = uow.execute(t.grid_versions.insert().values(
                content_hash=layer.content_hash, source_path=str(path),
                working_crs=layer.working_crs, loaded_at=now, cell_count=len(cells),
                active=True, summary=layer.summary()).returning(t.grid_versions.c.id)).scalar_one()
            wkb = shapely.to_wkb(cells.geometry.values)
            rows = [{
                "version_id": version_id, "cell_code": r.cell_code,
                "community_code": r.community_code, "street_code": r.street_code,
                "district_code": r.district_code, "community_name": r.community_name,
                "street_name": r.street_name, "district_name": r.district_name,
                "tags": ",".join(r.tags or ()), "geometry_wkb": wkb[i],
            } for i, r in enumerate(cells.itertuples(index=False))]
            uow.execute(t.grid_cells.insert(), rows)
            created = True
        uow.commit()
    ctx.invalidate_caches()
    return GridLoadResult(version_id, layer.content_hash, created, len(cells), report.render())


def active_grid(ctx: AppContext) -> ActiveGrid | None:
    """The active version's locator, built once per process and version."""
    from gridroute.grids.locator import Locator

    cached = ctx._grid_cache.get("active")
    if cached is not None and time.monotonic() - ctx._grid_cache.get("checked", 0) < RECHECK_S:
        return cached
    with ctx.uow(read_only=True) as uow:
        version = uow.execute(sa.select(t.grid_versions).where(t.grid_versions.c.active)).first()
        if version is None:
            return None
        ctx._grid_cache["checked"] = time.monotonic()
        if cached is not None and cached.version_id == version.id:
            return cached
        key = (version.content_hash, version.working_crs, ctx.config.grid.snap_tolerance_m)
        shared = _BUILT.get(key)
        if shared is not None:
            grid = ActiveGrid(version.id, version.content_hash, *shared)
            with ctx._lock:
                ctx._grid_cache["active"] = grid
            return grid
        rows = uow.execute(sa.select(t.grid_cells).where(t.grid_cells.c.version_id == version.id)
                           .order_by(t.grid_cells.c.cell_code)).all()
    geoms = shapely.from_wkb([r.geometry_wkb for r in rows])
    locator = Locator.from_geometries(
        [r.cell_code for r in rows], geoms,
        community_codes=[r.community_code for r in rows],
        street_codes=[r.street_code for r in rows],
        district_codes=[r.district_code for r in rows],
        working_crs=version.working_crs, snap_m=ctx.config.grid.snap_tolerance_m)
    names: dict[str, str] = {}
    for r in rows:
        names.setdefault(r.street_code, r.street_name or r.street_code)
        names.setdefault(r.community_code, r.community_name or r.community_code)
        names.setdefault(r.district_code, r.district_name or r.district_code)
    tags = {r.cell_code: tuple(x for x in r.tags.split(",") if x) for r in rows}
    _BUILT[key] = (locator, tags, names)
    grid = ActiveGrid(version.id, version.content_hash, locator, tags, names)
    with ctx._lock:
        ctx._grid_cache["active"] = grid
    return grid


def grid_overview(ctx: AppContext) -> dict | None:
    """What the grid page and /healthz show: version, hash, streets with counts."""
    c = t.grid_cells.c
    with ctx.uow(read_only=True) as uow:
        version = uow.execute(sa.select(t.grid_versions).where(t.grid_versions.c.active)).first()
        if version is None:
            return None
        rows = uow.execute(
            sa.select(c.district_code, c.district_name, c.street_code, c.street_name,
                      sa.func.count(sa.distinct(c.community_code)).label("communities"),
                      sa.func.count().label("cells"))
            .where(c.version_id == version.id)
            .group_by(c.district_code, c.district_name, c.street_code, c.street_name)
            .order_by(c.street_code)).all()
        versions = uow.execute(sa.select(t.grid_versions.c.id, t.grid_versions.c.content_hash,
                                         t.grid_versions.c.loaded_at, t.grid_versions.c.cell_count,
                                         t.grid_versions.c.active)
                               .order_by(t.grid_versions.c.id.desc())).all()
    return {
        "version_id": version.id,
        "content_hash": version.content_hash,
        "loaded_at": version.loaded_at.astimezone(ctx.tz).isoformat(),
        "source_path": version.source_path,
        "working_crs": version.working_crs,
        "cell_count": version.cell_count,
        "community_count": sum(r.communities for r in rows),
        "streets": [{"district_code": r.district_code, "district_name": r.district_name,
                     "street_code": r.street_code, "street_name": r.street_name,
                     "communities": r.communities, "cells": r.cells} for r in rows],
        "versions": [{"id": v.id, "content_hash": v.content_hash,
                      "loaded_at": v.loaded_at.astimezone(ctx.tz).isoformat(),
                      "cell_count": v.cell_count, "active": v.active} for v in versions],
    }
