"""The grid as GeoJSON (WGS84) for maps: cells simplified for display, streets and communities
dissolved from them. Built once per grid version and cached with the grid."""
from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import shapely

from gridroute.services.context import AppContext
from gridroute.services.errors import NotFound, ServiceError

LEVELS = ("cells", "communities", "streets")
# Built once per grid content per process (several AppContexts may share a process: tests).
_BUILT: dict[str, Any] = {}
# Display tolerance in metres (working CRS): invisible at street zoom, a third of the vertices.
SIMPLIFY_M = 1.0


def cell_frame(ctx: AppContext):
    """(active grid version, GeoDataFrame of its cells with their parent codes), cached per
    version."""
    with ctx.uow(read_only=True) as uow:
        version = uow.grid_maps.active_version()
        if version is None:
            raise NotFound("no grid is loaded; run `gridroute init`", field="grid")
        key = f"geojson-frame:{version.id}"
        cached = ctx.grid_cache.get(key)
        if cached is not None:
            return version, cached
        rows = uow.grid_maps.cell_rows(version.id)
    frame = gpd.GeoDataFrame(
        {"cell_code": [r.cell_code for r in rows],
         "community_code": [r.community_code for r in rows],
         "street_code": [r.street_code for r in rows],
         "district_code": [r.district_code for r in rows],
         "community_name": [r.community_name or "" for r in rows],
         "street_name": [r.street_name or "" for r in rows],
         "district_name": [r.district_name or "" for r in rows]},
        geometry=shapely.from_wkb([r.geometry_wkb for r in rows]), crs=version.working_crs)
    ctx.grid_cache[key] = frame
    return version, frame


def grid_geojson(ctx: AppContext, level: str, *, street: str | None = None,
                 community: str | None = None) -> dict[str, Any]:
    if level not in LEVELS:
        raise ServiceError(f"must be one of {', '.join(LEVELS)}", field="level")
    version, frame = cell_frame(ctx)
    cache_key = f"{version.content_hash}:{level}:{street or ''}:{community or ''}"
    cached = _BUILT.get(cache_key)
    if cached is not None:
        return {**cached, "grid_version": version.id}
    df = frame
    if street:
        df = df[df.street_code == street]
    if community:
        df = df[df.community_code == community]
    if level == "cells":
        out = df[["cell_code", "community_code", "street_code", "district_code",
                  "geometry"]].copy()
    elif level == "communities":
        out = df.dissolve(by="community_code", as_index=False, aggfunc="first")[
            ["community_code", "community_name", "street_code", "district_code", "geometry"]]
    else:
        out = df.dissolve(by="street_code", as_index=False, aggfunc="first")[
            ["street_code", "street_name", "district_code", "geometry"]]
    # simplify topology-preserving in metres, then to WGS84 with 6 decimals (~0.1 m)
    out = out.set_geometry(out.geometry.simplify(SIMPLIFY_M, preserve_topology=True))
    out = out.to_crs("EPSG:4326")
    out = out.set_geometry(shapely.set_precision(out.geometry.values, 1e-6))
    data = json.loads(out.to_json(drop_id=True))
    result = {"type": "FeatureCollection", "features": data["features"]}
    _BUILT[cache_key] = result
    return {**result, "grid_version": version.id}
