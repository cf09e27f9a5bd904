"""Loaders for reference data: CSV files (one per table) and the standards spreadsheet.

Every loader validates every row and either returns everything or raises `ReferenceDataError`
listing all problems, each as `file:line: column: reason` (spreadsheet rows as
`sheet!row: column: reason`). Nothing partial is ever returned.

CSV files are UTF-8 (a BOM written by Excel is accepted) with a header row; each loader's
docstring lists its columns. Unknown or missing columns are errors.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import unicodedata
from collections.abc import Container
from pathlib import Path
from typing import Callable, Iterable

from gridroute.grids.codes import CodeScheme
from gridroute.reference.merge import StandardsWorkbook, WorkbookRow
from gridroute.reference.models import (
    KIND_LETTERS, UNIT_TYPES, URGENCIES, Category, Component, ReferenceData, Standard, Unit,
    Urgency,
)
from gridroute.sla.clock import CHINESE_LIMIT_UNITS, Limit, LimitOutOfRange, LimitParseError

PathLike = str | os.PathLike

CATEGORY_CODE_RE = re.compile(r"^[CE]\d{4}$")
UNIT_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^[0-9+\-() ]+$")
LIST_SPLIT_RE = re.compile(r"[;,\s]+")
LETTER_KINDS = {letter: kind for kind, letter in KIND_LETTERS.items()}

CATEGORY_COLUMNS = ("code", "kind", "major_code", "major_name_zh", "major_name_en", "minor_code",
                    "minor_name_zh", "minor_name_en")
CATEGORY_OPTIONAL = ("aliases", "duplicate_radius_m", "duplicate_window_h")
ALIAS_SPLIT_RE = re.compile(r"[;；]")
STANDARD_COLUMNS = ("id", "category_code", "seq", "filing_condition", "urgency", "limit",
                    "closing_condition")
STANDARD_OPTIONAL = ("handling_unit_hint", "supervising_dept", "limit_note")
UNIT_COLUMNS = ("code", "name_zh", "name_en", "unit_type")
UNIT_OPTIONAL = ("parent_code", "streets", "cells", "contact_phone", "contact_email",
                 "webhook_url")
COMPONENT_COLUMNS = ("object_id", "category_code", "lon", "lat", "owner_unit_code",
                     "maintainer_unit_code")

XLSX_SHEETS = (("部件", "component"), ("事件", "event"))
XLSX_COLUMNS = ("大类代码", "大类名称", "小类代码", "小类名称", "处置单位", "主管部门",
                "立案条件", "结案条件", "处置时限")


class ReferenceDataError(ValueError):
    """Reference data could not be loaded; `errors` lists every problem found."""

    def __init__(self, errors: Iterable[str]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in reference data:\n" +
                         "\n".join(self.errors))


# ---------------------------------------------------------------------------------------------
# CSV plumbing

class _Row:
    """One CSV record with its starting line number; `get` returns stripped text."""

    def __init__(self, source: str, line: int, values: dict[str, str], errors: list[str]):
        self.source = source
        self.line = line
        self.values = values
        self._errors = errors
        self.ok = True

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def error(self, column: str, reason: str) -> None:
        self._errors.append(f"{self.source}:{self.line}: {column}: {reason}")
        self.ok = False


def _read_csv(path: PathLike, required: tuple[str, ...], optional: tuple[str, ...],
              errors: list[str]) -> list[_Row]:
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        errors.append(f"{source}:0: file: cannot read ({exc.strerror or exc})")
        return []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        errors.append(f"{source}:{line}: file: not valid UTF-8")
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        errors.append(f"{source}:1: header: file is empty")
        return []
    except csv.Error as exc:
        errors.append(f"{source}:1: header: {exc}")
        return []
    header = [h.strip() for h in header]
    header_ok = True
    for column in required:
        if column not in header:
            errors.append(f"{source}:1: header: missing column '{column}'")
            header_ok = False
    seen: set[str] = set()
    for column in header:
        if column in seen:
            errors.append(f"{source}:1: header: duplicate column '{column}'")
            header_ok = False
        elif column not in required and column not in optional:
            errors.append(f"{source}:1: header: unknown column '{column}'")
            header_ok = False
        seen.add(column)
    if not header_ok:
        return []
    rows: list[_Row] = []
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"{source}:{start}: row: {exc}")
            break
        last_line = reader.line_num
        if not record or all(not v.strip() for v in record):
            continue
        if len(record) != len(header):
            errors.append(f"{source}:{start}: row: expected {len(header)} fields, "
                          f"got {len(record)}")
            continue
        rows.append(_Row(source, start, dict(zip(header, record)), errors))
    return rows


def _required(row: _Row, column: str) -> str:
    value = row.get(column)
    if not value:
        row.error(column, "empty")
    return value


def _optional_positive(row: _Row, column: str) -> float | None:
    text = row.get(column)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        row.error(column, f"not a positive number: '{text}'")
        return None
    return value


def _category_code(row: _Row, column: str) -> str:
    code = _required(row, column)
    if code and not CATEGORY_CODE_RE.match(code):
        row.error(column, f"'{code}' is not a category code (C or E + 4 digits)")
        return ""
    return code


def _unique(row: _Row, column: str, value: str, seen: dict[str, int]) -> None:
    if not value:
        return
    if value in seen:
        row.error(column, f"duplicate '{value}' (first on line {seen[value]})")
    else:
        seen[value] = row.line


def _known(row: _Row, column: str, value: str, known: Container[str] | None, what: str) -> None:
    if value and known is not None and value not in known:
        row.error(column, f"unknown {what} '{value}'")


def _finish(path: PathLike, errors: list[str], result):
    """Raise with the errors in line order (stable within a line), or return `result`."""
    if errors:
        skip = len(str(path)) + 1

        def line_of(message: str) -> int:
            head = message[skip:].split(":", 1)[0]
            return int(head) if head.isdigit() else 0
        raise ReferenceDataError(sorted(errors, key=line_of))
    return result


# ---------------------------------------------------------------------------------------------
# CSV loaders

def load_categories_csv(path: PathLike) -> list[Category]:
    """Read `categories.csv`: code, kind, major_code, major_name_zh, major_name_en, minor_code,
    minor_name_zh, minor_name_en[, aliases, duplicate_radius_m, duplicate_window_h].

    `aliases` lists local names of the 小类 separated by `;` (e.g. 无证设摊;占道经营)."""
    errors: list[str] = []
    rows = _read_csv(path, CATEGORY_COLUMNS, CATEGORY_OPTIONAL, errors)
    result: list[Category] = []
    seen: dict[str, int] = {}
    majors: dict[str, tuple[str, str, int]] = {}
    name_owner: dict[str, tuple[str, int]] = {}
    for row in rows:
        code = _category_code(row, "code")
        kind = _required(row, "kind")
        if kind and kind not in KIND_LETTERS:
            row.error("kind", f"must be 'component' or 'event', got '{kind}'")
        elif kind and code and LETTER_KINDS[code[0]] != kind:
            row.error("kind", f"'{kind}' does not match code letter '{code[0]}'")
        for column, digits in (("major_code", code[1:3]), ("minor_code", code[3:5])):
            value = _required(row, column)
            if value and not re.fullmatch(r"\d{2}", value):
                row.error(column, f"'{value}' is not 2 digits")
            elif value and code and value != digits:
                row.error(column, f"'{value}' does not match code '{code}'")
        names = {c: _required(row, c) for c in ("major_name_zh", "major_name_en",
                                                "minor_name_zh", "minor_name_en")}
        radius = _optional_positive(row, "duplicate_radius_m")
        window = _optional_positive(row, "duplicate_window_h")
        aliases = _aliases(row, names["minor_name_zh"])
        # a name or alias may point at one 小类 only, or search could not tell them apart
        for name in (names["minor_name_zh"], *aliases):
            if not name or not code:
                continue
            first = name_owner.setdefault(name, (code, row.line))
            if first[0] != code:
                row.error("aliases" if name in aliases else "minor_name_zh",
                          f"'{name}' already names {first[0]} (line {first[1]})")
        _unique(row, "code", code, seen)
        if code and names["major_name_zh"]:
            key = code[:3]
            first = majors.setdefault(key, (names["major_name_zh"], names["major_name_en"],
                                            row.line))
            for column, value, expected in (("major_name_zh", names["major_name_zh"], first[0]),
                                            ("major_name_en", names["major_name_en"], first[1])):
                if value != expected:
                    row.error(column, f"'{value}' differs from '{expected}' on line {first[2]} "
                                      f"for 大类 {key}")
        if row.ok:
            result.append(Category(
                code=code, kind=kind, major_code=code[1:3],
                major_name_zh=names["major_name_zh"], major_name_en=names["major_name_en"],
                minor_code=code[3:5], minor_name_zh=names["minor_name_zh"],
                minor_name_en=names["minor_name_en"],
                duplicate_radius_m=radius, duplicate_window_h=window, aliases=aliases))
    return _finish(path, errors, result)


def _aliases(row: _Row, name: str) -> tuple[str, ...]:
    items = tuple(a.strip() for a in ALIAS_SPLIT_RE.split(row.get("aliases")) if a.strip())
    for alias in items:
        if alias == name:
            row.error("aliases", f"'{alias}' is the 小类 name itself")
    if len(set(items)) != len(items):
        row.error("aliases", "an alias is listed twice")
    return items


def load_standards_csv(path: PathLike, *,
                       categories: Container[str] | None = None) -> list[Standard]:
    """Read `standards.csv`: id, category_code, seq, filing_condition, urgency, limit,
    closing_condition[, handling_unit_hint, supervising_dept, limit_note].

    `id` must be `<category_code>-<seq>`; `limit` is "4 working_hours" or Chinese "4工作时".
    With `categories` given, every category_code must be one of them.
    """
    errors: list[str] = []
    rows = _read_csv(path, STANDARD_COLUMNS, STANDARD_OPTIONAL, errors)
    result: list[Standard] = []
    seen: dict[str, int] = {}
    for row in rows:
        category = _category_code(row, "category_code")
        _known(row, "category_code", category, categories, "category")
        seq_text = _required(row, "seq")
        seq = 0
        if seq_text:
            if re.fullmatch(r"\d+", seq_text) and int(seq_text) > 0:
                seq = int(seq_text)
            else:
                row.error("seq", f"not a positive integer: '{seq_text}'")
        std_id = _required(row, "id")
        if std_id and category and seq and std_id != f"{category}-{seq}":
            row.error("id", f"expected '{category}-{seq}' for category_code and seq, "
                            f"got '{std_id}'")
        _unique(row, "id", std_id, seen)
        filing = _required(row, "filing_condition")
        closing = _required(row, "closing_condition")
        urgency = _required(row, "urgency")
        if urgency and urgency not in URGENCIES:
            row.error("urgency", f"must be 'normal' or 'urgent', got '{urgency}'")
        limit_text = _required(row, "limit")
        limit = None
        if limit_text:
            try:
                limit = Limit.from_text(limit_text)
            except LimitOutOfRange as exc:  # it reads, but is negative or absurdly long
                row.error("limit", str(exc).replace("bad limit amount ", "")
                          .replace("bad limit ", ""))
            except LimitParseError:
                row.error("limit", f"cannot read '{limit_text}'")
        if row.ok:
            result.append(Standard(
                id=std_id, category_code=category, seq=seq, filing_condition=filing,
                urgency=urgency, limit=limit, closing_condition=closing,
                handling_unit_hint=row.get("handling_unit_hint"),
                supervising_dept=row.get("supervising_dept"),
                limit_note=row.get("limit_note")))
    return _finish(path, errors, result)


def _code_list(row: _Row, column: str, digits: int) -> tuple[str, ...]:
    text = row.get(column)
    if not text:
        return ()
    items = tuple(v for v in LIST_SPLIT_RE.split(text) if v)
    for item in items:
        if not re.fullmatch(rf"\d{{{digits}}}", item):
            row.error(column, f"'{item}' is not a {digits}-digit code")
    return items


def load_units_csv(path: PathLike, *, scheme: CodeScheme | None = None) -> list[Unit]:
    """Read `units.csv`: code, name_zh, name_en, unit_type[, parent_code, streets, cells,
    contact_phone, contact_email, webhook_url]. `streets`/`cells` are lists separated by `;`,
    of the lengths of `scheme` (the default 15-digit one if none).
    `parent_code` must name another unit of the file, without cycles."""
    scheme = scheme or CodeScheme()
    errors: list[str] = []
    rows = _read_csv(path, UNIT_COLUMNS, UNIT_OPTIONAL, errors)
    seen: dict[str, int] = {}
    parsed: list[tuple[_Row, Unit]] = []
    for row in rows:
        code = _required(row, "code")
        if code and not UNIT_CODE_RE.match(code):
            row.error("code", f"'{code}' may hold only letters, digits, '.', '_' and '-'")
        _unique(row, "code", code, seen)
        name_zh = _required(row, "name_zh")
        name_en = _required(row, "name_en")
        unit_type = _required(row, "unit_type")
        if unit_type and unit_type not in UNIT_TYPES:
            row.error("unit_type", f"unknown unit type '{unit_type}' "
                                   f"(known: {', '.join(sorted(UNIT_TYPES))})")
        streets = _code_list(row, "streets", scheme.digits("street"))
        cells = _code_list(row, "cells", scheme.digits("cell"))
        phone = row.get("contact_phone")
        if phone and not PHONE_RE.match(phone):
            row.error("contact_phone", f"not a phone number: '{phone}'")
        email = row.get("contact_email")
        if email and not EMAIL_RE.match(email):
            row.error("contact_email", f"not an e-mail address: '{email}'")
        webhook = row.get("webhook_url")
        if webhook and not webhook.startswith(("http://", "https://")):
            row.error("webhook_url", f"must start with http:// or https://: '{webhook}'")
        parsed.append((row, Unit(
            code=code, name_zh=name_zh, name_en=name_en, unit_type=unit_type,
            parent_code=row.get("parent_code") or None, streets=streets, cells=cells,
            contact_phone=phone, contact_email=email, webhook_url=webhook)))
    parents: dict[str, str | None] = {}
    for _, unit in parsed:
        if unit.code:
            parents.setdefault(unit.code, unit.parent_code)
    for row, unit in parsed:
        parent = unit.parent_code
        if parent is None:
            continue
        if parent == unit.code:
            row.error("parent_code", "a unit cannot be its own parent")
        elif parent not in parents:
            row.error("parent_code", f"unknown unit '{parent}'")
        else:
            chain = [unit.code]
            current: str | None = parent
            while current is not None and current in parents:
                if current in chain:
                    row.error("parent_code", "cycle: " + " → ".join(chain + [current]))
                    break
                chain.append(current)
                current = parents[current]
    return _finish(path, errors, [unit for row, unit in parsed if row.ok])


def _coordinate(row: _Row, column: str, low: float, high: float) -> float:
    text = _required(row, column)
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        row.error(column, f"not a number: '{text}'")
        return math.nan
    if not (low <= value <= high):
        row.error(column, f"{value} is outside {low:g}..{high:g}")
    return value


def load_components_csv(path: PathLike, *, categories: Container[str] | None = None,
                        units: Container[str] | None = None) -> list[Component]:
    """Read `components.csv`: object_id, category_code, lon, lat (WGS84), owner_unit_code,
    maintainer_unit_code. The object id's 大类/小类 digits must match the category."""
    errors: list[str] = []
    rows = _read_csv(path, COMPONENT_COLUMNS, (), errors)
    result: list[Component] = []
    seen: dict[str, int] = {}
    for row in rows:
        object_id = _required(row, "object_id")
        if object_id and not re.fullmatch(r"\d{16}", object_id):
            row.error("object_id", f"'{object_id}' is not 16 digits")
            object_id = ""
        _unique(row, "object_id", object_id, seen)
        category = _category_code(row, "category_code")
        if category and category[0] != "C":
            row.error("category_code", f"a component needs a 部件 (C) category, got '{category}'")
        elif category:
            _known(row, "category_code", category, categories, "category")
            if object_id and object_id[6:10] != category[1:5]:
                row.error("object_id", f"大类/小类 digits '{object_id[6:10]}' do not match "
                                       f"category_code '{category}'")
        lon = _coordinate(row, "lon", -180.0, 180.0)
        lat = _coordinate(row, "lat", -90.0, 90.0)
        owner = _required(row, "owner_unit_code")
        _known(row, "owner_unit_code", owner, units, "unit")
        maintainer = _required(row, "maintainer_unit_code")
        _known(row, "maintainer_unit_code", maintainer, units, "unit")
        if row.ok:
            result.append(Component(object_id=object_id, category_code=category, lon=lon,
                                    lat=lat, owner_unit_code=owner,
                                    maintainer_unit_code=maintainer))
    return _finish(path, errors, result)


