"""Reference data use cases: units, categories, standards rows, components; the routing rules
holder; the nearest-component lookup the rule engine asks for."""
from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from dataclasses import dataclass, field

import numpy as np

from gridroute.grids.coords import to_working
from gridroute.reference.loaders import (
    ReferenceDataError, load_categories_csv, load_reference, load_standards_csv, load_units_csv,
    read_standards_workbook,
)
from gridroute.reference.merge import ReferenceDiff, diff, merge_catalogue, replace_with
from gridroute.reference.models import Component, ReferenceData
from gridroute.rules.holder import ReferenceCodes, RulesHolder
from gridroute.rules.parse import RulesError, check_ruleset, inspect_ruleset
from gridroute.services.context import AppContext, code_scheme_of
from gridroute.services.errors import ServiceError

RECHECK_S = 2.0
"""How long a process trusts its cached reference data before asking the database whether
another process stored new data (one single-row read)."""


class ReferenceRefused(ServiceError):
    """A reference data change refused as a whole: nothing was written. `errors` lists every
    reason (a rule that would break, as `file:line: ...`; a 小类 open cases still use)."""

    status = 409

    def __init__(self, errors: list[str], *, field: str | None = None):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors), field=field, code="reference_refused")


@dataclass
class ReferenceOutcome:
    """What `init` or `import standards` did (or, with `written` False, would do)."""

    diff: ReferenceDiff
    written: bool
    revision: int
    data: ReferenceData
    warnings: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    seeded: bool = False


def _files(ctx: AppContext) -> ReferenceData:
    r = ctx.config.reference
    return load_reference(categories=r.categories, standards=r.standards, units=r.units,
                          components=r.components or None, scheme=ctx.code_scheme)


def _with_xy(ctx: AppContext, data: ReferenceData) -> list[tuple[Component, float, float]]:
    comps = list(data.components.values())
    if not comps:
        return []
    xs, ys = to_working(np.array([c.lon for c in comps]), np.array([c.lat for c in comps]),
                        "wgs84", ctx.config.grid.working_crs)
    return [(c, float(xs[i]), float(ys[i])) for i, c in enumerate(comps)]


def reference_codes(data: ReferenceData, source: str = "", *, scheme=None) -> ReferenceCodes:
    """The codes rules are validated against: units, categories and standards rows in force,
    and the deployment's cell code scheme. The running system and `gridroute rules check`
    both use this."""
    return ReferenceCodes(units=frozenset(data.units), categories=frozenset(data.categories),
                          standards=frozenset(data.standards), source=source, scheme=scheme)


def _refusals(ctx: AppContext, uow, current: ReferenceData, new: ReferenceData) -> list[str]:
    """Why `new` may not replace `current`: open cases on a 小类 or unit it removes, and every
    rule the change would break (file:line)."""
    reasons = []
    used = uow.reference.open_cases_using(
        categories=set(current.categories) - set(new.categories),
        units=set(current.units) - set(new.units))
    for (what, code), (count, public) in sorted(used.items()):
        label = "小类" if what == "category" else "unit"
        reasons.append(f"{label} {code}: {count} open case(s) use it (first {public}); "
                       f"it would be removed")
    errors, _ = check_ruleset(ctx.config.rules.path,
                              **reference_codes(new, scheme=ctx.code_scheme).kwargs())
    reasons.extend(errors)
    return reasons


def _commit(ctx: AppContext, uow, current: ReferenceData, new: ReferenceData, *,
            components: bool, dry_run: bool = False) -> int:
    """Check `new` against the rules and the open cases inside the caller's transaction; store
    it unless refused or a dry run. Returns the revision in force afterwards."""
    reasons = _refusals(ctx, uow, current, new)
    if reasons:
        raise ReferenceRefused(reasons)
    if dry_run:
        return uow.reference.revision()
    revision = uow.reference.store(new, ctx.now(),
                                   components=_with_xy(ctx, new) if components else None)
    uow.commit()
    ctx.invalidate_caches()
    return revision


