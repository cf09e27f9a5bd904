"""Lights (绿灯 green, 黄灯 yellow warning, 红灯 red overdue) and escalation due times.

Everything is measured in the clock's own unit (working time for working clocks), and is
pause-aware: a paused clock keeps its light and has nothing due.  Overdue cases escalate up
the levels unit → street centre → district centre → city centre (督办 levels).
"""

from __future__ import annotations

import dataclasses
import functools
import datetime as _dt
from decimal import Decimal
from typing import Iterator

from gridroute.sla.calendar import WorkingCalendar
from gridroute.sla.clock import ClockState, PhaseClock, add_own_time

__all__ = ["EscalationPolicy", "LIGHTS", "due_times", "light", "next_due"]

LIGHTS = ("green", "yellow", "red")


def _check_share(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")


@dataclasses.dataclass(frozen=True)
class EscalationPolicy:
    """When lights turn and when overdue clocks escalate (who receives each level is the
    escalation ladder's, `gridroute.reference.ladder`).

    ``yellow_share``: share of the allotted time after which the light is yellow.
    ``level_offsets[i]``: escalation level ``i + 1`` is due at deadline + offset × allotted.
    """

    yellow_share: float = 0.8
    level_offsets: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)

    def __post_init__(self) -> None:
        _check_share(self.yellow_share, "yellow_share")
        object.__setattr__(self, "level_offsets", tuple(self.level_offsets))
        previous = 0.0
        for offset in self.level_offsets:
            if isinstance(offset, bool) or not isinstance(offset, (int, float, Decimal)) or offset < previous:
                raise ValueError("level_offsets must be non-negative numbers in non-decreasing order")
            previous = offset


def light(clock: PhaseClock, now: _dt.datetime, cal: WorkingCalendar, yellow_share: float = 0.8) -> str:
    """``"green"``, ``"yellow"`` (share ≥ yellow_share) or ``"red"`` (at or past the deadline).

    A paused clock shows the light it had when paused; a done or stopped clock the light it
    had when it ended.
    """
    _check_share(yellow_share, "yellow_share")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    allotted = clock._allotted_us(cal)
    remaining = clock._remaining_us(now, cal)
    if remaining <= 0:
        return "red"
    if allotted - remaining >= _scaled_us(allotted, yellow_share):
        return "yellow"
    return "green"


@functools.lru_cache(maxsize=1024)  # few distinct limits × shares; exact Decimal maths is slow
def _scaled_us(allotted_us: int, factor: float | Decimal) -> int:
    return int((Decimal(allotted_us) * Decimal(str(factor))).to_integral_value())


def _iter_due(
    clock: PhaseClock, cal: WorkingCalendar, policy: EscalationPolicy
) -> Iterator[tuple[str, int, _dt.datetime]]:
    """Due items computed one at a time, already in time order: yellow (yellow_share < 1) comes
    before the deadline, red is at it, and levels follow at non-decreasing offsets ≥ 0 (red
    first on a tie, as in `due_times`). Lazy so that `next_due` computes only what it needs."""
    if clock.state != ClockState.RUNNING:
        return
    allotted = clock._allotted_us(cal)
    working = clock.is_working
    yield ("yellow", 0, add_own_time(clock.effective_start(cal),
                                     _scaled_us(allotted, policy.yellow_share), working, cal))
    yield ("red", 0, clock.deadline.astimezone(cal.tz))
    for level, offset in enumerate(policy.level_offsets, start=1):
        yield ("escalate", level, add_own_time(clock.deadline, _scaled_us(allotted, offset),
                                               working, cal))


def due_times(
    clock: PhaseClock, cal: WorkingCalendar, policy: EscalationPolicy | None = None
) -> list[tuple[str, int, _dt.datetime]]:
    """``(kind, level, due_at)`` for a running clock, in time order; ``[]`` otherwise.

    ``("yellow", 0)`` at yellow_share of the allotted time, ``("red", 0)`` at the deadline,
    ``("escalate", n)`` at deadline + level_offsets[n-1] × allotted — all in own unit.
    """
    return list(_iter_due(clock, cal, policy or EscalationPolicy()))


def next_due(
    clock: PhaseClock,
    cal: WorkingCalendar,
    policy: EscalationPolicy | None = None,
    after: set[tuple[str, int]] | frozenset[tuple[str, int]] = frozenset(),
) -> _dt.datetime | None:
    """The earliest due time not yet recorded in ``after`` (a set of ``(kind, level)``)."""
    for kind, level, at in _iter_due(clock, cal, policy or EscalationPolicy()):
        if (kind, level) not in after:
            return at
    return None