def load_reference(*, categories: PathLike, standards: PathLike, units: PathLike,
                   components: PathLike | None = None,
                   scheme: CodeScheme | None = None) -> ReferenceData:
    """Load all four tables and cross-check them (standards → categories, components →
    categories and units); unit streets and cells have `scheme`'s lengths. Errors of all
    files are reported together."""
    errors: list[str] = []

    def attempt(loader: Callable[[], list]) -> list:
        try:
            return loader()
        except ReferenceDataError as exc:
            errors.extend(exc.errors)
            return []

    category_list = attempt(lambda: load_categories_csv(categories))
    unit_list = attempt(lambda: load_units_csv(units, scheme=scheme))
    category_codes = {c.code for c in category_list} if category_list else None
    unit_codes = {u.code for u in unit_list} if unit_list else None
    standard_list = attempt(lambda: load_standards_csv(standards, categories=category_codes))
    component_list = attempt(lambda: load_components_csv(
        components, categories=category_codes, units=unit_codes)) if components else []
    if errors:
        raise ReferenceDataError(errors)
    return ReferenceData(
        categories={c.code: c for c in category_list},
        standards={s.id: s for s in standard_list},
        units={u.code: u for u in unit_list},
        components={c.object_id: c for c in component_list})


# ---------------------------------------------------------------------------------------------
# Standards spreadsheet (one sheet per kind: 部件, 事件)

