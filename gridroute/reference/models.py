"""Reference data records: categories (部件/事件 小类), standards (立案/结案条件 and 处置时限),
responsible units (责任单位) and components (部件).

All records are frozen dataclasses; loaders in `gridroute.reference.loaders` build them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from gridroute.sla.clock import Limit

KIND_LETTERS = {"component": "C", "event": "E"}
"""Category kind → code letter: `C` 部件 (component), `E` 事件 (event)."""



class Urgency(StrEnum):
    """普通 normal or 紧急 urgent: of a case, of a standards row, in a rule."""

    NORMAL = "normal"
    URGENT = "urgent"


URGENCIES = tuple(Urgency)



class UnitType(StrEnum):
    """Kinds of responsible unit (`units.csv` column unit_type)."""

    ENFORCEMENT_SQUAD = "enforcement_squad"  # 城管执法中队
    GRID_CENTRE = "grid_centre"              # 街道网格中心
    GREENING = "greening"                    # 绿化市容所
    MUNICIPAL = "municipal"                  # 市政养护公司 / 路灯所
    HOUSING_OFFICE = "housing_office"        # 房管办
    WATER = "water"                          # 水务所 / 供水 / 排水公司
    POLICE = "police"                        # 公安派出所
    PROPERTY = "property"                    # 物业
    UTILITY = "utility"                      # 电力 / 燃气 / 通讯
    DISTRICT_CENTRE = "district_centre"      # 区网格化管理中心
    CITY_CENTRE = "city_centre"              # 市网格化管理中心


UNIT_TYPES = frozenset(UnitType)


@dataclass(frozen=True)
class Category:
    """One 小类 of the catalogue. `code` = kind letter + 2-digit 大类 + 2-digit 小类, e.g. `C0101`
    (上水井盖); it is also the Open311 `service_code`."""

    code: str
    kind: str  # "component" | "event"
    major_code: str  # 2 digits, e.g. "01"
    major_name_zh: str
    major_name_en: str
    minor_code: str  # 2 digits
    minor_name_zh: str
    minor_name_en: str
    duplicate_radius_m: float | None = None
    duplicate_window_h: float | None = None
    retired_at: datetime | None = None  # no longer in the catalogue; kept for old cases

    @property
    def kind_letter(self) -> str:
        return KIND_LETTERS[self.kind]

    @property
    def major_key(self) -> str:
        """Kind letter + 大类 code, e.g. `C01`."""
        return self.code[:3]


@dataclass(frozen=True)
class Standard:
    """One 立案条件 row of a 小类, with its 处置时限 and 结案条件. `id` is `<category>-<seq>`."""

    id: str
    category_code: str
    seq: int
    filing_condition: str  # 立案条件
    urgency: Urgency
    limit: Limit  # 处置时限
    closing_condition: str  # 结案条件
    handling_unit_hint: str = ""  # 处置单位 as written in the catalogue
    supervising_dept: str = ""  # 主管部门
    limit_note: str = ""  # text after the limit in the catalogue's cell, e.g. "制止"
    retired_at: datetime | None = None  # removed from the catalogue; its id is never reused


@dataclass(frozen=True)
class Unit:
    """A responsible unit (责任单位) or a centre. `streets`/`cells` give its area; both empty means
    the unit serves the whole managed area (city-wide utilities). `parent_code` is the next level
    up for escalation (unit → street centre → district centre → city centre)."""

    code: str
    name_zh: str
    name_en: str
    unit_type: str
    parent_code: str | None = None
    streets: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()
    contact_phone: str = ""
    contact_email: str = ""
    webhook_url: str = ""


@dataclass(frozen=True)
class Component:
    """A 部件 with its 16-digit object id: 6 county + 2 大类 + 2 小类 + 6 serial."""

    object_id: str
    category_code: str
    lon: float  # WGS84
    lat: float  # WGS84
    owner_unit_code: str  # 权属单位
    maintainer_unit_code: str  # 养护单位


@dataclass(frozen=True)
class ReferenceData:
    """All reference tables, keyed by code, cross-checked by `load_reference`.

    `categories` and `standards` hold what is in force; rows removed from the catalogue are kept
    in `retired_categories` / `retired_standards` (cases filed under them still name them, and
    a standards id is never given to another row)."""

    categories: dict[str, Category] = field(default_factory=dict)
    standards: dict[str, Standard] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)
    retired_categories: dict[str, Category] = field(default_factory=dict)
    retired_standards: dict[str, Standard] = field(default_factory=dict)

    def find_standard(self, standard_id: str) -> Standard | None:
        """A standards row by id, in force or retired."""
        return self.standards.get(standard_id) or self.retired_standards.get(standard_id)

    def find_category(self, code: str) -> Category | None:
        return self.categories.get(code) or self.retired_categories.get(code)

    def standards_for(self, category_code: str) -> list[Standard]:
        """Standards rows of one 小类 in `seq` order."""
        return list(self._standards_by_category.get(category_code, ()))

    @functools.cached_property
    def _standards_by_category(self) -> dict[str, tuple[Standard, ...]]:
        # built on first use: intake asks for every report
        grouped: dict[str, list[Standard]] = {}
        for standard in self.standards.values():
            grouped.setdefault(standard.category_code, []).append(standard)
        return {code: tuple(sorted(rows, key=lambda s: s.seq)) for code, rows in grouped.items()}
