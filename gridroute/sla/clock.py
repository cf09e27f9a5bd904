"""Time limits (处置时限), deadline arithmetic and per-phase clocks.

Units (DOMAIN "Clocks"):

* ``natural_hours`` — 紧急工作时, counted round the clock;
* ``natural_days`` — 紧急工作日, 24-hour days of elapsed time;
* ``working_hours`` — 工作时 (often written 小时), working time only;
* ``working_days`` — 工作日 (often written 天), N × the configured working time of one day,
  counted as working time (1 working day from Friday 16:00 ends Monday 16:00 with
  08:30-12:00,13:00-17:30).

Every clock measures in its *own unit*: natural seconds for natural units, working seconds for
working units.  A pause (挂账, 退回) keeps the remaining time in that unit, so resuming a working
clock never adds nights and weekends that passed during the pause.

All arithmetic is done in integer microseconds on UTC instants; results are aware datetimes in
the calendar's time zone.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NamedTuple

from gridroute.sla.calendar import WorkingCalendar

__all__ = [
    "ClockState",
    "ClockStateError",
    "CountedPeriod",
    "Limit",
    "LimitParseError",
    "PHASES",
    "PhaseClock",
    "STATES",
    "UNITS",
    "add_own_time",
    "deadline",
    "explain_deadline",
    "own_seconds_between",
    "working_seconds_between",
]

UNITS = ("natural_hours", "natural_days", "working_hours", "working_days")
WORKING_UNITS = frozenset({"working_hours", "working_days"})

#: 立案 file, 派遣 dispatch, 签收 accept, 处置 handle, 核查 check.
PHASES = ("file", "dispatch", "accept", "handle", "check")


class ClockState(StrEnum):
    """A phase clock is running, paused (挂账, a return), done (its phase completed) or stopped
    (the case ended while it ran)."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    DONE = "done"


STATES = tuple(ClockState)

_UTC = _dt.timezone.utc
_MICRO = 1_000_000
# Safety net: this many consecutive days without working time means a broken calendar.
_MAX_IDLE_DAYS = 3660


class LimitParseError(ValueError):
    """A time-limit text that cannot be read; the message names the text."""


class LimitOutOfRange(LimitParseError):
    """A limit that reads but makes no sense: not positive, or longer than the maximum."""


#: The longest limit accepted from rules, standards and the command line: a year and a day.
#: `sla.max_limit_days` in the configuration sets it for a process (`set_max_limit_days`).
DEFAULT_MAX_LIMIT_DAYS = 366
_max_limit_days: float = DEFAULT_MAX_LIMIT_DAYS


def set_max_limit_days(days: float) -> None:
    """The maximum `Limit.from_text` and friends accept from now on in this process."""
    global _max_limit_days
    if not days > 0:
        raise ValueError(f"the maximum limit must be a positive number of days, got {days!r}")
    _max_limit_days = days


def _check_span(limit: "Limit", text: str) -> "Limit":
    """Refuse a limit longer than the maximum, hours counted as 1/24 of a day (a working hour
    lasts at least as long as a natural one, so this never refuses a sane limit)."""
    days = limit.amount / 24 if limit.unit.endswith("hours") else limit.amount
    if days > Decimal(str(_max_limit_days)):
        raise LimitOutOfRange(f"bad limit {text!r}: longer than the maximum of "
                              f"{_max_limit_days:g} days (sla.max_limit_days)")
    return limit


class ClockStateError(ValueError):
    """An operation that the clock's current state does not allow."""


# --------------------------------------------------------------------------- Limit

_UNIT_ALIASES = {
    "natural_hour": "natural_hours",
    "natural_hours": "natural_hours",
    "natural_day": "natural_days",
    "natural_days": "natural_days",
    "working_hour": "working_hours",
    "working_hours": "working_hours",
    "working_day": "working_days",
    "working_days": "working_days",
}