def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _two_digits(text: str, parent: str | None = None) -> str | None:
    """'1' / '01' → '01'; a 4-digit 小类代码 that starts with its 大类代码 gives its last two."""
    if re.fullmatch(r"\d{1,2}", text):
        return text.zfill(2)
    if parent is not None and re.fullmatch(r"\d{4}", text) and text[:2] == parent:
        return text[2:]
    return None


_LEADING_LIMIT_RE = re.compile(
    r"\s*(\d+(?:\.\d+)?|\.\d+)\s*个?\s*("
    + "|".join(sorted(map(re.escape, CHINESE_LIMIT_UNITS), key=len, reverse=True)) + ")")
_NOTE_TRIM = " \t,，;；:：、。()（）[]【】"


def read_limit_cell(text: str) -> tuple[Limit, str, str]:
    """A 处置时限 cell → (limit, the text read as the limit, the note after it).

    `2紧急工作时` reads whole; `1紧急工作时制止` reads 1 natural hour with the note "制止" (catalogues
    append the expected action). Raises `LimitParseError` when no limit starts the cell."""
    normal = unicodedata.normalize("NFKC", text).strip()
    try:
        return Limit.parse_chinese(normal), normal, ""
    except LimitOutOfRange:
        raise
    except LimitParseError:
        pass
    match = _LEADING_LIMIT_RE.match(normal)
    if match is None:
        raise LimitParseError(f"no limit at the start of {text!r}")
    read = match.group(0).strip()
    # the note as written (full-width punctuation kept) when normalising kept the length
    original = text.strip()
    rest = original if len(original) == len(normal) else normal
    return Limit.parse_chinese(read), read, rest[match.end():].strip(_NOTE_TRIM)


