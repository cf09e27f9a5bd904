"""Roles and scopes as practised in a 数字城管 centre.

- inspector 网格监督员: the cells they patrol (scope: cell codes, or a community/street code);
- acceptor 受理员 and shift lead 值班长: the centre of a street, a district or the city
  (scope: a street or district code; empty = city centre);
- dispatcher 派遣员: like the centre they work in (scope optional, empty = city);
- unit operator (责任单位 操作员): the cases currently with their unit (`unit_code` required);
- manager 领导: a street or a district (scope required);
- admin: manages users; sees everything, acts on no case.

A scope is a list of grid codes; a case is inside when its cell code starts with one of them
(cell codes embed district, street and community: design.md "Cell codes").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from gridroute.cases.model import Role


class UserRole(str, Enum):
    INSPECTOR = "inspector"
    ACCEPTOR = "acceptor"
    SHIFT_LEAD = "shift_lead"
    DISPATCHER = "dispatcher"
    UNIT = "unit"
    MANAGER = "manager"
    ADMIN = "admin"

    def __str__(self) -> str:
        return self.value

    @property
    def workflow_role(self) -> Role | None:
        """The role the case state machine knows; admin has none (acts on no case)."""
        return None if self is UserRole.ADMIN else Role(self.value)


_ALIASES = {"unit_operator": UserRole.UNIT, "shift-lead": UserRole.SHIFT_LEAD,
            "shiftlead": UserRole.SHIFT_LEAD, "unit-operator": UserRole.UNIT}

#: What each role's scope may be: which code levels, and whether it may be empty (whole city).
ROLE_SCOPES: dict[UserRole, dict[str, Any]] = {
    UserRole.INSPECTOR: {"levels": ("cell", "community", "street"), "empty": False},
    UserRole.ACCEPTOR: {"levels": ("street", "district"), "empty": True},
    UserRole.SHIFT_LEAD: {"levels": ("street", "district"), "empty": True},
    UserRole.DISPATCHER: {"levels": ("street", "district"), "empty": True},
    UserRole.UNIT: {"levels": (), "empty": True},
    UserRole.MANAGER: {"levels": ("street", "district"), "empty": False},
    UserRole.ADMIN: {"levels": (), "empty": True},
}


def parse_role(value: str) -> UserRole:
    text = (value or "").strip().lower()
    if text in _ALIASES:
        return _ALIASES[text]
    try:
        return UserRole(text)
    except ValueError:
        names = ", ".join(r.value for r in UserRole)
        raise ValueError(f"unknown role {value!r}; one of {names}") from None


def parse_scope(value: str | None) -> tuple[str, ...]:
    """`"310101002,310101003"` → both codes, blanks dropped, duplicates removed, order kept."""
    seen: dict[str, None] = {}
    for part in (value or "").replace(";", ",").split(","):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


def scope_error(role: UserRole, unit_code: str | None, scope: tuple[str, ...],
                level_of: dict[str, str]) -> tuple[str, str] | None:
    """Why this role cannot have this unit/scope, as (field, reason); None when fine.
    `level_of` maps every known grid code to its level (cell/community/street/district)."""
    rule = ROLE_SCOPES[role]
    if role is UserRole.UNIT and not unit_code:
        return "unit", "a unit operator needs --unit CODE"
    if role is not UserRole.UNIT and unit_code:
        return "unit", f"only unit operators belong to a unit, not {role.value}"
    if not scope and not rule["empty"]:
        levels = "/".join(rule["levels"])
        return "scope", f"a {role.value} needs --scope with {levels} codes"
    if scope and not rule["levels"]:
        return "scope", f"a {role.value} has no grid scope"
    for code in scope:
        level = level_of.get(code)
        if level is None:
            return "scope", f"unknown grid code {code!r}"
        if level not in rule["levels"]:
            return "scope", (f"{code} is a {level} code; a {role.value} is scoped to "
                             + "/".join(rule["levels"]) + " codes")
    return None


@dataclass(frozen=True)
class Principal:
    """Whoever makes a request: a user (session or bearer token)."""

    name: str
    role: UserRole
    unit_code: str | None = None
    scope: tuple[str, ...] = field(default_factory=tuple)
    user_id: int | None = None

    @property
    def city_wide(self) -> bool:
        if self.role is UserRole.ADMIN:
            return True
        if self.role is UserRole.UNIT:
            return False
        return not self.scope

    def covers_code(self, code: str | None) -> bool:
        """True when a grid code (cell, community, street) lies inside this scope."""
        if self.city_wide:
            return True
        if self.role is UserRole.UNIT or not code:
            return False
        return any(code.startswith(prefix) for prefix in self.scope)

    def can_see(self, case: Any) -> bool:
        """A case outside the scope does not exist for this principal (the API answers 404)."""
        if self.role is UserRole.ADMIN:
            return True
        if self.role is UserRole.UNIT:
            return bool(self.unit_code) and case.unit_code == self.unit_code
        if self.city_wide:
            return True
        return self.covers_code(case.cell_code)

    @property
    def workflow_role(self) -> Role | None:
        return self.role.workflow_role

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role.value, "unit_code": self.unit_code,
                "scope": list(self.scope)}