# Chinese suffixes as written in 处置时限 columns; 个 ("4个工作日") is optional.
_CHINESE_UNITS = {
    "紧急工作时": "natural_hours",
    "紧急工作小时": "natural_hours",
    "紧急工作日": "natural_days",
    "工作时": "working_hours",
    "工作小时": "working_hours",
    "小时": "working_hours",
    "工作日": "working_days",
    "天": "working_days",
}

CHINESE_LIMIT_UNITS = tuple(_CHINESE_UNITS)
"""The unit words a 处置时限 text may use."""

# a sign is read so that "-4 working_hours" is told it must be positive, not that it is garbled
_NUMBER = r"([-+]?(?:\d+(?:\.\d+)?|\.\d+))"


def _to_decimal(value: Any, text: str) -> Decimal:
    if isinstance(value, bool):
        raise LimitParseError(f"bad limit amount {text!r}: not a number")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise LimitParseError(f"bad limit amount {text!r}: not a number") from None
    else:
        raise LimitParseError(f"bad limit amount {text!r}: not a number")
    if not amount.is_finite() or amount <= 0:
        raise LimitOutOfRange(f"bad limit amount {text!r}: must be a positive number")
    return amount


@dataclasses.dataclass(frozen=True)
class Limit:
    """A time limit: ``amount`` (stored as Decimal) of ``unit`` (one of :data:`UNITS`)."""

    amount: Decimal
    unit: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _to_decimal(self.amount, str(self.amount)))
        if self.unit not in UNITS:
            raise LimitParseError(f"bad limit unit {self.unit!r}: expected one of {', '.join(UNITS)}")

    @classmethod
    def parse(cls, text: str) -> "Limit":
        """Read ``"4 working_hours"``, ``"4 working_hour"``, ``"0.5 natural_hours"`` and the like."""
        if not isinstance(text, str):
            raise LimitParseError(f"bad limit {text!r}: expected text like '4 working_hours'")
        match = re.fullmatch(r"\s*" + _NUMBER + r"\s*([A-Za-z_]+)\s*", text)
        if not match:
            raise LimitParseError(f"bad limit {text!r}: expected '<amount> <unit>', e.g. '4 working_hours'")
        unit = _UNIT_ALIASES.get(match.group(2).lower())
        if unit is None:
            raise LimitParseError(f"bad limit {text!r}: unknown unit {match.group(2)!r}")
        return _check_span(cls(_to_decimal(match.group(1), text), unit), text)

    @classmethod
    def parse_chinese(cls, text: str) -> "Limit":
        """Read a 处置时限 text: 2紧急工作时, 2紧急工作日, 4小时/4工作时, 15天/15工作日.

        Full-width digits are accepted and an optional 个 may precede the unit (4个工作日).
        """
        if not isinstance(text, str):
            raise LimitParseError(f"bad limit {text!r}: expected text like '4工作时'")
        normal = unicodedata.normalize("NFKC", text).strip()
        match = re.fullmatch(_NUMBER + r"\s*个?\s*(\S+)", normal)
        unit = _CHINESE_UNITS.get(match.group(2)) if match else None
        if match is None or unit is None:
            raise LimitParseError(
                f"bad limit {text!r}: expected a number and one of 紧急工作时, 紧急工作日, "
                f"工作时, 小时, 工作日, 天"
            )
        return _check_span(cls(_to_decimal(match.group(1), text), unit), text)

    @classmethod
    def from_text(cls, text: str) -> "Limit":
        """Either form: ``"4 working_hours"`` or ``"4工作时"``."""
        try:
            return cls.parse(text)
        except LimitOutOfRange:
            raise
        except LimitParseError as exc:
            english_error = exc
        try:
            return cls.parse_chinese(text)
        except LimitOutOfRange:
            raise
        except LimitParseError as exc:
            chinese_error = exc
        if isinstance(text, str) and re.search(r"[A-Za-z]", text):
            raise english_error
        if isinstance(text, str) and not text.isascii():
            raise chinese_error
        raise LimitParseError(f"bad limit {text!r}: expected e.g. '4 working_hours' or '4工作时'")

    def __str__(self) -> str:
        amount = format(self.amount.normalize(), "f")
        return f"{amount} {self.unit}"

    @property
    def is_working(self) -> bool:
        """True for working units (counted in working time only)."""
        return self.unit in WORKING_UNITS

    def __mul__(self, factor: Any) -> "Limit":
        if isinstance(factor, bool) or not isinstance(factor, (int, float, Decimal)):
            return NotImplemented
        return Limit(self.amount * _to_decimal(factor, str(factor)), self.unit)

    __rmul__ = __mul__

    def own_microseconds(self, cal: WorkingCalendar | None = None) -> int:
        """Length in the limit's own unit, in microseconds (working_days needs ``cal``)."""
        if self.unit in ("natural_hours", "working_hours"):
            per_unit = 3600
        elif self.unit == "natural_days":
            per_unit = 86400
        else:
            if cal is None:
                raise ValueError("a working_days limit needs a WorkingCalendar for its length")
            per_unit = cal.day_working_seconds
        value = (self.amount * per_unit * _MICRO).to_integral_value(rounding=ROUND_HALF_EVEN)
        return int(value)

    def own_seconds(self, cal: WorkingCalendar | None = None) -> float:
        """Length in the limit's own unit, in seconds (working_days needs ``cal``)."""
        return self.own_microseconds(cal) / _MICRO


