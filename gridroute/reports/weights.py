"""Score weights and grades of the composite indicator (综合评价), without pandas: the
configuration checks its `[reports]` weights with these at start-up."""
from __future__ import annotations

from typing import Iterable

__all__ = ["WEIGHTABLE", "DEFAULT_WEIGHTS", "LOWER_IS_BETTER", "parse_weights", "grade_of"]

#: Rates where a lower value is better: the score counts 1 − rate.
LOWER_IS_BETTER = frozenset({"rework_rate", "overdue_open_rate", "extension_rate"})


def grade_of(score: float | None) -> str | None:
    """A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below; None without a score."""
    if score is None:
        return None
    for bound, letter in ((90, "A"), (75, "B"), (60, "C"), (40, "D")):
        if score >= bound:
            return letter
    return "E"


def parse_weights(text: str, allowed: Iterable[str]) -> dict[str, float]:
    """``"closure_rate=30, on_time_closure_rate=40"`` → a dict; ValueError naming the bad
    part (unknown indicator, not a number, negative, all zero)."""
    allowed = tuple(allowed)
    out: dict[str, float] = {}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        name, sep, value = (x.strip() for x in part.partition("="))
        if not sep or not name or not value:
            raise ValueError(f"'{part}' is not 'indicator=weight'")
        if name not in allowed:
            raise ValueError(f"unknown indicator '{name}' (weighted rates: {', '.join(allowed)})")
        if name in out:
            raise ValueError(f"indicator '{name}' is given twice")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"weight of '{name}' is not a number: '{value}'") from None
        if not weight >= 0 or weight == float("inf"):
            raise ValueError(f"weight of '{name}' must be a non-negative number, got {value}")
        out[name] = weight
    if not out or not any(out.values()):
        raise ValueError("needs at least one indicator with a positive weight")
    return out


#: Rates each score may weigh.
WEIGHTABLE: dict[str, tuple[str, ...]] = {
    "region": ("filing_rate", "accurate_filing_rate", "closure_rate", "on_time_closure_rate",
               "public_share", "handling_rate", "on_time_handling_rate", "rework_rate",
               "overdue_open_rate", "extension_rate"),
    "unit": ("handling_rate", "on_time_handling_rate", "rework_rate", "overdue_open_rate",
             "extension_rate"),
    "dispatcher": ("on_time_dispatch_rate", "accurate_dispatch_rate"),
    "inspector": ("valid_report_rate", "on_time_verify_rate", "on_time_check_rate"),
    "shift_lead": ("on_time_filing_rate",),
}

DEFAULT_WEIGHTS: dict[str, str] = {
    "region": "accurate_filing_rate=20, closure_rate=30, on_time_closure_rate=50",
    "unit": "handling_rate=20, on_time_handling_rate=40, rework_rate=20, overdue_open_rate=20",
    "dispatcher": "on_time_dispatch_rate=50, accurate_dispatch_rate=50",
    "inspector": "valid_report_rate=40, on_time_verify_rate=30, on_time_check_rate=30",
    "shift_lead": "on_time_filing_rate=100",
}

