"""Limits, deadline arithmetic and PhaseClock."""

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridroute.sla.calendar import WorkingCalendar
from gridroute.sla.clock import (
    ClockStateError,
    Limit,
    LimitParseError,
    PhaseClock,
    deadline,
    explain_deadline,
    working_seconds_between,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()


def at(y, m, d, hh=0, mm=0, ss=0):
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=SH)


def wh(amount):
    return Limit(amount, "working_hours")


# --------------------------------------------------------------------------- Limit


class TestLimit:
    @pytest.mark.parametrize(
        "text, amount, unit",
        [
            ("4 working_hours", Decimal("4"), "working_hours"),
            ("4 working_hour", Decimal("4"), "working_hours"),
            ("0.5 natural_hours", Decimal("0.5"), "natural_hours"),
            ("  2   natural_day ", Decimal("2"), "natural_days"),
            ("15 working_days", Decimal("15"), "working_days"),
            ("3WORKING_DAYS", Decimal("3"), "working_days"),
        ],
    )
    def test_parse(self, text, amount, unit):
        limit = Limit.parse(text)
        assert (limit.amount, limit.unit) == (amount, unit)
        assert isinstance(limit.amount, Decimal)

    @pytest.mark.parametrize(
        "text, expected",
        [
            ("2紧急工作时", Limit(2, "natural_hours")),
            ("2紧急工作日", Limit(2, "natural_days")),
            ("4小时", Limit(4, "working_hours")),
            ("4工作时", Limit(4, "working_hours")),
            ("15天", Limit(15, "working_days")),
            ("15工作日", Limit(15, "working_days")),
            ("2个工作日", Limit(2, "working_days")),
            ("０.５工作时", Limit(Decimal("0.5"), "working_hours")),
            (" 20 工作日 ", Limit(20, "working_days")),
        ],
    )
    def test_parse_chinese(self, text, expected):
        assert Limit.parse_chinese(text) == expected

    @pytest.mark.parametrize("text", ["", "4", "四小时", "4周", "-2工作日", "0工作时", "2紧急"])
    def test_parse_chinese_errors_name_the_text(self, text):
        with pytest.raises(LimitParseError) as info:
            Limit.parse_chinese(text)
        assert repr(text) in str(info.value)
        assert isinstance(info.value, ValueError)

    @pytest.mark.parametrize("text", ["4", "four working_hours", "4 weeks", "0 natural_hours", "-1 working_days", "nan working_hours"])
    def test_parse_errors_name_the_text(self, text):
        with pytest.raises(LimitParseError) as info:
            Limit.parse(text)
        assert repr(text) in str(info.value)

    def test_str_round_trip(self):
        assert str(Limit.parse("4 working_hour")) == "4 working_hours"
        assert str(Limit(Decimal("4.0"), "working_hours")) == "4 working_hours"
        assert str(Limit(0.5, "natural_hours")) == "0.5 natural_hours"
        assert str(Limit(100, "working_days")) == "100 working_days"
        for text in ["0.25 natural_days", "20 working_days", "1.5 working_hours",
                     "10 natural_minutes"]:
            assert str(Limit.parse(text)) == text
            assert Limit.parse(str(Limit.parse(text))) == Limit.parse(text)

    def test_is_working_and_multiply(self):
        assert Limit(4, "working_hours").is_working
        assert Limit(1, "working_days").is_working
        assert not Limit(2, "natural_hours").is_working
        assert not Limit(2, "natural_days").is_working
        assert Limit(4, "working_hours") * 2 == Limit(8, "working_hours")
        assert 3 * Limit(Decimal("0.5"), "natural_days") == Limit(Decimal("1.5"), "natural_days")
        assert Limit(4, "working_hours") * Decimal("0.5") == Limit(2, "working_hours")

    def test_bad_unit_and_hashable(self):
        with pytest.raises(LimitParseError, match="bad limit unit 'hours'"):
            Limit(1, "hours")
        assert len({Limit(2, "working_hours"), Limit(Decimal("2.0"), "working_hours")}) == 1

    def test_from_text_accepts_both_forms(self):
        assert Limit.from_text("4工作时") == Limit.from_text("4 working_hours")