def load_standards_xlsx(path: PathLike) -> tuple[list[Category], list[Standard]]:
    """The whole workbook or nothing: raises `ReferenceDataError` for any rejected row.
    Standards ids number each 小类's rows from 1 in workbook order (see
    `read_standards_workbook` for the lenient reading and the columns)."""
    workbook = read_standards_workbook(path)
    if workbook.rejected:
        raise ReferenceDataError(workbook.rejected)
    seqs: dict[str, int] = {}
    standards = []
    for row in workbook.rows:
        seq = seqs[row.category_code] = seqs.get(row.category_code, 0) + 1
        standards.append(Standard(
            id=f"{row.category_code}-{seq}", category_code=row.category_code, seq=seq,
            filing_condition=row.filing_condition, urgency=row.urgency, limit=row.limit,
            closing_condition=row.closing_condition, handling_unit_hint=row.handling_unit_hint,
            supervising_dept=row.supervising_dept, limit_note=row.limit_note))
    return list(workbook.categories.values()), standards


def read_standards_workbook(path: PathLike) -> StandardsWorkbook:
    """Read a standards catalogue workbook with sheets 部件 and 事件, row by row.

    Each sheet has a header row with 大类代码, 大类名称, 小类代码, 小类名称, 处置单位, 主管部门,
    立案条件, 结案条件, 处置时限 (found by name, in any order). A continuation row leaves the first
    six columns blank and adds another 立案条件 row to the 小类 above; a row that gives a 小类 but
    leaves 大类代码 and 大类名称 blank stays in the 大类 above (merged cells). 处置时限 is read by
    `read_limit_cell` (text after the limit is kept as the row's note, with a warning); a limit
    containing 紧急 makes the row urgent. Category codes are the kind letter + 2-digit 大类 +
    2-digit 小类; English names are left empty.

    A row that cannot be read is rejected by itself (`sheet!row: column: reason`); an unreadable
    file, a missing sheet or column raises `ReferenceDataError`.
    """
    from openpyxl import load_workbook  # imported here: only the importer needs openpyxl

    source = str(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a non-workbook file
        raise ReferenceDataError([f"{source}: cannot open workbook ({exc})"]) from None
    errors: list[str] = []
    result = StandardsWorkbook()
    category_rows: dict[str, str] = {}
    try:
        for sheet_name, kind in XLSX_SHEETS:
            if sheet_name not in workbook.sheetnames:
                errors.append(f"{source}: sheet '{sheet_name}' missing "
                              f"(sheets: {', '.join(workbook.sheetnames)})")
                continue
            errors.extend(_read_sheet(workbook[sheet_name], sheet_name, kind, result,
                                      category_rows))
    finally:
        workbook.close()
    if errors:
        raise ReferenceDataError(errors)
    return result


def _read_sheet(sheet, sheet_name: str, kind: str, result: StandardsWorkbook,
                category_rows: dict[str, str]) -> list[str]:
    """Rows of one sheet into `result`; returns the sheet-level errors (header)."""
    rows = [(n, [_cell_text(v) for v in values])
            for n, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
    header_at = next((i for i, (_, cells) in enumerate(rows[:10]) if "大类代码" in cells), None)
    if header_at is None:
        return [f"{sheet_name}!1: header: no row with '大类代码' in the first 10 rows"]
    header_no, header = rows[header_at]
    columns: dict[str, int] = {}
    errors = []
    for name in XLSX_COLUMNS:
        if name in header:
            columns[name] = header.index(name)
        else:
            errors.append(f"{sheet_name}!{header_no}: header: missing column '{name}'")
    if errors:
        return errors
    letter = KIND_LETTERS[kind]
    context: dict[str, str] | None = None  # the first six columns currently in force
    broken = False  # the 小类 above was unreadable (already reported)
    first_six = XLSX_COLUMNS[:6]
    for row_no, cells in rows[header_at + 1:]:
        values = {name: (cells[i] if i < len(cells) else "") for name, i in columns.items()}
        if not any(values.values()):
            continue
        where = f"{sheet_name}!{row_no}"
        problems: list[str] = []
        if not any(values[name] for name in first_six):
            if context is None and not broken:
                problems.append(f"{where}: 小类代码: continuation row before any 小类")
            elif context is None:
                problems.append(f"{where}: 小类代码: the 小类 above could not be read")
        else:
            inherited = context or {}
            new = {name: values[name] for name in first_six}
            if not new["大类代码"] and not new["大类名称"] and inherited:
                new["大类代码"] = inherited["大类代码"]
                new["大类名称"] = inherited["大类名称"]
            major = _two_digits(new["大类代码"]) if new["大类代码"] else None
            if not new["大类代码"]:
                problems.append(f"{where}: 大类代码: empty")
            elif major is None:
                problems.append(f"{where}: 大类代码: cannot read '{new['大类代码']}'")
            minor = _two_digits(new["小类代码"], major) if new["小类代码"] else None
            if not new["小类代码"]:
                problems.append(f"{where}: 小类代码: empty")
            elif minor is None:
                problems.append(f"{where}: 小类代码: cannot read '{new['小类代码']}'")
            for name in ("大类名称", "小类名称"):
                if not new[name]:
                    problems.append(f"{where}: {name}: empty")
            if not problems:
                new["code"] = f"{letter}{major}{minor}"
                new["major"], new["minor"] = major, minor
                problems.extend(_register_category(where, new["code"], kind, new,
                                                   result.categories, category_rows))
            if problems:
                context, broken = None, True
            else:
                context, broken = new, False
        filing = values["立案条件"]
        if not filing:
            problems.append(f"{where}: 立案条件: empty")
        limit, read, note = None, "", ""
        limit_text = values["处置时限"]
        if not limit_text:
            problems.append(f"{where}: 处置时限: empty")
        else:
            try:
                limit, read, note = read_limit_cell(limit_text)
            except LimitOutOfRange as exc:  # it reads, but is negative or absurdly long
                problems.append(f"{where}: 处置时限: " + str(exc).replace("bad limit amount ", "")
                                .replace("bad limit ", ""))
            except LimitParseError:
                problems.append(f"{where}: 处置时限: cannot read '{limit_text}' "
                                f"(no limit such as 4工作时 at its start)")
        if problems:
            result.rejected.extend(problems)
            if context is not None and filing:
                result.kept.add((context["code"], filing))
            continue
        if note:
            result.warnings.append(f"{where}: 处置时限: read '{read}' from '{limit_text}', "
                                   f"note '{note}'")
        result.rows.append(WorkbookRow(
            where=where, category_code=context["code"], filing_condition=filing,
            closing_condition=values["结案条件"],
            urgency=Urgency.URGENT if "紧急" in read else Urgency.NORMAL, limit=limit, limit_note=note,
            handling_unit_hint=context["处置单位"], supervising_dept=context["主管部门"]))
    return []


def _register_category(where: str, code: str, kind: str, context: dict[str, str],
                       categories: dict[str, Category], category_rows: dict[str, str]) -> list[str]:
    existing = categories.get(code)
    if existing is None:
        for other in categories.values():
            if other.code[:3] == code[:3] and other.major_name_zh != context["大类名称"]:
                return [f"{where}: 大类名称: '{context['大类名称']}' differs from "
                        f"'{other.major_name_zh}' given at {category_rows[other.code]} "
                        f"for 大类 {code[:3]}"]
        categories[code] = Category(
            code=code, kind=kind, major_code=context["major"],
            major_name_zh=context["大类名称"], major_name_en="", minor_code=context["minor"],
            minor_name_zh=context["小类名称"], minor_name_en="")
        category_rows[code] = where
        return []
    if existing.minor_name_zh != context["小类名称"]:
        return [f"{where}: 小类名称: '{context['小类名称']}' differs from "
                f"'{existing.minor_name_zh}' given at {category_rows[code]} for {code}"]
    if existing.major_name_zh != context["大类名称"]:
        return [f"{where}: 大类名称: '{context['大类名称']}' differs from "
                f"'{existing.major_name_zh}' given at {category_rows[code]} for 大类 {code[:3]}"]
    return []
