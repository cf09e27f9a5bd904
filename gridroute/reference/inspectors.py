"""Grid inspectors (网格监督员) and the cells they patrol, from `inspectors.csv`.

Verify (核实) and check (核查) tasks go to an inspector of the case's cell; this roster says
who that is. Columns: code, name_zh, communities (12-digit codes), cells (15-digit codes);
lists are separated by `;`. An inspector covers a cell listed in `cells` or lying in one of
the `communities`. Errors are reported as `file:line: column: reason`, all at once.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from gridroute.reference.loaders import ReferenceDataError

COLUMNS = ("code", "name_zh", "communities", "cells")
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Inspector:
    code: str
    name_zh: str
    communities: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()

    def covers(self, cell_code: str | None) -> bool:
        if not cell_code:
            return False
        return cell_code in self.cells or cell_code[:12] in self.communities


def load_inspectors_csv(path: str | Path) -> dict[str, Inspector]:
    """The roster by inspector code; raises ReferenceDataError listing every bad row."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError([f"{source}:0: file: cannot read ({exc})"]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ReferenceDataError([f"{source}:1: header: missing column '{c}'" for c in missing])
    errors: list[str] = []
    roster: dict[str, Inspector] = {}
    for row in reader:
        line = reader.line_num
        code = (row.get("code") or "").strip()
        name = (row.get("name_zh") or "").strip()
        lists = {}
        for column, digits in (("communities", 12), ("cells", 15)):
            items = tuple(v for v in re.split(r"[;,\s]+", row.get(column) or "") if v)
            bad = [v for v in items if not re.fullmatch(rf"\d{{{digits}}}", v)]
            for value in bad:
                errors.append(f"{source}:{line}: {column}: '{value}' is not a {digits}-digit code")
            lists[column] = items
        if not code or not _CODE_RE.match(code):
            errors.append(f"{source}:{line}: code: '{code}' is empty or holds characters other "
                          f"than letters, digits, '.', '_' and '-'")
        elif code in roster:
            errors.append(f"{source}:{line}: code: duplicate '{code}'")
        if not name:
            errors.append(f"{source}:{line}: name_zh: empty")
        if not lists["communities"] and not lists["cells"]:
            errors.append(f"{source}:{line}: communities: the inspector patrols no cell")
        roster.setdefault(code, Inspector(code, name, lists["communities"], lists["cells"]))
    if errors:
        raise ReferenceDataError(errors)
    return roster
