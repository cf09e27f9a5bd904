"""Duplicate detection (重复案件): same 小类, near in space and time.

Distances are planar metres in the working CRS (``x``/``y`` of a case). A candidate must be
open and not merged, share the new report's category code (小类代码), lie within the radius
(boundary included) and have been reported within the window before the new report (boundary
included; later reports are not candidates). The repository narrows the search with
:func:`candidate_bbox`; :func:`find_duplicates` makes the exact decision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from .model import DUPLICATE_CANDIDATE_STATES, State

__all__ = ["DuplicatePolicy", "find_duplicates", "candidate_bbox"]


@dataclass
class DuplicatePolicy:
    """Radius and window, with per-category overrides ``{category_code: (radius_m, window)}``."""

    radius_m: float = 50.0
    window: timedelta = timedelta(hours=72)
    per_category: dict[str, tuple[float, timedelta]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self.radius_m, self.window, "default")
        for code, (radius, window) in self.per_category.items():
            _check(radius, window, code)

    def for_category(self, category_code: str | None) -> tuple[float, timedelta]:
        """(radius_m, window) for a category, falling back to the defaults."""
        if category_code is not None and category_code in self.per_category:
            radius, window = self.per_category[category_code]
            return float(radius), window
        return float(self.radius_m), self.window


def _check(radius: float, window: timedelta, label: str) -> None:
    if not isinstance(window, timedelta):
        raise TypeError(f"duplicate window for {label} must be a timedelta")
    if radius < 0 or not math.isfinite(radius):
        raise ValueError(f"duplicate radius for {label} must be a finite number >= 0")
    if window < timedelta(0):
        raise ValueError(f"duplicate window for {label} must not be negative")


def _point(obj: Any) -> tuple[float, float] | None:
    x, y = getattr(obj, "x", None), getattr(obj, "y", None)
    if x is None or y is None:
        return None
    return float(x), float(y)


def _is_candidate_state(obj: Any) -> bool:
    try:
        return State(getattr(obj, "state", None)) in DUPLICATE_CANDIDATE_STATES
    except ValueError:
        return False


def candidate_bbox(new: Any, policy: DuplicatePolicy | None = None
                   ) -> tuple[float, float, float, float, datetime] | None:
    """(minx, miny, maxx, maxy, since) bounding the search, or None if the new report has no
    position or report time. The repository should also filter on category and open state."""
    policy = policy or DuplicatePolicy()
    point = _point(new)
    reported_at = getattr(new, "reported_at", None)
    if point is None or reported_at is None:
        return None
    radius, window = policy.for_category(getattr(new, "category_code", None))
    x, y = point
    return x - radius, y - radius, x + radius, y + radius, reported_at - window


def find_duplicates(new: Any, candidates: Iterable[Any],
                    policy: DuplicatePolicy | None = None) -> list[tuple[Any, float]]:
    """Open cases the new report duplicates, as ``(case, distance_m)``, nearest first.

    ``new`` needs ``category_code``, ``x``, ``y`` and ``reported_at``; candidates also need
    ``state``. The new case itself (same object or same non-null id) is skipped. Ties in
    distance go to the earlier report, then the lower id, so the first item is the natural
    parent for a merge.
    """
    policy = policy or DuplicatePolicy()
    category = getattr(new, "category_code", None)
    point = _point(new)
    reported_at = getattr(new, "reported_at", None)
    if category is None or point is None or reported_at is None:
        return []
    radius, window = policy.for_category(category)
    since = reported_at - window
    new_id = getattr(new, "id", None)
    x0, y0 = point

    found: list[tuple[Any, float]] = []
    for cand in candidates:
        if cand is new or (new_id is not None and getattr(cand, "id", None) == new_id):
            continue
        if getattr(cand, "category_code", None) != category or not _is_candidate_state(cand):
            continue
        when = getattr(cand, "reported_at", None)
        if when is None or not since <= when <= reported_at:
            continue
        p = _point(cand)
        if p is None:
            continue
        distance = math.hypot(p[0] - x0, p[1] - y0)
        if distance <= radius:
            found.append((cand, distance))

    def key(item: tuple[Any, float]) -> tuple[float, datetime, float]:
        cand, distance = item
        cand_id = getattr(cand, "id", None)
        return distance, cand.reported_at, float("inf") if cand_id is None else cand_id

    found.sort(key=key)
    return found
