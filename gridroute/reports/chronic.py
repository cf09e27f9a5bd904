"""高发/顽症 chronic problems: cells where the same 小类 keeps coming back.

A cell is a chronic spot for a 小类 when at least ``min_cases`` reports of that 小类 were
received there (``report`` event) in the ``days`` days before ``as_of``. Reports that came to
nothing are not problems and are left out: rejected (不予立案, 核实不属实), voided (作废) and
duplicates merged into another case (合并: the parent counts), by their events up to
``as_of``. Pure function over a :class:`~gridroute.reports.indicators.History`.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from gridroute.reports.indicators import ACTIONS, A, History, _codes

__all__ = ["chronic_spots", "CHRONIC_ACTIONS"]

#: The events the function reads (a loader may fetch only these).
CHRONIC_ACTIONS = frozenset({"report", "reject", "verify_false", "void", "merge"})
_NOT_A_PROBLEM = [A[x] for x in ("reject", "verify_false", "void", "merge")]


def chronic_spots(history: History, *, as_of: _dt.datetime, days: int, min_cases: int,
                  category: str | None = None) -> list[dict[str, Any]]:
    """One entry per (cell, 小类) with at least ``min_cases`` live reports in the window,
    most cases first: cell_code, community_code, street_code, category_code, count, cases
    (case codes, oldest first), first_reported and last_reported (epoch seconds)."""
    if days <= 0 or min_cases <= 0:
        raise ValueError("days and min_cases must be positive")
    tq = as_of.timestamp()
    t0 = tq - days * 86400.0
    cases = history.cases.reset_index(drop=True)
    if category:
        cat = cases["category_code"].astype("string")
        cases = cases[(cat == category) | cat.str.startswith(category).fillna(False)]
        cases = cases.reset_index(drop=True)
    ev = history.events
    ci = pd.Index(cases["case_id"]).get_indexer(ev["case_id"])
    at = ev["at"].to_numpy(dtype="float64")
    keep = (ci >= 0) & (at <= tq)
    ev, ci, at = ev[keep], ci[keep], at[keep]
    order = np.lexsort((ev["seq"].to_numpy(), ci))
    ev, ci, at = ev.iloc[order], ci[order], at[order]
    act = _codes(ev["action"], ACTIONS)
    n = len(cases)
    report_at = np.full(n, np.nan)
    rep = act == A["report"]
    report_at[ci[rep]] = at[rep]
    dropped = np.bincount(ci[np.isin(act, _NOT_A_PROBLEM)], minlength=n) > 0
    live = (report_at >= t0) & (report_at < tq) & ~dropped \
        & cases["cell_code"].notna().to_numpy()
    frame = cases[live].assign(report_at=report_at[live]).sort_values(
        ["report_at", "case_id"])
    out = []
    for (cell, cat), group in frame.groupby(["cell_code", "category_code"], sort=False):
        if len(group) < min_cases:
            continue
        codes = group["public_id"].tolist() if "public_id" in group else \
            [str(x) for x in group["case_id"].tolist()]
        out.append({"cell_code": cell, "community_code": _first(group, "community_code"),
                    "street_code": _first(group, "street_code"), "category_code": cat,
                    "count": len(group), "cases": codes,
                    "first_reported": float(group["report_at"].iloc[0]),
                    "last_reported": float(group["report_at"].iloc[-1])})
    out.sort(key=lambda spot: (-spot["count"], spot["cell_code"], spot["category_code"]))
    return out


def _first(group: pd.DataFrame, column: str):
    return group[column].iloc[0] if column in group else None
