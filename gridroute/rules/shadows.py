"""Shadow analysis (规则遮蔽): rule A (earlier) shadows rule B when every report B accepts, A
accepts too, so B can never win. Each check below is sound (never claims coverage that does not
hold) but not complete."""
from __future__ import annotations

from collections.abc import Collection

from gridroute.rules.model import LOCATION_LEVELS, Conditions, RuleSet, pattern_matches

Levels = tuple[tuple[str, int], ...]


def _patterns_cover(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    """Every value matching one of `inner` matches one of `outer` (syntactic check)."""
    def covers(a: str, b: str) -> bool:
        if a.endswith("*"):
            return b.rstrip("*").startswith(a[:-1])
        return a == b
    return all(any(covers(a, b) for a in outer) for b in inner)


def _project(patterns: tuple[str, ...], length: int) -> tuple[str, ...]:
    """What a finer location condition implies about a coarser level of `length` digits."""
    result = []
    for p in patterns:
        head = p[:-1] if p.endswith("*") else p
        result.append(head[:length] if len(head) >= length else head + "*")
    return tuple(result)


def _category_covers(outer, inner, known_categories: Collection[str] | None) -> bool:
    if _patterns_cover(outer, inner):
        return True
    if not known_categories:
        return False
    inner_set = {c for c in known_categories if any(pattern_matches(p, c) for p in inner)}
    return all(any(pattern_matches(p, c) for p in outer) for c in inner_set)


def _location_covered(level: int, outer: tuple[str, ...], later: Conditions,
                      levels: Levels) -> bool:
    for name, length in levels[level:]:
        inner = getattr(later, name)
        if inner is not None:
            projected = inner if name == levels[level][0] else _project(inner, levels[level][1])
            if _patterns_cover(outer, projected):
                return True
    return False


def shadows(earlier: Conditions, later: Conditions,
            known_categories: Collection[str] | None = None,
            location_levels: Levels = LOCATION_LEVELS) -> bool:
    """True when every report matching `later` also matches `earlier`; `location_levels`
    are the code lengths of the scheme the rules were read for."""
    levels = {name: i for i, (name, _) in enumerate(location_levels)}
    for key, outer in earlier.items():
        inner = getattr(later, key)
        if key in levels:
            if not _location_covered(levels[key], outer, later, location_levels):
                return False
            continue
        if inner is None:
            if key == "category" and "*" in outer:
                continue
            return False
        if key == "category":
            if not _category_covers(outer, inner, known_categories):
                return False
        elif key in ("urgency", "channel", "cell_tags"):
            if not set(inner) <= set(outer):
                return False
        elif key == "working_time":
            if inner != outer:
                return False
        elif key == "keywords":
            if not all(any(a.casefold() in b.casefold() for a in outer) for b in inner):
                return False
        elif key == "near_component_m":
            if inner > outer:
                return False
    return True


def shadow_warnings(ruleset: RuleSet, known_categories: Collection[str] | None = None
                    ) -> list[str]:
    warnings = []
    for j, later in enumerate(ruleset.rules):
        for earlier in ruleset.rules[:j]:
            if shadows(earlier.when, later.when, known_categories, ruleset.scheme.levels()):
                where = f"{ruleset.source}:{later.line}" if later.line else ruleset.source
                at = f", line {earlier.line}" if earlier.line else ""
                warnings.append(f"{where}: {later.label}: never matches: earlier rule "
                                f"{earlier.label}{at} catches every report it would")
                break
    return warnings
