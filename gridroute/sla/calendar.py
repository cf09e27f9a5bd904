"""Working calendar: statutory holidays, make-up working days and working hours.

The calendar answers one question for the clocks: which stretches of wall-clock time are
working time (工作时间)?  A day is a working day (工作日) or not according to, in order:

1. the deployment's overrides file (``holidays`` / ``workdays`` lists) — always wins;
2. ``chinesecalendar`` (official State Council notices, 国务院办公厅放假通知, 2004–2026 in 1.11),
   including 调休 make-up working days on weekends;
3. ``holidays`` country CN for years with an official notice in that library;
4. ``holidays`` CN *estimated* statutory holidays (法定节假日 computed from the law and the lunar
   calendar) for ``estimated_years`` years after the last officially published year; these years
   have no known 调休 make-up working days, so :meth:`WorkingCalendar.coverage_warning` warns;
5. the weekday rule (Monday–Friday) once every source has run out, with a dated warning
   (logged once per year) — never an exception.

An overrides file may declare ``covered_until``: up to that date the file is the complete
statement for any year that no official library data covers (weekday rule + the file's lists,
no estimated holidays), and no coverage warning is given.

Working hours of a working day are configuration, e.g. ``"08:30-12:00,13:00-17:30"``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo

__all__ = [
    "CalendarConfigError",
    "CoverageGap",
    "DEFAULT_WORKING_HOURS",
    "SpecialDay",
    "WorkingCalendar",
    "parse_working_hours",
]

logger = logging.getLogger(__name__)
# Library practice: silent unless the application configures logging (the CLI echoes warnings).
logger.addHandler(logging.NullHandler())

DEFAULT_WORKING_HOURS = "08:30-12:00,13:00-17:30"
DEFAULT_TZ = "Asia/Shanghai"

# Source names reported by WorkingCalendar.source_for().
SOURCE_OVERRIDE = "override"
SOURCE_CHINESECALENDAR = "chinesecalendar"
SOURCE_HOLIDAYS = "holidays"
SOURCE_HOLIDAYS_ESTIMATED = "holidays-estimated"
SOURCE_OVERRIDE_COVERED = "override-covered"
SOURCE_WEEKDAY = "weekday"

_DAY_SECONDS = 24 * 3600

# Warning messages already logged in this process (a calendar may be built per request).
_warned: set[str] = set()
_warned_lock = threading.Lock()


class CalendarConfigError(ValueError):
    """Bad working hours or overrides (the message names the offending text)."""


# --------------------------------------------------------------------------- working hours


def _parse_clock_time(text: str, *, allow_24: bool) -> int:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise CalendarConfigError(f"bad time {text.strip()!r}: expected HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise CalendarConfigError(f"bad time {text.strip()!r}: out of range")
    return hours * 3600 + minutes * 60


def parse_working_hours(text: str) -> tuple[tuple[int, int], ...]:
    """Parse ``"08:30-12:00,13:00-17:30"`` into ``((30600, 43200), (46800, 63000))``.

    Periods are seconds since midnight, must be non-empty, ordered and non-overlapping;
    ``24:00`` is accepted as the end of the last period.
    """
    if not isinstance(text, str) or not text.strip():
        raise CalendarConfigError("working hours are empty: expected e.g. '08:30-12:00,13:00-17:30'")
    periods: list[tuple[int, int]] = []
    for part in text.split(","):
        if part.count("-") != 1:
            raise CalendarConfigError(f"bad working period {part.strip()!r}: expected HH:MM-HH:MM")
        left, right = part.split("-")
        start = _parse_clock_time(left, allow_24=False)
        end = _parse_clock_time(right, allow_24=True)
        if end <= start:
            raise CalendarConfigError(f"bad working period {part.strip()!r}: end is not after start")
        if periods and start < periods[-1][1]:
            raise CalendarConfigError(
                f"bad working period {part.strip()!r}: periods must be in order and not overlap"
            )
        periods.append((start, end))
    return tuple(periods)


def _format_working_hours(periods: tuple[tuple[int, int], ...]) -> str:
    def fmt(seconds: int) -> str:
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"

    return ",".join(f"{fmt(s)}-{fmt(e)}" for s, e in periods)


# --------------------------------------------------------------------------- overrides


def _as_date(value: Any, where: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        raise CalendarConfigError(f"{where}: {value!r} is a date-time, expected a date")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarConfigError(f"{where}: {value!r} is not a date (expected YYYY-MM-DD)")


@dataclass(frozen=True)
class _Overrides:
    holidays: frozenset[_dt.date] = frozenset()
    workdays: frozenset[_dt.date] = frozenset()
    covered_until: _dt.date | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "overrides") -> "_Overrides":
        if not isinstance(data, Mapping):
            raise CalendarConfigError(f"{origin}: expected a table/dict, got {type(data).__name__}")
        unknown = set(data) - {"holidays", "workdays", "covered_until"}
        if unknown:
            raise CalendarConfigError(f"{origin}: unknown keys {sorted(unknown)}")
        lists: dict[str, frozenset[_dt.date]] = {}
        for key in ("holidays", "workdays"):
            raw = data.get(key, [])
            if not isinstance(raw, (list, tuple, set, frozenset)):
                raise CalendarConfigError(f"{origin}: {key} must be a list of dates")
            lists[key] = frozenset(_as_date(v, f"{origin}: {key}") for v in raw)
        both = lists["holidays"] & lists["workdays"]
        if both:
            shown = ", ".join(d.isoformat() for d in sorted(both))
            raise CalendarConfigError(f"{origin}: dates listed as both holiday and workday: {shown}")
        covered = data.get("covered_until")
        covered_date = None if covered is None else _as_date(covered, f"{origin}: covered_until")
        return cls(lists["holidays"], lists["workdays"], covered_date)

    @classmethod
    def from_path(cls, path: str | Path) -> "_Overrides":
        path = Path(path)
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise CalendarConfigError(f"cannot read overrides file {str(path)!r}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise CalendarConfigError(f"overrides file {str(path)!r} is not valid TOML: {exc}") from exc
        return cls.from_mapping(data, origin=str(path))


# --------------------------------------------------------------------------- library sources

_library_lock = threading.Lock()
_chinesecalendar_years: dict[int, bool] = {}
_holidays_cache: dict[int, Any] = {}
_holidays_official: set[int] | None = None


def _chinesecalendar_has(year: int) -> bool:
    """Whether ``chinesecalendar`` has data for ``year`` (it raises NotImplementedError otherwise)."""
    with _library_lock:
        known = _chinesecalendar_years.get(year)
    if known is not None:
        return known
    try:
        import chinese_calendar
    except ImportError:  # the library is optional at run time
        has = False
    else:
        try:
            chinese_calendar.is_workday(_dt.date(year, 1, 1))
            chinese_calendar.is_workday(_dt.date(year, 12, 31))
            has = True
        except NotImplementedError:
            has = False
    with _library_lock:
        _chinesecalendar_years[year] = has
    return has


def _holidays_official_years() -> set[int]:
    """Years for which ``holidays`` CN carries an official State Council arrangement."""
    global _holidays_official
    with _library_lock:
        if _holidays_official is not None:
            return _holidays_official
    years: set[int] = set()
    try:
        from holidays.countries.china import ChinaStaticHolidays

        years = {int(y) for y in getattr(ChinaStaticHolidays, "special_public_holidays", {})}
    except ImportError:
        years = set()
    with _library_lock:
        _holidays_official = years
    return years


def _holidays_year(year: int) -> Any | None:
    """A ``holidays`` CN object for ``year`` (public holidays), or None when unavailable."""
    with _library_lock:
        if year in _holidays_cache:
            return _holidays_cache[year]
    try:
        import holidays

        obj = holidays.country_holidays("CN", years=year)
        if not (obj.start_year <= year <= obj.end_year):
            obj = None
    except (ImportError, NotImplementedError, ValueError, KeyError):
        obj = None
    with _library_lock:
        _holidays_cache[year] = obj
    return obj


def _last_official_year() -> int | None:
    """The last year with an official arrangement in any library (2026 with the pinned ones)."""
    official = _holidays_official_years()
    year = max(official) if official else 2026
    while _chinesecalendar_has(year + 1):  # chinesecalendar may know later years
        year += 1
    if year in official or _chinesecalendar_has(year):
        return year
    return None


@dataclass(frozen=True)
class _YearData:
    source: str  # one of the SOURCE_* names
    non_working: frozenset[_dt.date]  # weekday dates that are not working days
    weekend_working: frozenset[_dt.date]  # weekend dates that are working days (调休)


def _year_from_chinesecalendar(year: int) -> _YearData:
    import chinese_calendar

    non_working = set()
    weekend_working = set()
    day = _dt.date(year, 1, 1)
    one = _dt.timedelta(days=1)
    while day.year == year:
        working = chinese_calendar.is_workday(day)
        if day.weekday() < 5 and not working:
            non_working.add(day)
        elif day.weekday() >= 5 and working:
            weekend_working.add(day)
        day += one
    return _YearData(SOURCE_CHINESECALENDAR, frozenset(non_working), frozenset(weekend_working))


def _year_from_holidays(year: int, source: str, obj: Any) -> _YearData:
    non_working = frozenset(d for d in obj if d.year == year and d.weekday() < 5)
    weekend_working: frozenset[_dt.date] = frozenset()
    if source == SOURCE_HOLIDAYS:
        weekend_working = frozenset(
            d for d in getattr(obj, "weekend_workdays", ()) if d.year == year and d.weekday() >= 5
        )
    return _YearData(source, non_working, weekend_working)


# --------------------------------------------------------------------------- listing

#: How `calendar show` names the source of a day (the data behind it).
SHOWN_SOURCE = {
    SOURCE_OVERRIDE: "overrides",
    SOURCE_CHINESECALENDAR: "chinesecalendar",
    SOURCE_HOLIDAYS: "holidays",
    SOURCE_HOLIDAYS_ESTIMATED: "estimate",
}


@dataclass(frozen=True)
class SpecialDay:
    """A day that the weekday rule gets wrong: a holiday (``working`` False) or a make-up
    working day (调休, ``working`` True), with the source that says so and the holiday's name
    where the source gives one."""

    day: _dt.date
    working: bool
    source: str  # overrides | chinesecalendar | holidays | estimate
    name: str = ""


@dataclass(frozen=True)
class CoverageGap:
    """A year without official holiday data: statutory holidays estimated or unknown, make-up
    working days unknown."""

    year: int
    source: str  # holidays-estimated | weekday


def _chinesecalendar_days(year: int) -> list[SpecialDay]:
    import chinese_calendar

    out = []
    day = _dt.date(year, 1, 1)
    one = _dt.timedelta(days=1)
    while day.year == year:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        working = chinese_calendar.is_workday(day)
        if name is not None or working == (day.weekday() >= 5):
            out.append(SpecialDay(day, working, "chinesecalendar", name or ""))
        day += one
    return out


# --------------------------------------------------------------------------- calendar


class WorkingCalendar:
    """Working days and working hours in one time zone (default Asia/Shanghai).

    ``overrides_path`` is a TOML file, or pass ``overrides`` as a dict with the same keys::

        holidays = ["2027-01-01"]      # never working days
        workdays = ["2027-02-07"]      # always working days (调休 make-up days)
        covered_until = "2027-12-31"   # optional: the file is complete up to this date

    ``estimated_years`` is how many years after the last officially published year the
    ``holidays`` library's estimated statutory holidays are used before the weekday rule.
    Results are cached per year and per date; a calendar is safe to share between threads.
    """

    def __init__(
        self,
        working_hours: str = DEFAULT_WORKING_HOURS,
        overrides_path: str | Path | Mapping[str, Any] | None = None,
        tz: str = DEFAULT_TZ,
        *,
        overrides: Mapping[str, Any] | None = None,
        estimated_years: int = 1,
    ) -> None:
        self._periods = parse_working_hours(working_hours)
        self.working_hours = _format_working_hours(self._periods)
        try:
            self.tz = ZoneInfo(tz)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
            raise CalendarConfigError(f"unknown time zone {tz!r}") from exc
        if isinstance(overrides_path, Mapping):
            if overrides is not None:
                raise CalendarConfigError("give overrides either as a path or as a dict, not both")
            overrides, overrides_path = overrides_path, None
        if overrides_path is not None and overrides is not None:
            raise CalendarConfigError("give overrides either as a path or as a dict, not both")
        if overrides_path is not None:
            self._overrides = _Overrides.from_path(overrides_path)
        elif overrides is not None:
            self._overrides = _Overrides.from_mapping(overrides)
        else:
            self._overrides = _Overrides()
        if not isinstance(estimated_years, int) or estimated_years < 0:
            raise CalendarConfigError(f"estimated_years must be a non-negative integer, got {estimated_years!r}")
        self.estimated_years = estimated_years
        self._lock = threading.Lock()
        self._years: dict[int, _YearData] = {}
        self._days: dict[_dt.date, tuple[tuple[_dt.datetime, _dt.datetime], ...]] = {}
        self._warned_years: set[int] = set()

    def __repr__(self) -> str:
        return f"WorkingCalendar(working_hours={self.working_hours!r}, tz={self.tz.key!r})"

    # ---------------------------------------------------------------- configuration facts

    @property
    def day_working_seconds(self) -> int:
        """Configured working seconds of one working day (28800 for 08:30-12:00,13:00-17:30)."""
        return sum(end - start for start, end in self._periods)

    @property
    def periods(self) -> tuple[tuple[_dt.time, _dt.time | None], ...]:
        """Configured periods as times of day; an end of ``None`` means 24:00."""

        def as_time(seconds: int) -> _dt.time | None:
            if seconds >= _DAY_SECONDS:
                return None
            return _dt.time(seconds // 3600, seconds % 3600 // 60)

        return tuple((as_time(s), as_time(e)) for s, e in self._periods)  # type: ignore[misc]

    @property
    def covered_until(self) -> _dt.date | None:
        return self._overrides.covered_until

    @property
    def fingerprint(self) -> str:
        """A digest of everything that decides which instants are working time: working
        hours, zone, overrides, the estimate horizon and the holiday libraries' versions.
        Values derived from this calendar and stored (indicator facts) carry it, so they are
        recomputed when any of these changes."""
        import hashlib
        from importlib import metadata

        def version(name: str) -> str:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                return "-"

        o = self._overrides
        text = "|".join([
            self.working_hours, self.tz.key, str(self.estimated_years),
            ",".join(sorted(d.isoformat() for d in o.holidays)),
            ",".join(sorted(d.isoformat() for d in o.workdays)),
            o.covered_until.isoformat() if o.covered_until else "",
            version("chinesecalendar"), version("holidays")])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ---------------------------------------------------------------- sources per year

    def _year(self, year: int) -> _YearData:
        with self._lock:
            data = self._years.get(year)
        if data is not None:
            return data
        data = self._build_year(year)
        with self._lock:
            self._years[year] = data
        return data

    def _build_year(self, year: int) -> _YearData:
        if _chinesecalendar_has(year):
            return _year_from_chinesecalendar(year)
        if year in _holidays_official_years():
            obj = _holidays_year(year)
            if obj is not None:
                return _year_from_holidays(year, SOURCE_HOLIDAYS, obj)
        last = _last_official_year()
        if last is not None and last < year <= last + self.estimated_years:
            obj = _holidays_year(year)
            if obj is not None:
                return _year_from_holidays(year, SOURCE_HOLIDAYS_ESTIMATED, obj)
        return _YearData(SOURCE_WEEKDAY, frozenset(), frozenset())

    def source_for(self, day: _dt.date) -> str:
        """Which source decides ``day``: ``override``, ``chinesecalendar``, ``holidays``,
        ``override-covered`` (weekday rule + overrides up to covered_until),
        ``holidays-estimated`` or ``weekday``."""
        day = self._as_day(day)
        if day in self._overrides.holidays or day in self._overrides.workdays:
            return SOURCE_OVERRIDE
        source = self._year(day.year).source
        if source in (SOURCE_HOLIDAYS_ESTIMATED, SOURCE_WEEKDAY) and self._is_override_covered(day):
            return SOURCE_OVERRIDE_COVERED
        return source

    def _is_override_covered(self, day: _dt.date) -> bool:
        covered = self._overrides.covered_until
        return covered is not None and day <= covered

    # ---------------------------------------------------------------- days

    @staticmethod
    def _as_day(day: _dt.date) -> _dt.date:
        if isinstance(day, _dt.datetime):
            return day.date()
        if not isinstance(day, _dt.date):
            raise TypeError(f"expected a date, got {type(day).__name__}")
        return day

    def is_working_day(self, day: _dt.date) -> bool:
        """Whether ``day`` is a working day (a datetime is taken by its date)."""
        day = self._as_day(day)
        if day in self._overrides.workdays:
            return True
        if day in self._overrides.holidays:
            return False
        data = self._year(day.year)
        if data.source in (SOURCE_HOLIDAYS_ESTIMATED, SOURCE_WEEKDAY):
            if self._is_override_covered(day):
                return day.weekday() < 5
            if data.source == SOURCE_WEEKDAY:
                self._log_warning_once(day)
        if day.weekday() < 5:
            return day not in data.non_working
        return day in data.weekend_working

    def working_periods(self, day: _dt.date) -> list[tuple[_dt.datetime, _dt.datetime]]:
        """Aware (start, end) datetimes of the working periods of ``day``; ``[]`` if not working."""
        return list(self._periods_of(self._as_day(day)))

    def _periods_of(self, day: _dt.date) -> tuple[tuple[_dt.datetime, _dt.datetime], ...]:
        cached = self._days.get(day)
        if cached is not None:
            return cached
        result: tuple[tuple[_dt.datetime, _dt.datetime], ...] = ()
        if self.is_working_day(day):
            midnight = _dt.datetime(day.year, day.month, day.day)
            result = tuple(
                (
                    (midnight + _dt.timedelta(seconds=s)).replace(tzinfo=self.tz),
                    (midnight + _dt.timedelta(seconds=e)).replace(tzinfo=self.tz),
                )
                for s, e in self._periods
            )
        with self._lock:
            if len(self._days) > 200_000:
                self._days.clear()
            self._days[day] = result
        return result

    def is_working_time(self, moment: _dt.datetime) -> bool:
        """Whether the aware ``moment`` falls inside a working period (start inclusive, end exclusive)."""
        if moment.tzinfo is None:
            raise ValueError("is_working_time needs a timezone-aware datetime")
        local = moment.astimezone(self.tz)
        return any(start <= local < end for start, end in self._periods_of(local.date()))

    # ---------------------------------------------------------------- listing

    def special_days(self, year: int) -> list[SpecialDay]:
        """Holidays and make-up working days of ``year`` in date order, each with its source:
        ``overrides`` (the deployment's file, which wins), ``chinesecalendar`` or ``holidays``
        (official State Council notices), ``estimate`` (statutory holidays computed by the
        holidays library, no make-up days known). A year beyond every source lists only its
        overrides."""
        data = self._year(year)
        found: dict[_dt.date, SpecialDay] = {}
        if data.source == SOURCE_CHINESECALENDAR:
            found = {d.day: d for d in _chinesecalendar_days(year)}
        elif data.source in (SOURCE_HOLIDAYS, SOURCE_HOLIDAYS_ESTIMATED):
            shown = SHOWN_SOURCE[data.source]
            obj = _holidays_year(year)
            for day, name in sorted((obj or {}).items()):
                if day.year == year:
                    found[day] = SpecialDay(day, False, shown, str(name))
            for day in sorted(data.weekend_working):
                found[day] = SpecialDay(day, True, shown, "调休")
            if data.source == SOURCE_HOLIDAYS_ESTIMATED and self._is_override_covered(
                    _dt.date(year, 12, 31)):
                found = {}  # the file is the complete statement for the year
        for day in self._overrides.holidays:
            if day.year == year:
                found[day] = SpecialDay(day, False, "overrides")
        for day in self._overrides.workdays:
            if day.year == year:
                found[day] = SpecialDay(day, True, "overrides")
        return [found[d] for d in sorted(found)]

    def year_source(self, year: int) -> str:
        """Where the year's data comes from: chinesecalendar, holidays, override-covered
        (the overrides file covers the whole year), holidays-estimated or weekday."""
        source = self._year(year).source
        if source in (SOURCE_HOLIDAYS_ESTIMATED, SOURCE_WEEKDAY) and self._is_override_covered(
                _dt.date(year, 12, 31)):
            return SOURCE_OVERRIDE_COVERED
        return source

    def coverage_gaps(self, today: _dt.date, horizon_days: int = 60) -> list[CoverageGap]:
        """Years from ``today``'s to the one ``horizon_days`` ahead that have no official
        data and are not fully covered by the overrides file."""
        end = today + _dt.timedelta(days=horizon_days)
        gaps = []
        for year in range(today.year, end.year + 1):
            source = self.year_source(year)
            if source in (SOURCE_HOLIDAYS_ESTIMATED, SOURCE_WEEKDAY):
                gaps.append(CoverageGap(year, source))
        return gaps

    # ---------------------------------------------------------------- coverage

    def coverage_warning(self, on: _dt.date) -> str | None:
        """A dated warning when ``on`` is not covered by official data or overrides, else None.

        Beyond every source the weekday rule is used; in an estimated year statutory holidays
        are known but 调休 make-up working days are not.  Never raises for a valid date.
        """
        day = self._as_day(on)
        data = self._year(day.year)
        if data.source not in (SOURCE_HOLIDAYS_ESTIMATED, SOURCE_WEEKDAY):
            return None
        if self._is_override_covered(day):
            return None
        message = self._warning_text(day.year, data.source)
        self._log_once(message)
        return message

    def _warning_text(self, year: int, source: str) -> str:
        since = _dt.date(year, 1, 1)
        covered = self._overrides.covered_until
        if covered is not None and covered >= since:
            since = covered + _dt.timedelta(days=1)
        if source == SOURCE_HOLIDAYS_ESTIMATED:
            return (
                f"working calendar has only estimated statutory holidays for {year} and no "
                f"published make-up working days; estimates in use since {since.isoformat()} "
                f"— add overrides"
            )
        return (
            f"working calendar has no statutory data for {year}; weekday rule in use since "
            f"{since.isoformat()} — add overrides"
        )

    def _log_warning_once(self, day: _dt.date) -> None:
        if day.year in self._warned_years:
            return
        self._warned_years.add(day.year)
        self._log_once(self._warning_text(day.year, SOURCE_WEEKDAY))

    @staticmethod
    def _log_once(message: str) -> None:
        with _warned_lock:
            if message in _warned:
                return
            _warned.add(message)
        logger.warning(message)