# --------------------------------------------------------------------------- deadline


class TestDeadline:
    def test_national_day_2026(self):
        end = deadline(at(2026, 9, 30, 16), wh(4), CAL)
        assert end == at(2026, 10, 8, 11)
        assert end.isoformat() == "2026-10-08T11:00:00+08:00"

    def test_make_up_saturday_counts(self):
        # Fri 2026-10-09 16:00 + 4 h: 1.5 h Friday, Sat 10-10 is a 调休 working day.
        assert deadline(at(2026, 10, 9, 16), wh(4), CAL) == at(2026, 10, 10, 11)

    def test_make_up_sunday_counts(self):
        # Sat 2026-09-19 is off; Sun 2026-09-20 is a working day.
        assert deadline(at(2026, 9, 19, 10), wh(2), CAL) == at(2026, 9, 20, 10, 30)

    def test_weekend_crossing(self):
        # Fri 2026-11-13 16:00, plain weekend 11-14/15.
        assert deadline(at(2026, 11, 13, 16), wh(4), CAL) == at(2026, 11, 16, 11)

    def test_mid_autumn_2026(self):
        # Thu 2026-09-24 16:00; Fri 09-25 (中秋) to Sun 09-27 are off.
        assert deadline(at(2026, 9, 24, 16), wh(4), CAL) == at(2026, 9, 28, 11)

    def test_year_crossing_into_2027(self):
        # Thu 2026-12-31 16:00; 2027-01-01 (Fri) is a holiday per holidays CN.
        assert deadline(at(2026, 12, 31, 16), wh(4), CAL) == at(2027, 1, 4, 11)

    def test_one_working_day_from_friday(self):
        assert deadline(at(2026, 11, 13, 16), Limit(1, "working_days"), CAL) == at(2026, 11, 16, 16)

    def test_working_days_follow_configured_hours(self):
        short = WorkingCalendar("08:30-11:30,13:00-17:30")  # 7.5 h a day
        assert deadline(at(2026, 9, 28, 8, 30), Limit(1, "working_days"), short) == at(2026, 9, 28, 17, 30)
        assert deadline(at(2026, 9, 28, 9), Limit(2, "working_days"), short) == at(2026, 9, 30, 9)

    def test_lunch_break_is_skipped(self):
        assert deadline(at(2026, 9, 28, 11), wh(2), CAL) == at(2026, 9, 28, 14)

    def test_end_of_period_stays(self):
        assert deadline(at(2026, 9, 28, 16), Limit(Decimal("1.5"), "working_hours"), CAL) == at(2026, 9, 28, 17, 30)
        assert deadline(at(2026, 9, 28, 11), wh(1), CAL) == at(2026, 9, 28, 12)

    def test_start_outside_working_time(self):
        assert deadline(at(2026, 9, 28, 20), wh(1), CAL) == at(2026, 9, 29, 9, 30)
        assert deadline(at(2026, 9, 28, 12, 15), wh(1), CAL) == at(2026, 9, 28, 14)
        assert deadline(at(2026, 10, 3, 10), wh(1), CAL) == at(2026, 10, 8, 9, 30)

    def test_natural_units(self):
        assert deadline(at(2026, 9, 30, 16), Limit(2, "natural_hours"), CAL) == at(2026, 9, 30, 18)
        assert deadline(at(2026, 9, 30, 16), Limit(2, "natural_days"), CAL) == at(2026, 10, 2, 16)
        assert deadline(at(2026, 9, 30, 16), Limit(0.5, "natural_hours"), CAL) == at(2026, 9, 30, 16, 30)

    def test_result_in_calendar_zone(self):
        start = dt.datetime(2026, 9, 30, 8, 0, tzinfo=dt.timezone.utc)  # 16:00 in Shanghai
        end = deadline(start, wh(4), CAL)
        assert end == at(2026, 10, 8, 11)
        assert end.utcoffset() == dt.timedelta(hours=8)

    def test_naive_start_rejected(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            deadline(dt.datetime(2026, 9, 30, 16), wh(4), CAL)

    def test_weekday_rule_2028(self):
        # Fri 2027-12-31 16:00 + 1 working day; 2028 has no statutory data.
        assert deadline(at(2027, 12, 31, 16), Limit(1, "working_days"), CAL) == at(2028, 1, 3, 16)

    def test_overrides_move_deadline(self):
        cal = WorkingCalendar(overrides={"holidays": ["2026-10-08"]})
        assert deadline(at(2026, 9, 30, 16), wh(4), cal) == at(2026, 10, 9, 11)


class TestExplainAndBetween:
    def test_explain_working(self):
        assert explain_deadline(at(2026, 9, 30, 16), wh(4), CAL) == [
            (at(2026, 9, 30, 16), at(2026, 9, 30, 17, 30), 5400.0),
            (at(2026, 10, 8, 8, 30), at(2026, 10, 8, 11), 9000.0),
        ]

    def test_explain_natural(self):
        assert explain_deadline(at(2026, 9, 30, 16), Limit(2, "natural_days"), CAL) == [
            (at(2026, 9, 30, 16), at(2026, 10, 2, 16), 172800.0)
        ]

    def test_between(self):
        assert working_seconds_between(at(2026, 9, 30, 16), at(2026, 10, 8, 11), CAL) == 4 * 3600
        assert working_seconds_between(at(2026, 10, 8, 11), at(2026, 9, 30, 16), CAL) == -4 * 3600
        assert working_seconds_between(at(2026, 10, 1), at(2026, 10, 7, 23), CAL) == 0
        assert working_seconds_between(at(2026, 9, 28), at(2026, 10, 5), CAL) == 3 * 8 * 3600


# --------------------------------------------------------------------------- properties

starts = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(SH)
).map(lambda d: d.replace(microsecond=0))
amounts = st.integers(min_value=1, max_value=4000).map(lambda n: Decimal(n) / 100)  # 0.01 .. 40 h


