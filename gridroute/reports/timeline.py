"""Working time as a vectorised function of the instant (工作时间轴).

``W(t)`` is the number of working seconds between a fixed origin and ``t`` (epoch seconds), as
the SLA calendar counts them (statutory holidays, 调休 make-up days, configured working hours,
overrides). Working time between two instants is then ``W(b) - W(a)``, computed for a million
pairs at once with numpy. The SLA module's own arithmetic (:mod:`gridroute.sla.clock`) counts
one pair at a time; both read the same :class:`~gridroute.sla.calendar.WorkingCalendar`.
"""
from __future__ import annotations

import datetime as _dt

import numpy as np

from gridroute.sla.calendar import WorkingCalendar

__all__ = ["WorkingTimeline"]


class WorkingTimeline:
    """The working periods of ``calendar`` between two instants, as sorted numpy arrays."""

    def __init__(self, calendar: WorkingCalendar, start: float, end: float) -> None:
        tz = calendar.tz
        first = _dt.datetime.fromtimestamp(start, tz).date() - _dt.timedelta(days=1)
        last = _dt.datetime.fromtimestamp(end, tz).date() + _dt.timedelta(days=1)
        starts: list[float] = []
        ends: list[float] = []
        day = first
        while day <= last:
            for a, b in calendar.working_periods(day):
                starts.append(a.timestamp())
                ends.append(b.timestamp())
            day += _dt.timedelta(days=1)
        self.starts = np.asarray(starts, dtype="float64")
        self.ends = np.asarray(ends, dtype="float64")
        lengths = self.ends - self.starts
        self.cumulative = np.concatenate(([0.0], np.cumsum(lengths)))[:-1]
        self.lengths = lengths

    def at(self, t: np.ndarray) -> np.ndarray:
        """Working seconds from the origin to each instant of ``t`` (epoch seconds)."""
        t = np.asarray(t, dtype="float64")
        if not len(self.starts):
            return np.zeros_like(t)
        i = np.searchsorted(self.starts, t, side="right") - 1
        before = i < 0
        i = np.clip(i, 0, None)
        inside = np.clip(t - self.starts[i], 0.0, self.lengths[i])
        return np.where(before, 0.0, self.cumulative[i] + inside)

    def between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Working seconds between each pair (negative when ``b`` precedes ``a``)."""
        return self.at(b) - self.at(a)

    def last_instant_within(self, w: np.ndarray) -> np.ndarray:
        """For each working-seconds value ``w``, the last instant ``t`` with ``at(t) <= w``
        (so ``at(t') > w`` exactly when ``t' > t``): a deadline as an instant. NaN where ``w``
        lies beyond the timeline's last working period (build a longer timeline)."""
        w = np.asarray(w, dtype="float64")
        out = np.full(w.shape, np.nan)
        if not len(self.starts):
            return out
        ends = self.cumulative + self.lengths
        i = np.searchsorted(ends, w, side="right")
        inside = i < len(self.starts)
        j = i[inside]
        out[inside] = self.starts[j] + np.maximum(w[inside] - self.cumulative[j], 0.0)
        return out
