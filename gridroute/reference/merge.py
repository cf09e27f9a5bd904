"""Changing stored reference data without losing any: differences, the catalogue merge of
`import standards` and the replacement of `init --reset-reference`.

Nothing here deletes a category or a standards row: what a new catalogue no longer lists is
retired (kept, marked with the time), so cases filed under it still name it and a standards id
is never given to another row. Pure functions on `ReferenceData`; the service stores the result.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from gridroute.reference.models import Category, ReferenceData, Standard

LIST_AT_MOST = 8
"""Codes named per line of a summary before it says "… and N more"."""


@dataclass(frozen=True)
class WorkbookRow:
    """One readable 立案条件 row of a standards workbook, at `where` (sheet!row)."""

    where: str
    category_code: str
    filing_condition: str
    closing_condition: str
    urgency: str
    limit: object  # sla.clock.Limit
    limit_note: str = ""
    handling_unit_hint: str = ""
    supervising_dept: str = ""


@dataclass
class StandardsWorkbook:
    """What a standards workbook holds: its 小类, its readable rows, and the rows rejected by
    themselves (`rejected`, `sheet!row: field: reason`); `kept` are the (小类, 立案条件) of
    rejected rows, whose stored rows stay as they are; `warnings` say what was read leniently."""

    categories: dict[str, Category] = field(default_factory=dict)
    rows: list[WorkbookRow] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    kept: set[tuple[str, str]] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


@dataclass
class TableDiff:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # one line per code, what changed

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass
class ReferenceDiff:
    """Per table (`小类`, `standards rows`, `units`, `components`): codes added, changed and
    removed going from the old data to the new."""

    tables: dict[str, TableDiff]

    def __bool__(self) -> bool:
        return any(self.tables.values())

    def lines(self, *, added: str = "added", removed: str = "removed") -> list[str]:
        out = []
        for name, table in self.tables.items():
            if not table:
                continue
            parts = []
            for label, codes in ((added, table.added), ("changed", table.changed),
                                 (removed, table.removed)):
                if codes:
                    shown = ", ".join(codes[:LIST_AT_MOST])
                    more = f" … and {len(codes) - LIST_AT_MOST} more" if len(
                        codes) > LIST_AT_MOST else ""
                    parts.append(f"{len(codes)} {label} ({shown}{more})")
            out.append(f"{name}: " + "; ".join(parts))
        return out

    def details(self) -> list[str]:
        """Every code added (+), changed (~, with the fields) or removed (-), table by table."""
        return [line for table in self.tables.values() for line in table.details]


def _label(row) -> str:
    if isinstance(row, Category):
        return row.minor_name_zh
    if isinstance(row, Standard):
        return f"{row.filing_condition} ({row.limit})"
    return getattr(row, "name_zh", "")


def _changes(a, b, ignore: tuple[str, ...]) -> list[str]:
    """`field 'old' → 'new'` for each field that differs."""
    return [f"{f.name} '{getattr(a, f.name)}' → '{getattr(b, f.name)}'"
            for f in dataclasses.fields(a)
            if f.name not in ignore and getattr(a, f.name) != getattr(b, f.name)]


def _table(name: str, old: dict, new: dict, ignore: tuple[str, ...] = (),
           gone: str = "removed") -> TableDiff:
    table = TableDiff()
    for key in sorted(set(old) | set(new)):
        if key not in old:
            table.added.append(key)
            table.details.append(f"+ {name} {key} {_label(new[key])}".rstrip())
        elif key not in new:
            table.removed.append(key)
            table.details.append(f"- {name} {key} {_label(old[key])} ({gone})")
        else:
            changes = _changes(old[key], new[key], ignore)
            if changes:
                table.changed.append(key)
                table.details.append(f"~ {name} {key}: " + "; ".join(changes))
    return table


def diff(old: ReferenceData, new: ReferenceData, *, components: bool = True) -> ReferenceDiff:
    """What is in force in `new` and not in `old`, and the other way round."""
    tables = {"小类": _table("小类", old.categories, new.categories, ("retired_at",), "retired"),
              "standards rows": _table("standards row", old.standards, new.standards,
                                       ("retired_at",), "retired"),
              "units": _table("unit", old.units, new.units)}
    if components:
        tables["components"] = _table("component", old.components, new.components)
    return ReferenceDiff(tables)


def _retire(active: dict, retired: dict, keep, at: datetime) -> dict:
    """The retired rows after a change that keeps `keep` in force: rows in force that are not
    kept are retired now, rows retired before stay so unless kept again."""
    result = {key: row for key, row in retired.items() if key not in keep}
    for key, row in active.items():
        if key not in keep:
            result[key] = dataclasses.replace(row, retired_at=at)
    return result


def replace_with(current: ReferenceData, files: ReferenceData, at: datetime) -> ReferenceData:
    """`files` in force; stored categories and standards rows the files no longer list are
    retired, rows retired before stay retired (a file giving a retired id brings it back)."""
    return dataclasses.replace(
        files,
        retired_categories=_retire(current.categories, current.retired_categories,
                                   files.categories, at),
        retired_standards=_retire(current.standards, current.retired_standards,
                                  files.standards, at))


def merge_catalogue(current: ReferenceData, workbook: StandardsWorkbook, at: datetime
                    ) -> tuple[ReferenceData, list[str]]:
    """The stored data with the workbook's catalogue in force; returns it and the warnings
    (duplicate rows).

    - A 小类 takes the workbook's names; what the workbook has no column for (English names,
      duplicate radius and window) is kept from the stored 小类. 小类 the workbook does not
      list are retired with their rows.
    - A standards row keeps its id while its 小类 and 立案条件 are unchanged (its limit, 结案条件
      and units may change); a new 立案条件 gets the next free number of its 小类, counting
      retired rows, so no id is ever reused; stored rows the workbook no longer lists are
      retired, except those matching a rejected row (they stay as they are).
    - A second row with the same 小类 and 立案条件 is warned about and ignored.
    """
    warnings: list[str] = []
    categories: dict[str, Category] = {}
    for code, category in workbook.categories.items():
        old = current.find_category(code)
        if old is not None:
            category = dataclasses.replace(
                category, major_name_en=category.major_name_en or old.major_name_en,
                minor_name_en=category.minor_name_en or old.minor_name_en,
                duplicate_radius_m=old.duplicate_radius_m,
                duplicate_window_h=old.duplicate_window_h)
        categories[code] = dataclasses.replace(category, retired_at=None)
    retired_categories = _retire(current.categories, current.retired_categories, categories, at)

    stored = [*current.standards.values(), *current.retired_standards.values()]
    by_key: dict[tuple[str, str], Standard] = {}
    next_seq: dict[str, int] = {}
    for standard in sorted(stored, key=lambda s: (s.retired_at is not None, s.seq)):
        by_key.setdefault((standard.category_code, standard.filing_condition), standard)
        next_seq[standard.category_code] = max(next_seq.get(standard.category_code, 0),
                                               standard.seq)
    standards: dict[str, Standard] = {}
    first_at: dict[tuple[str, str], str] = {}
    for row in workbook.rows:
        key = (row.category_code, row.filing_condition)
        if key in first_at:
            warnings.append(f"{row.where}: 立案条件: duplicate of {first_at[key]} "
                            f"('{row.filing_condition}' in {row.category_code}); "
                            f"the first row is kept")
            continue
        first_at[key] = row.where
        match = by_key.get(key)
        if match is not None:
            sid, seq = match.id, match.seq
        else:
            seq = next_seq.get(row.category_code, 0) + 1
            next_seq[row.category_code] = seq
            sid = f"{row.category_code}-{seq}"
        standards[sid] = Standard(
            id=sid, category_code=row.category_code, seq=seq,
            filing_condition=row.filing_condition, urgency=row.urgency, limit=row.limit,
            closing_condition=row.closing_condition, handling_unit_hint=row.handling_unit_hint,
            supervising_dept=row.supervising_dept, limit_note=row.limit_note)
    for key in workbook.kept:
        match = by_key.get(key)
        if (match is not None and match.id not in standards and match.retired_at is None
                and match.category_code in categories):
            standards[match.id] = match
    retired_standards = _retire(current.standards, current.retired_standards, standards, at)
    merged = ReferenceData(categories=categories, standards=standards, units=current.units,
                           components=current.components,
                           retired_categories=retired_categories,
                           retired_standards=retired_standards)
    return merged, warnings
