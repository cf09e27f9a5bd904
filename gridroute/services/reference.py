"""Reference data use cases: units, categories, standards rows, components; the routing rules
holder; the nearest-component lookup the rule engine asks for."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from gridroute.grids.coords import to_working
from gridroute.reference.loaders import load_reference, load_standards_xlsx
from gridroute.reference.models import Category, Component, ReferenceData, Standard, Unit
from gridroute.services.context import AppContext
from gridroute.sla.clock import Limit
from gridroute.store import tables as t

RECHECK_S = 2.0
"""How long a process trusts its cached reference data before asking the database whether
another process stored new data (one single-row read)."""


def load_reference_files(ctx: AppContext) -> ReferenceData:
    """Read the configured CSV files (all-or-nothing) and store them."""
    r = ctx.config.reference
    data = load_reference(categories=r.categories, standards=r.standards, units=r.units,
                          components=r.components or None)
    store_reference(ctx, data)
    return data


def store_reference(ctx: AppContext, data: ReferenceData, *, replace_components: bool = True) -> None:
    """Replace the stored reference tables with `data` in one transaction."""
    crs = ctx.config.grid.working_crs
    comps = list(data.components.values())
    if comps:
        xs, ys = to_working(np.array([c.lon for c in comps]), np.array([c.lat for c in comps]),
                            "wgs84", crs)
    with ctx.uow() as uow:
        uow.execute(t.standards.delete())
        uow.execute(t.categories.delete())
        uow.execute(t.units.delete())
        if replace_components:
            uow.execute(t.components.delete())
        if data.categories:
            uow.execute(t.categories.insert(), [_category_row(c) for c in data.categories.values()])
        if data.standards:
            uow.execute(t.standards.insert(), [_standard_row(s) for s in data.standards.values()])
        if data.units:
            uow.execute(t.units.insert(), [_unit_row(u) for u in data.units.values()])
        _bump_revision(uow, ctx.now())
        if comps and replace_components:
            uow.execute(t.components.insert(), [
                {"object_id": c.object_id, "category_code": c.category_code, "lon": c.lon,
                 "lat": c.lat, "x": float(xs[i]), "y": float(ys[i]),
                 "owner_unit_code": c.owner_unit_code,
                 "maintainer_unit_code": c.maintainer_unit_code} for i, c in enumerate(comps)])
        uow.commit()
    ctx.invalidate_caches()


def _bump_revision(uow, at) -> None:
    state = t.reference_state
    bumped = uow.execute(state.update().where(state.c.id == 1)
                         .values(revision=state.c.revision + 1, stored_at=at))
    if bumped.rowcount == 0:
        uow.execute(state.insert().values(id=1, revision=1, stored_at=at))


def reference_revision(uow) -> int:
    """The stored reference data's revision (0 before the first store)."""
    state = t.reference_state
    return uow.execute(sa.select(state.c.revision).where(state.c.id == 1)).scalar() or 0


def import_standards_workbook(ctx: AppContext, path: str) -> tuple[int, int]:
    """Import 部件/事件 standards from a city's Excel template; nothing changes on any error."""
    categories, standards = load_standards_xlsx(path)
    current = reference_data(ctx)
    merged = ReferenceData(
        categories={**current.categories, **{c.code: c for c in categories}},
        standards={**{k: v for k, v in current.standards.items()
                      if v.category_code not in {c.code for c in categories}},
                   **{s.id: s for s in standards}},
        units=current.units, components=current.components)
    store_reference(ctx, merged, replace_components=False)
    return len(categories), len(standards)


