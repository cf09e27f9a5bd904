"""Routing rules: an ordered list, first match wins.

A rule has conditions (`when`, all must hold) and actions (`then`). Code conditions accept exact
codes or prefixes ending in `*` ("C01*", "E*", "310101*").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from gridroute.grids.codes import CodeScheme
from gridroute.sla.clock import Limit

LOCATION_LEVELS = CodeScheme().levels()
"""Location conditions and the length of their codes in the default scheme; a rule set read
for another scheme carries that scheme (`RuleSet.scheme`)."""

CONDITION_KEYS = ("category", "urgency", "channel", "district", "street", "community", "cell",
                  "cell_tags", "working_time", "keywords", "near_component_m")
"""Condition keys in evaluation order (the component look-up, the costly one, last)."""

ACTION_KEYS = ("assign", "urgency", "standard", "limit", "auto_file")

PLACEHOLDERS = ("street", "district", "community", "cell", "component_owner")
"""Placeholders allowed in `then.assign`, resolved from the report."""


def pattern_matches(pattern: str, value: str | None) -> bool:
    """`C01*` matches every value starting with `C01`; any other pattern matches itself only."""
    if value is None:
        return False
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


@dataclass(frozen=True)
class Conditions:
    """All given conditions must hold; `None` means "no condition"."""

    category: tuple[str, ...] | None = None
    urgency: tuple[str, ...] | None = None
    channel: tuple[str, ...] | None = None
    district: tuple[str, ...] | None = None
    street: tuple[str, ...] | None = None
    community: tuple[str, ...] | None = None
    cell: tuple[str, ...] | None = None
    cell_tags: frozenset[str] | None = None  # any of
    working_time: bool | None = None
    keywords: tuple[str, ...] | None = None  # any of, case-insensitive substring
    near_component_m: float | None = None

    def items(self) -> Iterator[tuple[str, Any]]:
        """The conditions that are set, in evaluation order."""
        for key in CONDITION_KEYS:
            value = getattr(self, key)
            if value is not None:
                yield key, value

    @property
    def is_empty(self) -> bool:
        return next(self.items(), None) is None


@dataclass(frozen=True)
class Actions:
    assign: str  # unit code or template, e.g. "{street}-enforcement"
    urgency: str | None = None
    standard: str | None = None  # standards row id, e.g. "C0101-1"
    limit: Limit | None = None
    auto_file: bool | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    index: int  # 1-based position in the file
    when: Conditions
    then: Actions
    description: str = ""
    line: int | None = None  # line of the rule's `[[rules]]` header

    @property
    def label(self) -> str:
        return f"rules[{self.index}] '{self.id}'"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    content_hash: str  # sha256 hex of the file bytes
    source: str
    version: int = 1
    description: str = ""
    scheme: CodeScheme = field(default_factory=CodeScheme)  # the code lengths it was read for

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def candidates(self, category_code: str | None) -> tuple[Rule, ...]:
        """The rules, in order, whose category condition can match `category_code` (rules
        without one included). Cached per category: routing runs for every report and most
        rules name categories."""
        cache = self.__dict__.setdefault("_candidates", {})
        found = cache.get(category_code)
        if found is None:
            found = cache[category_code] = tuple(
                r for r in self.rules if r.when.category is None
                or any(pattern_matches(p, category_code) for p in r.when.category))
        return found

    def __len__(self) -> int:
        return len(self.rules)
