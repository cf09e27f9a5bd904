"""Service-level clocks (处置时限): working calendar, deadlines, phase clocks, lights."""

from gridroute.sla.calendar import (
    DEFAULT_WORKING_HOURS,
    CalendarConfigError,
    WorkingCalendar,
    parse_working_hours,
)
from gridroute.sla.clock import (
    PHASES,
    STATES,
    UNITS,
    ClockState,
    ClockStateError,
    CountedPeriod,
    Limit,
    LimitParseError,
    PhaseClock,
    add_own_time,
    deadline,
    explain_deadline,
    own_seconds_between,
    working_seconds_between,
)
from gridroute.sla.lights import LIGHTS, EscalationPolicy, due_times, light, next_due

__all__ = [
    "CalendarConfigError",
    "ClockState",
    "ClockStateError",
    "CountedPeriod",
    "DEFAULT_WORKING_HOURS",
    "EscalationPolicy",
    "LIGHTS",
    "Limit",
    "LimitParseError",
    "PHASES",
    "PhaseClock",
    "STATES",
    "UNITS",
    "WorkingCalendar",
    "add_own_time",
    "deadline",
    "due_times",
    "explain_deadline",
    "light",
    "next_due",
    "own_seconds_between",
    "parse_working_hours",
    "working_seconds_between",
]