def seed_reference(ctx: AppContext, *, reset: bool = False) -> ReferenceOutcome:
    """`gridroute init`'s reference step. An empty database is seeded from the configured CSV
    files. Later the files are only compared with the database, which keeps what was imported
    since; `reset` replaces the database's data with the files (retiring, never deleting, the
    categories and standards rows they lack), refused while open cases use a 小类 or unit it
    would remove. Rules are checked against the new data in the same transaction."""
    files = _files(ctx)
    with ctx.uow() as uow:
        uow.reference.lock_for_change(ctx.now())
        current = uow.reference.load()
        empty = not (current.categories or current.retired_categories or current.units)
        if empty or reset:
            new = files if empty else replace_with(current, files, ctx.now())
            changes = diff(current, new)
            if not changes and not empty:
                return ReferenceOutcome(changes, False, uow.reference.revision(), current)
            revision = _commit(ctx, uow, current, new, components=True)
            return ReferenceOutcome(changes, True, revision, new, seeded=empty)
        return ReferenceOutcome(diff(current, files), False, uow.reference.revision(), current)


def load_reference_files(ctx: AppContext) -> ReferenceData:
    """Replace the stored reference data with the configured CSV files (checked like
    `init --reset-reference`)."""
    return seed_reference(ctx, reset=True).data


def store_reference(ctx: AppContext, data: ReferenceData, *, replace_components: bool = True) -> None:
    """Write `data` as it is, without any check (tests and benchmarks set up fixtures with it;
    users change reference data through `seed_reference` and `import_standards_workbook`)."""
    with ctx.uow() as uow:
        uow.reference.store(data, ctx.now(),
                            components=_with_xy(ctx, data) if replace_components else None)
        uow.commit()
    ctx.invalidate_caches()


def import_standards_workbook(ctx: AppContext, path: str, *, strict: bool = False,
                              dry_run: bool = False) -> ReferenceOutcome:
    """Merge a city's standards catalogue (sheets 部件 and 事件) into the stored reference data
    (see `reference.merge.merge_catalogue`). Rows that cannot be read are rejected by
    themselves and the rest is imported, unless `strict` (then nothing is). Rules are checked
    against the merged data and open cases against the 小类 it retires, in the same
    transaction; `dry_run` reports the changes and writes nothing."""
    workbook = read_standards_workbook(path)
    with ctx.uow() as uow:
        uow.reference.lock_for_change(ctx.now())
        current = uow.reference.load()
        merged, duplicates = merge_catalogue(current, workbook, ctx.now())
        outcome = ReferenceOutcome(diff(current, merged, components=False), False,
                                   uow.reference.revision(), merged,
                                   warnings=[*workbook.warnings, *duplicates],
                                   rejected=list(workbook.rejected))
        if strict and workbook.rejected:
            return outcome
        if not outcome.diff:
            return outcome
        outcome.revision = _commit(ctx, uow, current, merged, components=False,
                                   dry_run=dry_run)
        outcome.written = not dry_run
        return outcome


def reference_revision(uow) -> int:
    """The stored reference data's revision (0 before the first store)."""
    return uow.reference.revision()


def reference_data(ctx: AppContext) -> ReferenceData:
    """The stored reference tables, cached per process until the next store."""
    cache = ctx.reference_cache
    cached = cache.get("data")
    if cached is not None and time.monotonic() - cache.get("checked", 0) < RECHECK_S:
        return cached
    with ctx.uow(read_only=True) as uow:
        revision = uow.reference.revision()
        if cached is not None:
            if revision == cache.get("revision"):
                cache["checked"] = time.monotonic()
                return cached
            # another process stored new reference data: drop every copy built from ours
            ctx.invalidate_reference()
            cache = ctx.reference_cache
        data = uow.reference.load()
    with ctx.lock:
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
    cached = ctx.reference_cache.get("components")
    if cached is not None:
        return cached
    groups: dict[str, list] = {}
    with ctx.uow(read_only=True) as uow:
        for r in uow.reference.component_rows():
            groups.setdefault(r.category_code, []).append(r)
    index = ComponentIndex({
        code: (np.array([r.x for r in rows]), np.array([r.y for r in rows]),
               [Component(r.object_id, r.category_code, r.lon, r.lat, r.owner_unit_code,
                          r.maintainer_unit_code or "") for r in rows])
        for code, rows in groups.items()})
    with ctx.lock:
        ctx.reference_cache["components"] = index
    return index


def _current_codes(ctx: AppContext) -> ReferenceCodes:
    data = reference_data(ctx)  # drops the cached codes when another process stored new data
    codes = ctx.reference_cache.get("rule_codes")
    if codes is None:
        codes = reference_codes(data, f"database revision {ctx.reference_cache.get('revision')}",
                                scheme=ctx.code_scheme)
        with ctx.lock:
            ctx.reference_cache["rule_codes"] = codes
    return codes


