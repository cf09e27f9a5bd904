"""Reference data repository: units, categories, standards rows, components and the revision
marker other processes watch. The services never see these tables."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gridroute.cases.model import OPEN_STATES
from gridroute.reference.models import Category, Component, ReferenceData, Standard, Unit
from gridroute.sla.clock import Limit
from gridroute.store import tables as t

_CATEGORY_COLUMNS = tuple(t.categories.c.keys())
_OPEN = sorted(s.value for s in OPEN_STATES)


class ReferenceRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def revision(self) -> int:
        """The stored reference data's revision (0 before the first store)."""
        state = t.reference_state
        return self.conn.execute(
            sa.select(state.c.revision).where(state.c.id == 1)).scalar() or 0

    def lock_for_change(self, at: datetime) -> None:
        """Serialise changes of the reference data: a second `import standards` or `init`
        waits until the first commits, then reads what it wrote. SQLite's write transaction
        (BEGIN IMMEDIATE) already does; PostgreSQL locks the revision row (made if absent)."""
        if self.conn.dialect.name != "postgresql":
            return
        from sqlalchemy.dialects.postgresql import insert

        state = t.reference_state
        self.conn.execute(insert(state).values(id=1, revision=0, stored_at=at)
                          .on_conflict_do_nothing(index_elements=[state.c.id]))
        self.conn.execute(sa.select(state.c.revision).where(state.c.id == 1).with_for_update())

    def load(self, *, with_components: bool = True) -> ReferenceData:
        """Everything stored, retired rows in their own dicts."""
        categories, retired_categories = {}, {}
        for r in self.conn.execute(sa.select(t.categories)).all():
            category = Category(**dict(r._mapping))
            (retired_categories if category.retired_at else categories)[category.code] = category
        standards, retired_standards = {}, {}
        for r in self.conn.execute(sa.select(t.standards)).all():
            m = dict(r._mapping)
            limit = Limit(m.pop("limit_amount"), m.pop("limit_unit"))
            for key in ("handling_unit_hint", "supervising_dept", "limit_note",
                        "closing_condition"):
                m[key] = m[key] or ""
            standard = Standard(limit=limit, **m)
            (retired_standards if standard.retired_at else standards)[standard.id] = standard
        units = {}
        for r in self.conn.execute(sa.select(t.units)).all():
            m = dict(r._mapping)
            m["streets"] = tuple(x for x in (m["streets"] or "").split(",") if x)
            m["cells"] = tuple(x for x in (m["cells"] or "").split(",") if x)
            for key in ("contact_phone", "contact_email", "webhook_url"):
                m[key] = m[key] or ""
            units[m["code"]] = Unit(**m)
        components = {}
        if with_components:
            components = {r.object_id: Component(r.object_id, r.category_code, r.lon, r.lat,
                                                 r.owner_unit_code, r.maintainer_unit_code or "")
                          for r in self.conn.execute(sa.select(t.components)).all()}
        return ReferenceData(categories=categories, standards=standards, units=units,
                             components=components, retired_categories=retired_categories,
                             retired_standards=retired_standards)

    def component_rows(self) -> list[sa.Row]:
        """Components with their working-CRS coordinates (the nearest-owner index)."""
        c = t.components.c
        return self.conn.execute(sa.select(c.object_id, c.category_code, c.lon, c.lat, c.x, c.y,
                                           c.owner_unit_code, c.maintainer_unit_code)).all()

    def store(self, data: ReferenceData, at: datetime, *,
              components: Sequence[tuple[Component, float, float]] | None = None) -> int:
        """Write `data` (in force and retired rows) in place of what is stored and bump the
        revision; returns the new revision. `components` (with x, y in the working CRS)
        replaces the components when given. Runs inside the caller's transaction."""
        self.conn.execute(t.standards.delete())
        self.conn.execute(t.categories.delete())
        self.conn.execute(t.units.delete())
        categories = [*data.categories.values(), *data.retired_categories.values()]
        standards = [*data.standards.values(), *data.retired_standards.values()]
        if categories:
            self.conn.execute(t.categories.insert(), [_category_row(c) for c in categories])
        if standards:
            self.conn.execute(t.standards.insert(), [_standard_row(s) for s in standards])
        if data.units:
            self.conn.execute(t.units.insert(), [_unit_row(u) for u in data.units.values()])
        if components is not None:
            self.conn.execute(t.components.delete())
            if components:
                self.conn.execute(t.components.insert(), [
                    {"object_id": c.object_id, "category_code": c.category_code, "lon": c.lon,
                     "lat": c.lat, "x": x, "y": y, "owner_unit_code": c.owner_unit_code,
                     "maintainer_unit_code": c.maintainer_unit_code}
                    for c, x, y in components])
        return self._bump_revision(at)

    def _bump_revision(self, at: datetime) -> int:
        state = t.reference_state
        bumped = self.conn.execute(state.update().where(state.c.id == 1)
                                   .values(revision=state.c.revision + 1, stored_at=at))
        if bumped.rowcount == 0:
            self.conn.execute(state.insert().values(id=1, revision=1, stored_at=at))
        return self.revision()

    def open_cases_using(self, *, categories: Collection[str] = (),
                         units: Collection[str] = ()) -> dict[tuple[str, str], tuple[int, str]]:
        """Open cases per ("category"|"unit", code) among the given codes:
        (count, 案卷号 of the oldest)."""
        from gridroute.store.repository import public_id_of

        c = t.cases.c
        found: dict[tuple[str, str], tuple[int, int]] = {}
        for what, column, codes in (("category", c.category_code, categories),
                                    ("unit", c.unit_code, units)):
            if not codes:
                continue
            rows = self.conn.execute(
                sa.select(column, sa.func.count(), sa.func.min(c.id))
                .where(column.in_(sorted(codes)), c.state.in_(_OPEN)).group_by(column)).all()
            for code, count, first in rows:
                at = self.conn.execute(sa.select(c.reported_at).where(c.id == first)).scalar()
                found[(what, code)] = (count, public_id_of(first, at))
        return found


def reference_stored(engine: Engine) -> bool | None:
    """True when the database holds reference data, False when it holds none, None when it has
    no reference tables yet (not initialised). Reads only; creates nothing."""
    inspector = sa.inspect(engine)
    if not inspector.has_table("reference_state"):
        return None
    with engine.connect() as conn:
        return ReferenceRepository(conn).revision() > 0


def _category_row(c: Category) -> dict:
    return {k: getattr(c, k) for k in _CATEGORY_COLUMNS}


def _standard_row(s: Standard) -> dict:
    return {"id": s.id, "category_code": s.category_code, "seq": s.seq,
            "filing_condition": s.filing_condition, "urgency": s.urgency,
            "limit_amount": float(s.limit.amount), "limit_unit": s.limit.unit,
            "closing_condition": s.closing_condition, "handling_unit_hint": s.handling_unit_hint,
            "supervising_dept": s.supervising_dept, "limit_note": s.limit_note,
            "retired_at": s.retired_at}


def _unit_row(u: Unit) -> dict:
    return {"code": u.code, "name_zh": u.name_zh, "name_en": u.name_en, "unit_type": u.unit_type,
            "parent_code": u.parent_code, "streets": ",".join(u.streets),
            "cells": ",".join(u.cells), "contact_phone": u.contact_phone,
            "contact_email": u.contact_email, "webhook_url": u.webhook_url}
