"""The escalation ladder (督办层级): who an overdue case goes to at each supervision level.

Level 1 is the responsible unit itself (its leadership), then the street's grid centre
(街道网格中心), the district centre (区网格化管理中心) and the city centre (市网格化管理中心):
"三级平台" above the unit. The escalation tick, the notifications and the pages read the
level's recipient and label from here; the timing of each level is the SLA policy's.
"""
from __future__ import annotations

from dataclasses import dataclass

from gridroute.reference.models import UnitType

#: Level 1's recipient: the unit responsible for the late phase, not a unit type.
RESPONSIBLE_UNIT = "unit"


@dataclass(frozen=True)
class Rung:
    level: int
    recipient: str      # RESPONSIBLE_UNIT or a UnitType
    label_zh: str
    label_en: str

    def label(self, language: str = "zh-CN") -> str:
        return self.label_en if language.lower().startswith("en") else self.label_zh


LADDER: tuple[Rung, ...] = (
    Rung(1, RESPONSIBLE_UNIT, "责任单位督办", "responsible unit"),
    Rung(2, UnitType.GRID_CENTRE, "街道网格中心督办", "street grid centre"),
    Rung(3, UnitType.DISTRICT_CENTRE, "区网格化管理中心督办", "district centre"),
    Rung(4, UnitType.CITY_CENTRE, "市网格化管理中心督办", "city centre"),
)
#: The highest supervision level a case can reach.
TOP_LEVEL = len(LADDER)
#: Recipients from the bottom up: a level whose recipient does not exist goes to the next.
RECIPIENT_ORDER: tuple[str, ...] = tuple(r.recipient for r in LADDER)


def rung(level: int) -> Rung:
    """The rung of supervision `level` (1-based)."""
    if not 1 <= level <= TOP_LEVEL:
        raise ValueError(f"no escalation level {level}: levels are 1 to {TOP_LEVEL}")
    return LADDER[level - 1]
