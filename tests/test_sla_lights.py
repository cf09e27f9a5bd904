"""Lights and escalation due times, measured in each clock's own unit."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridroute.cases.model import MAX_SUPERVISING_LEVEL
from gridroute.reference.ladder import LADDER, rung
from gridroute.sla.calendar import WorkingCalendar
from gridroute.sla.clock import Limit, PhaseClock
from gridroute.sla.lights import EscalationPolicy, due_times, light, next_due

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()
POLICY = EscalationPolicy()


def at(y, m, d, hh=0, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def working_clock():
    # Mon 2026-09-28 09:00 + 4 working hours -> 14:00.
    return PhaseClock.start("handle", Limit(4, "working_hours"), at(2026, 9, 28, 9), CAL)


class TestLight:
    def test_working_clock(self):
        clock = working_clock()
        assert light(clock, at(2026, 9, 28, 13, 11), CAL) == "green"
        assert light(clock, at(2026, 9, 28, 13, 12), CAL) == "yellow"  # 3.2 h of 4 h used
        assert light(clock, at(2026, 9, 28, 13, 59), CAL) == "yellow"
        assert light(clock, at(2026, 9, 28, 14, 0), CAL) == "red"
        assert light(clock, at(2026, 9, 28, 13, 0), CAL, yellow_share=0.5) == "yellow"

    def test_non_working_time_does_not_change_the_light(self):
        # Wed 2026-09-30 14:18 + 4 h: yellow at 17:30 the same day, deadline Thu 10-08 09:18.
        clock = PhaseClock.start("handle", Limit(4, "working_hours"), at(2026, 9, 30, 14, 18), CAL)
        assert clock.deadline == at(2026, 10, 8, 9, 18)
        assert light(clock, at(2026, 9, 30, 17, 29), CAL) == "green"
        assert light(clock, at(2026, 9, 30, 17, 30), CAL) == "yellow"
        assert light(clock, at(2026, 10, 5, 12), CAL) == "yellow"  # National Day holiday
        assert light(clock, at(2026, 10, 8, 9, 18), CAL) == "red"

    def test_paused_clock_keeps_its_light(self):
        paused = working_clock().pause(at(2026, 9, 28, 13, 30), CAL)
        assert light(paused, at(2026, 12, 1, 9), CAL) == "yellow"
        assert light(working_clock().pause(at(2026, 9, 28, 10), CAL), at(2026, 12, 1, 9), CAL) == "green"

    def test_done_clock_shows_the_light_it_ended_with(self):
        assert light(working_clock().complete(at(2026, 9, 28, 15)), at(2026, 12, 1), CAL) == "red"
        assert light(working_clock().complete(at(2026, 9, 28, 10)), at(2026, 12, 1), CAL) == "green"

    def test_natural_clock(self):
        clock = PhaseClock.start("dispatch", Limit(2, "natural_hours"), at(2026, 10, 1, 22), CAL)
        assert light(clock, at(2026, 10, 1, 23, 35), CAL) == "green"
        assert light(clock, at(2026, 10, 1, 23, 36), CAL) == "yellow"
        assert light(clock, at(2026, 10, 2, 0, 0), CAL) == "red"

    def test_bad_share(self):
        with pytest.raises(ValueError, match="yellow_share"):
            light(working_clock(), at(2026, 9, 28, 10), CAL, yellow_share=1.0)

    def test_naive_now(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            light(working_clock(), dt.datetime(2026, 9, 28, 10), CAL)


class TestDueTimes:
    def test_working_clock(self):
        assert due_times(working_clock(), CAL, POLICY) == [
            ("yellow", 0, at(2026, 9, 28, 13, 12)),
            ("red", 0, at(2026, 9, 28, 14)),
            ("escalate", 1, at(2026, 9, 28, 14)),
            ("escalate", 2, at(2026, 9, 28, 16)),  # + 2 working hours
            ("escalate", 3, at(2026, 9, 29, 9)),  # + 4 working hours, over the night
            ("escalate", 4, at(2026, 9, 29, 14)),  # + 8 working hours
        ]

    def test_working_clock_over_national_day(self):
        clock = PhaseClock.start("handle", Limit(4, "working_hours"), at(2026, 9, 30, 14, 18), CAL)
        assert due_times(clock, CAL) == [
            ("yellow", 0, at(2026, 9, 30, 17, 30)),
            ("red", 0, at(2026, 10, 8, 9, 18)),
            ("escalate", 1, at(2026, 10, 8, 9, 18)),
            ("escalate", 2, at(2026, 10, 8, 11, 18)),
            ("escalate", 3, at(2026, 10, 8, 14, 18)),
            ("escalate", 4, at(2026, 10, 9, 9, 18)),
        ]

    def test_natural_clock(self):
        clock = PhaseClock.start("dispatch", Limit(2, "natural_hours"), at(2026, 10, 1, 22), CAL)
        assert due_times(clock, CAL, POLICY) == [
            ("yellow", 0, at(2026, 10, 1, 23, 36)),
            ("red", 0, at(2026, 10, 2, 0, 0)),
            ("escalate", 1, at(2026, 10, 2, 0, 0)),
            ("escalate", 2, at(2026, 10, 2, 1, 0)),
            ("escalate", 3, at(2026, 10, 2, 2, 0)),
            ("escalate", 4, at(2026, 10, 2, 4, 0)),
        ]

    def test_extended_clock_uses_allotted_time(self):
        clock = working_clock().extend(CAL)  # 8 working hours from Mon 09:00 -> Tue 09:00
        assert due_times(clock, CAL)[:3] == [
            ("yellow", 0, at(2026, 9, 28, 16, 24)),
            ("red", 0, at(2026, 9, 29, 9)),
            ("escalate", 1, at(2026, 9, 29, 9)),
        ]

    def test_resumed_clock_counts_from_its_new_deadline(self):
        clock = working_clock().pause(at(2026, 9, 28, 10), CAL).resume(at(2026, 10, 8, 8, 30), CAL)
        assert clock.deadline == at(2026, 10, 8, 11, 30)  # 3 working hours were left
        # Yellow at 3.2 h consumed: 1 h before the pause + 2.2 h after 08:30.
        assert due_times(clock, CAL)[0] == ("yellow", 0, at(2026, 10, 8, 10, 42))

    def test_not_running_has_nothing_due(self):
        assert due_times(working_clock().pause(at(2026, 9, 28, 10), CAL), CAL) == []
        assert due_times(working_clock().complete(at(2026, 9, 28, 10)), CAL) == []
        assert next_due(working_clock().stop(at(2026, 9, 28, 10)), CAL, POLICY, set()) is None

    def test_next_due(self):
        clock = working_clock()
        assert next_due(clock, CAL, POLICY, set()) == at(2026, 9, 28, 13, 12)
        assert next_due(clock, CAL, POLICY, {("yellow", 0)}) == at(2026, 9, 28, 14)
        assert next_due(clock, CAL, POLICY, {("yellow", 0), ("red", 0)}) == at(2026, 9, 28, 14)
        recorded = {("yellow", 0), ("red", 0), ("escalate", 1), ("escalate", 2)}
        assert next_due(clock, CAL, POLICY, recorded) == at(2026, 9, 29, 9)
        recorded |= {("escalate", 3), ("escalate", 4)}
        assert next_due(clock, CAL, POLICY, recorded) is None

    def test_custom_policy(self):
        policy = EscalationPolicy(yellow_share=0.5, level_offsets=(0.25,))
        assert due_times(working_clock(), CAL, policy) == [
            ("yellow", 0, at(2026, 9, 28, 11)),
            ("red", 0, at(2026, 9, 28, 14)),
            ("escalate", 1, at(2026, 9, 28, 15)),
        ]


class TestPolicy:
    def test_the_ladder_names_who_each_level_reaches(self):
        assert [(r.level, r.recipient, r.label_zh) for r in LADDER] == [
            (1, "unit", "责任单位督办"), (2, "grid_centre", "街道网格中心督办"),
            (3, "district_centre", "区网格化管理中心督办"), (4, "city_centre", "市网格化管理中心督办")]
        assert rung(2).label("en") == "street grid centre"
        assert len(POLICY.level_offsets) == len(LADDER) == MAX_SUPERVISING_LEVEL
        with pytest.raises(ValueError, match="no escalation level 5: levels are 1 to 4"):
            rung(5)

    @pytest.mark.parametrize(
        "kwargs, fragment",
        [
            ({"yellow_share": 0}, "yellow_share"),
            ({"level_offsets": (0.0, 1.0, 0.5, 2.0)}, "non-decreasing"),
            ({"level_offsets": (-1.0, 0.5, 1.0, 2.0)}, "non-negative"),
        ],
    )
    def test_invalid(self, kwargs, fragment):
        with pytest.raises(ValueError, match=fragment):
            EscalationPolicy(**kwargs)


@st.composite
def running_clocks(draw):
    start = draw(
        st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 6, 30), timezones=st.just(SH))
    ).replace(microsecond=0)
    amount = Decimal(draw(st.integers(1, 2000))) / 100
    unit = draw(st.sampled_from(["working_hours", "working_days", "natural_hours", "natural_days"]))
    return PhaseClock.start("handle", Limit(amount, unit), start, CAL)


@settings(max_examples=60, deadline=None)
@given(clock=running_clocks())
def test_lights_agree_with_due_times(clock):
    items = due_times(clock, CAL, POLICY)
    yellow = items[0][2]
    red = clock.deadline
    assert items[0][:2] == ("yellow", 0) and yellow <= red
    tick = dt.timedelta(microseconds=1)
    assert light(clock, yellow - tick, CAL) == "green"
    assert light(clock, yellow, CAL) in ("yellow", "red")
    assert light(clock, red - tick, CAL) in ("green", "yellow")
    assert light(clock, red, CAL) == "red"
    assert [at for _, _, at in items] == sorted(at for _, _, at in items)