def rules_holder(ctx: AppContext) -> RulesHolder:
    """The process's rules holder: validated against the database's reference data, again
    whenever that changes (also when another process stored it); a file that no longer
    validates is refused and the last good rules keep serving."""
    return RulesHolder(ctx.config.rules.path, lambda: _current_codes(ctx))


def rules_status(ctx: AppContext) -> dict:
    """For /healthz: the rules in force and, when the file on disk was refused, why."""
    try:
        holder = ctx.rules
        holder.refresh()
    except RulesError as exc:  # the first load failed: nothing serves
        return {"status": "error", "source": str(ctx.config.rules.path), "rules": 0,
                "sha256": None, "error": "\n".join(exc.errors)}
    return holder.status().to_dict()


@dataclass
class RulesCheck:
    """`gridroute rules check`: errors and warnings (file:line), the rules when valid, and
    which reference data they were checked against (`against`)."""

    errors: list[str]
    warnings: list[str]
    ruleset: object | None
    against: str
    reference_errors: list[str] = field(default_factory=list)


def check_rules_file(config, path: str | None = None, *, units: str | None = None,
                     categories: str | None = None, standards: str | None = None,
                     against: str = "auto") -> RulesCheck:
    """Check a rules file exactly as the running system validates it (`reference_codes`).

    `against` "database" uses the database's reference data, "files" the CSV files (the given
    paths, else the configured ones); "auto" uses the database when it holds reference data
    and the files otherwise (a database that does not exist is not created)."""
    path = path or config.rules.path
    explicit_files = bool(units or categories or standards)
    if against == "database" or (against == "auto" and not explicit_files):
        data = _stored_reference(config)
        if data is not None:
            revision, reference = data
            codes = reference_codes(
                reference, f"the reference data in the database {config.database.url} "
                           f"(revision {revision})", scheme=code_scheme_of(config))
            return _check_with(path, codes)
        if against == "database":
            return RulesCheck([], [], None, "", reference_errors=[
                f"{config.database.url}: database holds no reference data: "
                f"run gridroute init"])
    r = config.reference
    units, categories = units or r.units, categories or r.categories
    if standards is None and not explicit_files and Path(r.standards).exists():
        standards = r.standards
    problems: list[str] = []
    loaded: dict[str, frozenset[str] | None] = {"units": frozenset(), "categories": frozenset(),
                                                "standards": None}
    scheme = code_scheme_of(config)
    for key, loader, file in (("units", partial(load_units_csv, scheme=scheme), units),
                              ("categories", load_categories_csv, categories)):
        try:
            loaded[key] = frozenset(getattr(x, "code") for x in loader(file))
        except ReferenceDataError as exc:
            problems.extend(exc.errors)
    if standards and not problems:
        try:
            loaded["standards"] = frozenset(s.id for s in load_standards_csv(
                standards, categories=loaded["categories"]))
        except ReferenceDataError as exc:
            problems.extend(exc.errors)
    files = ", ".join(str(f) for f in (units, categories, standards) if f)
    if problems:
        return RulesCheck([], [], None, f"the CSV files {files}", reference_errors=problems)
    codes = ReferenceCodes(units=loaded["units"], categories=loaded["categories"],
                           standards=loaded["standards"], source=f"the CSV files {files}",
                           scheme=scheme)
    return _check_with(path, codes)


def _check_with(path: str, codes: ReferenceCodes) -> RulesCheck:
    ruleset, errors, warnings = inspect_ruleset(path, **codes.kwargs())
    return RulesCheck(errors, warnings, None if errors else ruleset, codes.source)


def _stored_reference(config) -> tuple[int, ReferenceData] | None:
    """(revision, data) from the database, or None when it holds none or does not exist."""
    from gridroute.services.context import build_context
    from gridroute.store.reference import reference_stored

    url = config.database.url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    ctx = build_context(config)
    try:
        if not reference_stored(ctx.engine):
            return None
        with ctx.uow(read_only=True) as uow:
            return uow.reference.revision(), uow.reference.load(with_components=False)
    except Exception:  # noqa: BLE001 - an unreachable database: check against the files
        return None
    finally:
        ctx.close()