# --------------------------------------------------------------------------- arithmetic


class CountedPeriod(NamedTuple):
    """A stretch of time counted towards a deadline (clipped to the start and the deadline)."""

    period_start: _dt.datetime
    period_end: _dt.datetime
    seconds_counted: float


def _require_aware(moment: _dt.datetime, name: str) -> None:
    if not isinstance(moment, _dt.datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")


def _diff_us(a: _dt.datetime, b: _dt.datetime) -> int:
    """Microseconds from ``a`` to ``b`` (true elapsed time)."""
    delta = b.astimezone(_UTC) - a.astimezone(_UTC)
    return (delta.days * 86400 + delta.seconds) * _MICRO + delta.microseconds


def _shift(moment: _dt.datetime, micros: int, tz: _dt.tzinfo) -> _dt.datetime:
    return (moment.astimezone(_UTC) + _dt.timedelta(microseconds=micros)).astimezone(tz)


def _add_working_us(
    start: _dt.datetime, micros: int, cal: WorkingCalendar, record: list[CountedPeriod] | None = None
) -> _dt.datetime:
    """The earliest instant with ``micros`` of working time after ``start``."""
    local = start.astimezone(cal.tz)
    if micros == 0:
        return local
    if micros < 0:
        return _sub_working_us(local, -micros, cal)
    remaining = micros
    day = local.date()
    idle = 0
    while True:
        periods = cal._periods_of(day)
        for period_start, period_end in periods:
            if period_end <= local:
                continue
            begin = max(period_start, local)
            available = _diff_us(begin, period_end)
            if remaining <= available:
                end = _shift(begin, remaining, cal.tz)
                if record is not None:
                    record.append(CountedPeriod(begin, end, remaining / _MICRO))
                return end
            if record is not None:
                record.append(CountedPeriod(begin, period_end, available / _MICRO))
            remaining -= available
        idle = 0 if periods else idle + 1
        if idle > _MAX_IDLE_DAYS:
            raise ValueError(f"working calendar has no working time for {idle} days after {day}")
        day += _dt.timedelta(days=1)


def _sub_working_us(end: _dt.datetime, micros: int, cal: WorkingCalendar) -> _dt.datetime:
    """The latest instant with ``micros`` of working time before ``end``."""
    local = end.astimezone(cal.tz)
    remaining = micros
    day = local.date()
    idle = 0
    while True:
        periods = cal._periods_of(day)
        for period_start, period_end in reversed(periods):
            if period_start >= local:
                continue
            finish = min(period_end, local)
            available = _diff_us(period_start, finish)
            if remaining <= available:
                return _shift(finish, -remaining, cal.tz)
            remaining -= available
        idle = 0 if periods else idle + 1
        if idle > _MAX_IDLE_DAYS:
            raise ValueError(f"working calendar has no working time for {idle} days before {day}")
        day -= _dt.timedelta(days=1)


def _working_us_between(a: _dt.datetime, b: _dt.datetime, cal: WorkingCalendar) -> int:
    if b < a:
        return -_working_us_between(b, a, cal)
    a_local, b_local = a.astimezone(cal.tz), b.astimezone(cal.tz)
    total = 0
    day = a_local.date()
    last = b_local.date()
    while day <= last:
        for period_start, period_end in cal._periods_of(day):
            begin = max(period_start, a_local)
            finish = min(period_end, b_local)
            if finish > begin:
                total += _diff_us(begin, finish)
        day += _dt.timedelta(days=1)
    return total


def add_own_time(start: _dt.datetime, micros: int, is_working: bool, cal: WorkingCalendar) -> _dt.datetime:
    """``start`` moved by ``micros`` microseconds of own-unit time (negative moves back)."""
    _require_aware(start, "start")
    if is_working:
        return _add_working_us(start, micros, cal)
    return _shift(start, micros, cal.tz)


def own_seconds_between(a: _dt.datetime, b: _dt.datetime, is_working: bool, cal: WorkingCalendar) -> float:
    """Signed seconds from ``a`` to ``b``: working seconds if ``is_working``, else elapsed."""
    _require_aware(a, "a")
    _require_aware(b, "b")
    micros = _working_us_between(a, b, cal) if is_working else _diff_us(a, b)
    return micros / _MICRO


def working_seconds_between(a: _dt.datetime, b: _dt.datetime, cal: WorkingCalendar) -> float:
    """Working seconds from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    return own_seconds_between(a, b, True, cal)


def deadline(start: _dt.datetime, limit: Limit, cal: WorkingCalendar) -> _dt.datetime:
    """The deadline of ``limit`` started at ``start`` (aware, in the calendar's time zone).

    Working units count only working time; a start outside working time begins at the next
    working period; a deadline falling exactly on the end of a period stays at that end.
    """
    _require_aware(start, "start")
    return add_own_time(start, limit.own_microseconds(cal), limit.is_working, cal)


def explain_deadline(start: _dt.datetime, limit: Limit, cal: WorkingCalendar) -> list[CountedPeriod]:
    """The stretches of time counted towards the deadline, in order.

    For working units: each working period touched, clipped to the start and the deadline,
    with the seconds counted in it.  For natural units: one stretch from start to deadline.
    """
    _require_aware(start, "start")
    micros = limit.own_microseconds(cal)
    local = start.astimezone(cal.tz)
    if not limit.is_working:
        return [CountedPeriod(local, _shift(local, micros, cal.tz), micros / _MICRO)]
    record: list[CountedPeriod] = []
    _add_working_us(local, micros, cal, record)
    return record


# --------------------------------------------------------------------------- PhaseClock


def _iso(moment: _dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _from_iso(value: Any, name: str) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = _dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"clock field {name}: {value!r} is not an ISO 8601 datetime") from None
    else:
        raise ValueError(f"clock field {name}: {value!r} is not an ISO 8601 datetime")
    _require_aware(moment, name)
    return moment


@dataclasses.dataclass(frozen=True)
class PhaseClock:
    """The clock of one workflow phase (立案 file, 派遣 dispatch, 签收 accept, 处置 handle,
    核查 check).  Immutable: every operation returns a new clock.

    ``deadline`` is the current deadline while running (kept as last known while paused);
    ``remaining_seconds`` is set only while paused, in the clock's own unit (working seconds
    for working units) and may be negative for a clock paused while overdue.  ``paused_at``
    and ``ended_at`` record when the clock was paused and completed/stopped.
    """

    phase: str
    limit: Limit
    started_at: _dt.datetime
    deadline: _dt.datetime
    state: ClockState = ClockState.RUNNING
    remaining_seconds: float | None = None
    extensions: int = 0
    paused_at: _dt.datetime | None = None
    ended_at: _dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"unknown phase {self.phase!r}: expected one of {', '.join(PHASES)}")
        if self.state not in STATES:
            raise ValueError(f"unknown clock state {self.state!r}: expected one of {', '.join(STATES)}")
        if type(self.state) is not ClockState:  # stored text comes back as the enum
            object.__setattr__(self, "state", ClockState(self.state))
        if not isinstance(self.limit, Limit):
            raise TypeError("limit must be a Limit")
        _require_aware(self.started_at, "started_at")
        _require_aware(self.deadline, "deadline")
        if (self.state == ClockState.PAUSED) != (self.remaining_seconds is not None):
            raise ValueError("remaining_seconds is set exactly when the clock is paused")
        if isinstance(self.extensions, bool) or not isinstance(self.extensions, int) or self.extensions < 0:
            raise ValueError(f"extensions must be a non-negative integer, got {self.extensions!r}")

    # ---------------------------------------------------------------- construction

    @classmethod
    def start(cls, phase: str, limit: Limit, now: _dt.datetime, cal: WorkingCalendar) -> "PhaseClock":
        """A running clock for ``phase`` with the full ``limit`` from ``now``."""
        _require_aware(now, "now")
        local = now.astimezone(cal.tz)
        return cls(phase, limit, local, deadline(local, limit, cal))

    # ---------------------------------------------------------------- own-unit helpers

    @property
    def is_working(self) -> bool:
        return self.limit.is_working

    def _allotted_us(self, cal: WorkingCalendar | None) -> int:
        return self.limit.own_microseconds(cal) * (1 + self.extensions)

    def allotted_seconds(self, cal: WorkingCalendar | None = None) -> float:
        """Original limit plus extensions, in the clock's own unit (working_days needs ``cal``)."""
        return self._allotted_us(cal) / _MICRO

    def _remaining_us(self, now: _dt.datetime, cal: WorkingCalendar) -> int:
        """Own-unit microseconds left (negative when overdue) at ``now``, pause-aware."""
        if self.state == ClockState.PAUSED:
            return round(self.remaining_seconds * _MICRO)  # type: ignore[operator]
        at = now
        if self.state in (ClockState.DONE, ClockState.STOPPED) and self.ended_at is not None:
            at = self.ended_at
        if self.is_working:
            return _working_us_between(at, self.deadline, cal)
        return _diff_us(at, self.deadline)

    def remaining(self, now: _dt.datetime, cal: WorkingCalendar) -> float:
        """Own-unit seconds left at ``now`` (negative when overdue); frozen while paused."""
        _require_aware(now, "now")
        return self._remaining_us(now, cal) / _MICRO

    def elapsed_share(self, now: _dt.datetime, cal: WorkingCalendar) -> float:
        """Consumed / allotted time in the clock's own unit (above 1.0 when overdue)."""
        _require_aware(now, "now")
        allotted = self._allotted_us(cal)
        return (allotted - self._remaining_us(now, cal)) / allotted

    def effective_start(self, cal: WorkingCalendar) -> _dt.datetime:
        """The instant from which the allotted time, counted in own unit, ends at the deadline."""
        return add_own_time(self.deadline, -self._allotted_us(cal), self.is_working, cal)

    # ---------------------------------------------------------------- transitions

    def _require(self, *states: str, action: str) -> None:
        if self.state not in states:
            raise ClockStateError(f"cannot {action} a {self.state} clock")

    def pause(self, now: _dt.datetime, cal: WorkingCalendar) -> "PhaseClock":
        """Stop counting (挂账, 退回); keep the remaining time in own unit."""
        self._require(ClockState.RUNNING, action="pause")
        _require_aware(now, "now")
        left = self._remaining_us(now, cal)
        return dataclasses.replace(
            self, state=ClockState.PAUSED, remaining_seconds=left / _MICRO, paused_at=now.astimezone(cal.tz)
        )

    def resume(self, now: _dt.datetime, cal: WorkingCalendar) -> "PhaseClock":
        """Count again: the new deadline is ``now`` + remaining time in own unit."""
        self._require(ClockState.PAUSED, action="resume")
        _require_aware(now, "now")
        left = round(self.remaining_seconds * _MICRO)  # type: ignore[operator]
        new_deadline = add_own_time(now, left, self.is_working, cal)
        return dataclasses.replace(
            self, state=ClockState.RUNNING, remaining_seconds=None, paused_at=None, deadline=new_deadline
        )

    def extend(self, cal: WorkingCalendar) -> "PhaseClock":
        """延期: add one original limit in own unit (to the remaining time while paused)."""
        self._require(ClockState.RUNNING, ClockState.PAUSED, action="extend")
        extra = self.limit.own_microseconds(cal)
        if self.state == ClockState.PAUSED:
            left = round(self.remaining_seconds * _MICRO) + extra  # type: ignore[operator]
            return dataclasses.replace(self, remaining_seconds=left / _MICRO, extensions=self.extensions + 1)
        new_deadline = add_own_time(self.deadline, extra, self.is_working, cal)
        return dataclasses.replace(self, deadline=new_deadline, extensions=self.extensions + 1)

    def complete(self, now: _dt.datetime) -> "PhaseClock":
        """The phase is done at ``now``."""
        self._require(ClockState.RUNNING, ClockState.PAUSED, action="complete")
        _require_aware(now, "now")
        return dataclasses.replace(self, state=ClockState.DONE, remaining_seconds=None, paused_at=None, ended_at=now)

    def stop(self, now: _dt.datetime) -> "PhaseClock":
        """The phase ends without being done (e.g. the case left this phase); no more lights."""
        self._require(ClockState.RUNNING, ClockState.PAUSED, action="stop")
        _require_aware(now, "now")
        return dataclasses.replace(self, state=ClockState.STOPPED, remaining_seconds=None, paused_at=None, ended_at=now)

    def restart(self, now: _dt.datetime, cal: WorkingCalendar) -> "PhaseClock":
        """返工 and similar: a fresh clock of the same phase with the full original limit."""
        return PhaseClock.start(self.phase, self.limit, now, cal)

    @property
    def is_open(self) -> bool:
        return self.state in (ClockState.RUNNING, ClockState.PAUSED)

    @property
    def on_time(self) -> bool | None:
        """For a done clock, whether it was done by the deadline; None otherwise."""
        if self.state != ClockState.DONE or self.ended_at is None:
            return None
        return self.ended_at <= self.deadline

    # ---------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, Any]:
        """Primitives only (str, int, float, None) for DB storage."""
        return {
            "phase": self.phase,
            "limit": str(self.limit),
            "started_at": _iso(self.started_at),
            "deadline": _iso(self.deadline),
            "state": self.state.value,
            "remaining_seconds": self.remaining_seconds,
            "extensions": self.extensions,
            "paused_at": _iso(self.paused_at),
            "ended_at": _iso(self.ended_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PhaseClock":
        """Inverse of :meth:`to_dict`."""
        try:
            limit_value = data["limit"]
            limit = limit_value if isinstance(limit_value, Limit) else Limit.from_text(limit_value)
            remaining = data.get("remaining_seconds")
            return cls(
                phase=data["phase"],
                limit=limit,
                started_at=_from_iso(data["started_at"], "started_at"),  # type: ignore[arg-type]
                deadline=_from_iso(data["deadline"], "deadline"),  # type: ignore[arg-type]
                state=data.get("state", ClockState.RUNNING),
                remaining_seconds=None if remaining is None else float(remaining),
                extensions=int(data.get("extensions", 0)),
                paused_at=_from_iso(data.get("paused_at"), "paused_at"),
                ended_at=_from_iso(data.get("ended_at"), "ended_at"),
            )
        except KeyError as exc:
            raise ValueError(f"clock data lacks field {exc.args[0]!r}") from None
