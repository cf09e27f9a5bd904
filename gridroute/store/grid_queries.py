"""Reads of the active grid version's cells (for maps)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.store import tables as t


def active_version(conn: Connection):
    return conn.execute(sa.select(t.grid_versions).where(t.grid_versions.c.active)).first()


def cell_rows(conn: Connection, version_id: int) -> list:
    c = t.grid_cells.c
    return conn.execute(sa.select(
        c.cell_code, c.community_code, c.street_code, c.district_code, c.community_name,
        c.street_name, c.district_name, c.geometry_wkb)
        .where(c.version_id == version_id).order_by(c.cell_code)).all()


class GridMapRepository:
    """`uow.grid_maps`: the active grid's cells with names and geometry."""

    def __init__(self, conn: Connection):
        self._conn = conn

    def active_version(self):
        return active_version(self._conn)

    def cell_rows(self, version_id: int) -> list:
        return cell_rows(self._conn, version_id)