def reference_data(ctx: AppContext) -> ReferenceData:
    """The stored reference tables, cached per process until the next store."""
    cache = ctx._reference_cache
    cached = cache.get("data")
    if cached is not None and time.monotonic() - cache.get("checked", 0) < RECHECK_S:
        return cached
    with ctx.uow(read_only=True) as uow:
        revision = reference_revision(uow)
        if cached is not None:
            if revision == cache.get("revision"):
                cache["checked"] = time.monotonic()
                return cached
            # another process stored new reference data: drop every copy built from ours
            ctx.invalidate_reference()
            cache = ctx._reference_cache
        cats = {r.code: Category(**{k: r._mapping[k] for k in r._mapping.keys()})
                for r in uow.execute(sa.select(t.categories)).all()}
        stds = {}
        for r in uow.execute(sa.select(t.standards)).all():
            m = dict(r._mapping)
            limit = Limit(m.pop("limit_amount"), m.pop("limit_unit"))
            stds[m["id"]] = Standard(limit=limit, **m)
        units = {}
        for r in uow.execute(sa.select(t.units)).all():
            m = dict(r._mapping)
            m["streets"] = tuple(x for x in (m["streets"] or "").split(",") if x)
            m["cells"] = tuple(x for x in (m["cells"] or "").split(",") if x)
            units[m["code"]] = Unit(**m)
        comps = {r.object_id: Component(r.object_id, r.category_code, r.lon, r.lat,
                                        r.owner_unit_code, r.maintainer_unit_code or "")
                 for r in uow.execute(sa.select(t.components)).all()}
    data = ReferenceData(categories=cats, standards=stds, units=units, components=comps)
    with ctx._lock:
        cache.update(data=data, revision=revision, checked=time.monotonic())
    return data


@dataclass
class ComponentIndex:
    """Components by category with working-CRS coordinates, for 'nearest owner' routing."""

    by_category: dict[str, tuple[np.ndarray, np.ndarray, list[Component]]]

    def nearest(self, category_code: str, x: float, y: float, radius_m: float) -> Component | None:
        entry = self.by_category.get(category_code)
        if entry is None:
            return None
        xs, ys, comps = entry
        d2 = (xs - x) ** 2 + (ys - y) ** 2
        i = int(np.argmin(d2))
        return comps[i] if d2[i] <= radius_m * radius_m else None


def component_index(ctx: AppContext) -> ComponentIndex:
    reference_data(ctx)  # drops this index too when another process stored new data
    cached = ctx._reference_cache.get("components")
    if cached is not None:
        return cached
    groups: dict[str, list] = {}
    with ctx.uow(read_only=True) as uow:
        for r in uow.execute(sa.select(t.components)).all():
            groups.setdefault(r.category_code, []).append(r)
    index = ComponentIndex({
        code: (np.array([r.x for r in rows]), np.array([r.y for r in rows]),
               [Component(r.object_id, r.category_code, r.lon, r.lat, r.owner_unit_code,
                          r.maintainer_unit_code or "") for r in rows])
        for code, rows in groups.items()})
    with ctx._lock:
        ctx._reference_cache["components"] = index
    return index


def rules_holder(ctx: AppContext):
    from gridroute.rules.holder import RulesHolder

    data = reference_data(ctx)
    return RulesHolder(ctx.config.rules.path, {"known_units": set(data.units),
                                               "known_categories": set(data.categories)})


def _category_row(c: Category) -> dict:
    return {k: getattr(c, k) for k in t.categories.c.keys()}


def _standard_row(s: Standard) -> dict:
    return {"id": s.id, "category_code": s.category_code, "seq": s.seq,
            "filing_condition": s.filing_condition, "urgency": s.urgency,
            "limit_amount": float(s.limit.amount), "limit_unit": s.limit.unit,
            "closing_condition": s.closing_condition, "handling_unit_hint": s.handling_unit_hint,
            "supervising_dept": s.supervising_dept}


def _unit_row(u: Unit) -> dict:
    return {"code": u.code, "name_zh": u.name_zh, "name_en": u.name_en, "unit_type": u.unit_type,
            "parent_code": u.parent_code, "streets": ",".join(u.streets),
            "cells": ",".join(u.cells), "contact_phone": u.contact_phone,
            "contact_email": u.contact_email, "webhook_url": u.webhook_url}
