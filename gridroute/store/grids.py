"""Grid versions and their cells as stored rows (`grid_versions`, `grid_cells`).

A loaded grid file becomes a version; exactly one version is active (the one new reports are
located against). The services see versions as `GridVersion` values and cells as plain rows;
the SQL stays here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.store import tables as t

_v = t.grid_versions.c
_c = t.grid_cells.c
_ATTRIBUTES = (_c.cell_code, _c.community_code, _c.street_code, _c.district_code,
               _c.community_name, _c.street_name, _c.district_name, _c.tags)


class GridVersion(NamedTuple):
    id: int
    content_hash: str
    source_path: str
    working_crs: str
    loaded_at: datetime
    cell_count: int
    active: bool


_VERSION_COLUMNS = (_v.id, _v.content_hash, _v.source_path, _v.working_crs, _v.loaded_at,
                    _v.cell_count, _v.active)


class StreetCount(NamedTuple):
    district_code: str
    district_name: str | None
    street_code: str
    street_name: str | None
    communities: int
    cells: int


class GridRepository:
    def __init__(self, conn: Connection):
        self._conn = conn

    def active(self) -> GridVersion | None:
        row = self._conn.execute(sa.select(*_VERSION_COLUMNS).where(_v.active)).first()
        return GridVersion(*row) if row else None

    def by_hash(self, content_hash: str) -> GridVersion | None:
        row = self._conn.execute(sa.select(*_VERSION_COLUMNS)
                                 .where(_v.content_hash == content_hash)).first()
        return GridVersion(*row) if row else None

    def versions(self) -> list[GridVersion]:
        rows = self._conn.execute(sa.select(*_VERSION_COLUMNS).order_by(_v.id.desc())).all()
        return [GridVersion(*r) for r in rows]

    def activate(self, version_id: int) -> None:
        """Make `version_id` the only active version."""
        self._conn.execute(t.grid_versions.update().where(_v.id != version_id)
                           .values(active=False))
        self._conn.execute(t.grid_versions.update().where(_v.id == version_id)
                           .values(active=True))

    def add(self, *, content_hash: str, source_path: str, working_crs: str, loaded_at: datetime,
            summary: dict, cells: Iterable[dict[str, Any]]) -> int:
        """Store a new version with its cells (inactive; `activate` it in the same unit of
        work). Each cell row: codes, names, tags (comma-joined) and `geometry_wkb`."""
        cells = list(cells)
        version_id = self._conn.execute(t.grid_versions.insert().values(
            content_hash=content_hash, source_path=source_path, working_crs=working_crs,
            loaded_at=loaded_at, cell_count=len(cells), active=False, summary=summary)
            .returning(_v.id)).scalar_one()
        if cells:
            self._conn.execute(t.grid_cells.insert(),
                               [{**row, "version_id": version_id} for row in cells])
        return version_id

    def cells(self, version_id: int, *, geometry: bool = True) -> list[sa.Row]:
        """The version's cells in code order; without `geometry` the WKB is not read."""
        columns = _ATTRIBUTES + ((_c.geometry_wkb,) if geometry else ())
        return self._conn.execute(sa.select(*columns).where(_c.version_id == version_id)
                                  .order_by(_c.cell_code)).all()

    def street_counts(self, version_id: int) -> list[StreetCount]:
        rows = self._conn.execute(
            sa.select(_c.district_code, _c.district_name, _c.street_code, _c.street_name,
                      sa.func.count(sa.distinct(_c.community_code)),
                      sa.func.count())
            .where(_c.version_id == version_id)
            .group_by(_c.district_code, _c.district_name, _c.street_code, _c.street_name)
            .order_by(_c.street_code)).all()
        return [StreetCount(*r) for r in rows]