@settings(max_examples=80, deadline=None)
@given(start=starts, a=amounts, b=amounts, unit=st.sampled_from(["working_hours", "working_days", "natural_hours", "natural_days"]))
def test_deadline_is_monotone_in_amount(start, a, b, unit):
    low, high = sorted((a, b))
    assert deadline(start, Limit(low, unit), CAL) <= deadline(start, Limit(high, unit), CAL)


@st.composite
def working_starts(draw):
    day = draw(st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31)))
    while not CAL.is_working_day(day):
        day += dt.timedelta(days=1)
    period_start, period_end = draw(st.sampled_from(CAL.working_periods(day)))
    length = int((period_end - period_start).total_seconds())
    return period_start + dt.timedelta(seconds=draw(st.integers(0, length - 1)))


@settings(max_examples=80, deadline=None)
@given(start=working_starts(), h=amounts)
def test_working_hours_round_trip(start, h):
    assert CAL.is_working_time(start)
    end = deadline(start, Limit(h, "working_hours"), CAL)
    assert working_seconds_between(start, end, CAL) == h * 3600


@settings(max_examples=60, deadline=None)
@given(start=starts, h=amounts)
def test_natural_units_are_exact_timedeltas(start, h):
    assert deadline(start, Limit(h, "natural_hours"), CAL) - start == dt.timedelta(hours=float(h))
    assert deadline(start, Limit(h, "natural_days"), CAL) - start == dt.timedelta(days=float(h))


# --------------------------------------------------------------------------- PhaseClock


class TestPhaseClock:
    def test_start(self):
        clock = PhaseClock.start("handle", wh(4), at(2026, 9, 30, 16), CAL)
        assert clock.deadline == at(2026, 10, 8, 11)
        assert (clock.state, clock.remaining_seconds, clock.extensions) == ("running", None, 0)
        assert clock.allotted_seconds() == 4 * 3600

    def test_unknown_phase(self):
        with pytest.raises(ValueError, match="unknown phase 'review'"):
            PhaseClock.start("review", wh(4), at(2026, 9, 30, 16), CAL)

    def test_minutes_are_natural_time(self):
        # centre limits: 立案 + 派遣 within 10 minutes for urgent cases
        assert Limit.parse("10 natural_minutes").own_seconds() == 600
        assert Limit.parse("30 minutes") == Limit(0.5, "natural_hours")
        assert Limit.parse_chinese("10分钟").own_seconds() == 600
        clock = PhaseClock.start("file", Limit.parse("10 natural_minutes"),
                                 at(2026, 10, 1, 23, 55), CAL)  # a holiday night: no matter
        assert clock.deadline == at(2026, 10, 2, 0, 5)

    def test_pause_keeps_working_remaining_not_wall_clock(self):
        clock = PhaseClock.start("handle", wh(4), at(2026, 9, 28, 9), CAL)  # deadline Mon 14:00
        assert clock.deadline == at(2026, 9, 28, 14)
        paused = clock.pause(at(2026, 9, 28, 11), CAL)  # 2 h used, 2 h left
        assert paused.state == "paused"
        assert paused.remaining_seconds == 2 * 3600
        assert paused.paused_at == at(2026, 9, 28, 11)
        # Paused over a night and into the National Day week; resumed Thu 10-08 16:30.
        resumed = paused.resume(at(2026, 10, 8, 16, 30), CAL)
        assert resumed.state == "running"
        assert resumed.remaining_seconds is None
        assert resumed.deadline == at(2026, 10, 9, 9, 30)
        assert resumed.elapsed_share(at(2026, 10, 8, 16, 30), CAL) == 0.5

    def test_natural_pause(self):
        clock = PhaseClock.start("dispatch", Limit(2, "natural_hours"), at(2026, 10, 1, 22), CAL)
        paused = clock.pause(at(2026, 10, 1, 23), CAL)
        assert paused.remaining_seconds == 3600
        assert paused.resume(at(2026, 10, 3, 8), CAL).deadline == at(2026, 10, 3, 9)

    def test_paused_share_is_frozen(self):
        clock = PhaseClock.start("handle", wh(4), at(2026, 9, 28, 9), CAL).pause(at(2026, 9, 28, 12), CAL)
        assert clock.elapsed_share(at(2026, 12, 1, 9), CAL) == 0.75

    def test_pause_while_overdue_keeps_the_overdue_time(self):
        clock = PhaseClock.start("handle", wh(1), at(2026, 9, 28, 9), CAL)  # deadline 10:00
        paused = clock.pause(at(2026, 9, 28, 14), CAL)  # 3 h working time overdue
        assert paused.remaining_seconds == -3 * 3600
        resumed = paused.resume(at(2026, 9, 29, 9), CAL)
        # Three working hours before Tue 09:00: 0.5 h Tuesday morning, 2.5 h back from Mon 17:30.
        assert resumed.deadline == at(2026, 9, 28, 15)
        assert resumed.elapsed_share(at(2026, 9, 29, 9), CAL) == 4.0

    def test_extend_running(self):
        clock = PhaseClock.start("handle", wh(4), at(2026, 9, 30, 16), CAL).extend(CAL)
        assert clock.extensions == 1
        assert clock.deadline == at(2026, 10, 8, 16)
        assert clock.allotted_seconds() == 8 * 3600
        assert clock.elapsed_share(at(2026, 10, 8, 11), CAL) == 0.5

    def test_extend_paused(self):
        clock = PhaseClock.start("handle", Limit(1, "working_days"), at(2026, 9, 28, 9), CAL)
        paused = clock.pause(at(2026, 9, 28, 10), CAL).extend(CAL)
        assert paused.remaining_seconds == 7 * 3600 + 8 * 3600
        assert paused.allotted_seconds(CAL) == 16 * 3600
        assert paused.resume(at(2026, 9, 29, 8, 30), CAL).deadline == at(2026, 9, 30, 16, 30)

    def test_complete_and_stop(self):
        clock = PhaseClock.start("check", wh(1), at(2026, 9, 28, 9), CAL)
        done = clock.complete(at(2026, 9, 28, 9, 45))
        assert (done.state, done.ended_at, done.on_time) == ("done", at(2026, 9, 28, 9, 45), True)
        assert done.elapsed_share(at(2026, 12, 1), CAL) == 0.75
        late = clock.complete(at(2026, 9, 28, 10, 30))
        assert late.on_time is False
        stopped = clock.pause(at(2026, 9, 28, 9, 30), CAL).stop(at(2026, 9, 28, 11))
        assert (stopped.state, stopped.remaining_seconds, stopped.on_time) == ("stopped", None, None)
        with pytest.raises(ClockStateError, match="cannot resume a done clock"):
            done.resume(at(2026, 9, 29, 9), CAL)
        with pytest.raises(ClockStateError, match="cannot extend a stopped clock"):
            stopped.extend(CAL)
        with pytest.raises(ClockStateError, match="cannot pause a paused clock"):
            clock.pause(at(2026, 9, 28, 9, 30), CAL).pause(at(2026, 9, 28, 9, 40), CAL)

    def test_restart_gives_full_limit(self):
        clock = PhaseClock.start("handle", wh(4), at(2026, 9, 28, 9), CAL).extend(CAL).complete(at(2026, 9, 28, 10))
        again = clock.restart(at(2026, 9, 29, 16), CAL)
        assert (again.state, again.extensions, again.started_at) == ("running", 0, at(2026, 9, 29, 16))
        assert again.deadline == at(2026, 9, 30, 11)

    def test_immutable(self):
        clock = PhaseClock.start("handle", wh(4), at(2026, 9, 28, 9), CAL)
        clock.pause(at(2026, 9, 28, 10), CAL)
        assert clock.state == "running"
        with pytest.raises(AttributeError):
            clock.state = "done"

    def test_elapsed_share_running(self):
        clock = PhaseClock.start("handle", wh(4), at(2026, 9, 30, 16), CAL)
        assert clock.elapsed_share(at(2026, 10, 3, 12), CAL) == 0.375  # 1.5 h of 4 h, holiday
        assert clock.elapsed_share(at(2026, 10, 8, 12), CAL) == 1.25

    @pytest.mark.parametrize("make", [
        lambda: PhaseClock.start("handle", wh(4), at(2026, 9, 30, 16), CAL),
        lambda: PhaseClock.start("accept", Limit(Decimal("0.5"), "natural_hours"), at(2026, 9, 30, 16), CAL)
        .pause(at(2026, 9, 30, 16, 10), CAL).extend(CAL),
        lambda: PhaseClock.start("check", wh(1), at(2026, 9, 28, 9), CAL).complete(at(2026, 9, 28, 9, 45)),
    ])
    def test_dict_round_trip(self, make):
        clock = make()
        data = clock.to_dict()
        assert json.loads(json.dumps(data)) == data  # primitives only
        assert PhaseClock.from_dict(data) == clock

    def test_dict_shape(self):
        clock = PhaseClock.start("handle", wh(4), at(2026, 9, 30, 16), CAL).pause(at(2026, 9, 30, 17), CAL)
        assert clock.to_dict() == {
            "phase": "handle",
            "limit": "4 working_hours",
            "started_at": "2026-09-30T16:00:00+08:00",
            "deadline": "2026-10-08T11:00:00+08:00",
            "state": "paused",
            "remaining_seconds": 3 * 3600.0,
            "extensions": 0,
            "paused_at": "2026-09-30T17:00:00+08:00",
            "ended_at": None,
        }

    def test_from_dict_errors(self):
        with pytest.raises(ValueError, match="lacks field 'deadline'"):
            PhaseClock.from_dict({"phase": "handle", "limit": "4 working_hours", "started_at": "2026-09-30T16:00+08:00"})
        with pytest.raises(ValueError, match="remaining_seconds is set exactly when"):
            PhaseClock.from_dict({
                "phase": "handle", "limit": "4工作时", "started_at": "2026-09-30T16:00+08:00",
                "deadline": "2026-10-08T11:00+08:00", "state": "running", "remaining_seconds": 5.0,
            })
