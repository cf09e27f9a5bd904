"""WorkingCalendar: statutory data, 调休, overrides, coverage warnings, working hours."""

import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridroute.sla import calendar as calendar_module
from gridroute.sla.calendar import CalendarConfigError, WorkingCalendar, parse_working_hours

SH = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_warnings():
    calendar_module._warned.clear()
    yield
    calendar_module._warned.clear()


@pytest.fixture(scope="module")
def cal():
    return WorkingCalendar()


def at(y, m, d, hh=0, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


class TestStatutory2026:
    def test_make_up_working_days(self, cal):
        assert cal.is_working_day(dt.date(2026, 9, 20))  # Sunday 调休
        assert cal.is_working_day(dt.date(2026, 10, 10))  # Saturday 调休

    @pytest.mark.parametrize("day", range(1, 8))
    def test_national_day_week_is_holiday(self, cal, day):
        assert not cal.is_working_day(dt.date(2026, 10, day))

    def test_ordinary_days(self, cal):
        assert cal.is_working_day(dt.date(2026, 10, 8))  # Thursday after the holiday
        assert cal.is_working_day(dt.date(2026, 9, 30))  # Wednesday
        assert not cal.is_working_day(dt.date(2026, 9, 26))  # plain Saturday
        assert not cal.is_working_day(dt.date(2026, 10, 11))  # plain Sunday

    def test_source_and_no_warning(self, cal):
        assert cal.source_for(dt.date(2026, 10, 10)) == "chinesecalendar"
        assert cal.coverage_warning(dt.date(2026, 12, 31)) is None

    def test_datetime_is_taken_by_its_date(self, cal):
        assert cal.is_working_day(at(2026, 10, 10, 9))

    def test_before_chinesecalendar_uses_holidays(self, cal):
        assert cal.source_for(dt.date(2003, 10, 1)) == "holidays"
        assert not cal.is_working_day(dt.date(2003, 10, 1))
        assert cal.coverage_warning(dt.date(2003, 10, 1)) is None


class TestBeyondOfficialData:
    def test_2027_new_year_from_holidays(self, cal):
        assert not cal.is_working_day(dt.date(2027, 1, 1))
        assert cal.is_working_day(dt.date(2027, 1, 4))
        assert cal.source_for(dt.date(2027, 1, 1)) == "holidays-estimated"

    def test_2027_warns_about_missing_make_up_days(self, cal):
        assert cal.coverage_warning(dt.date(2027, 5, 6)) == (
            "working calendar has only estimated statutory holidays for 2027 and no published "
            "make-up working days; estimates in use since 2027-01-01 — add overrides"
        )

    def test_2028_weekday_rule_with_dated_warning(self, cal):
        assert cal.source_for(dt.date(2028, 10, 2)) == "weekday"
        assert cal.is_working_day(dt.date(2028, 10, 2))  # Monday: weekday rule, no holiday data
        assert not cal.is_working_day(dt.date(2028, 10, 7))  # Saturday
        assert cal.coverage_warning(dt.date(2028, 10, 2)) == (
            "working calendar has no statutory data for 2028; weekday rule in use since "
            "2028-01-01 — add overrides"
        )

    def test_warning_logged_once_per_year(self, caplog):
        cal = WorkingCalendar()
        with caplog.at_level(logging.WARNING, logger="gridroute.sla.calendar"):
            for day in range(1, 29):
                cal.is_working_day(dt.date(2029, 2, day))
            cal.coverage_warning(dt.date(2029, 3, 1))
            WorkingCalendar().coverage_warning(dt.date(2029, 6, 1))
            cal.coverage_warning(dt.date(2030, 1, 2))
        messages = [r.getMessage() for r in caplog.records]
        assert messages == [
            "working calendar has no statutory data for 2029; weekday rule in use since "
            "2029-01-01 — add overrides",
            "working calendar has no statutory data for 2030; weekday rule in use since "
            "2030-01-01 — add overrides",
        ]

    def test_no_estimated_years(self):
        cal = WorkingCalendar(estimated_years=0)
        assert cal.source_for(dt.date(2027, 1, 1)) == "weekday"
        assert cal.is_working_day(dt.date(2027, 1, 1))  # Friday by the weekday rule


class TestOverrides:
    def test_overrides_win_over_libraries(self):
        cal = WorkingCalendar(overrides={"holidays": ["2026-10-08"], "workdays": ["2026-10-03"]})
        assert not cal.is_working_day(dt.date(2026, 10, 8))
        assert cal.is_working_day(dt.date(2026, 10, 3))
        assert cal.source_for(dt.date(2026, 10, 3)) == "override"
        assert cal.is_working_day(dt.date(2026, 10, 9))

    def test_dict_as_second_positional_argument(self):
        cal = WorkingCalendar("08:30-12:00,13:00-17:30", {"holidays": ["2026-10-09"]})
        assert not cal.is_working_day(dt.date(2026, 10, 9))

    def test_toml_file_with_covered_until(self, tmp_path):
        path = tmp_path / "overrides.toml"
        path.write_text(
            'holidays = [2028-01-03, "2028-01-04"]\n'
            "workdays = [2028-01-08]\n"
            "covered_until = 2028-06-30\n",
            encoding="utf-8",
        )
        cal = WorkingCalendar(overrides_path=path)
        assert cal.covered_until == dt.date(2028, 6, 30)
        assert not cal.is_working_day(dt.date(2028, 1, 3))
        assert not cal.is_working_day(dt.date(2028, 1, 4))
        assert cal.is_working_day(dt.date(2028, 1, 8))  # Saturday make-up day
        assert cal.coverage_warning(dt.date(2028, 3, 1)) is None
        assert cal.source_for(dt.date(2028, 3, 1)) == "override-covered"
        assert cal.coverage_warning(dt.date(2028, 7, 3)) == (
            "working calendar has no statutory data for 2028; weekday rule in use since "
            "2028-07-01 — add overrides"
        )

    def test_covered_until_replaces_estimates(self):
        cal = WorkingCalendar(overrides={"covered_until": "2027-12-31", "holidays": ["2027-02-08"]})
        assert cal.is_working_day(dt.date(2027, 2, 10))  # estimated holiday no longer used
        assert not cal.is_working_day(dt.date(2027, 2, 8))
        assert cal.coverage_warning(dt.date(2027, 2, 10)) is None

    def test_sample_file_loads(self):
        cal = WorkingCalendar(overrides_path=REPO / "data" / "calendar" / "overrides.toml")
        assert cal.is_working_day(dt.date(2026, 10, 10))
        assert cal.covered_until is None

    @pytest.mark.parametrize(
        "data, fragment",
        [
            ({"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}, "both holiday and workday: 2027-01-01"),
            ({"holiday": []}, "unknown keys ['holiday']"),
            ({"holidays": ["2027-13-01"]}, "'2027-13-01' is not a date"),
            ({"holidays": "2027-01-01"}, "holidays must be a list"),
            ({"covered_until": "soon"}, "covered_until: 'soon' is not a date"),
        ],
    )
    def test_bad_overrides(self, data, fragment):
        with pytest.raises(CalendarConfigError) as info:
            WorkingCalendar(overrides=data)
        assert fragment in str(info.value)

    def test_bad_toml(self, tmp_path):
        path = tmp_path / "bad.toml"
        path.write_text("holidays = [", encoding="utf-8")
        with pytest.raises(CalendarConfigError, match="not valid TOML"):
            WorkingCalendar(overrides_path=path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(CalendarConfigError, match="cannot read overrides file"):
            WorkingCalendar(overrides_path=tmp_path / "none.toml")


class TestWorkingHours:
    def test_periods_of_a_working_day(self, cal):
        assert cal.working_periods(dt.date(2026, 10, 10)) == [
            (at(2026, 10, 10, 8, 30), at(2026, 10, 10, 12, 0)),
            (at(2026, 10, 10, 13, 0), at(2026, 10, 10, 17, 30)),
        ]
        assert cal.working_periods(dt.date(2026, 10, 3)) == []

    def test_day_seconds(self, cal):
        assert cal.day_working_seconds == 8 * 3600
        assert WorkingCalendar("08:30-11:30,13:00-17:30").day_working_seconds == 7.5 * 3600

    def test_parse(self):
        assert parse_working_hours("08:30-12:00, 13:00-17:30") == ((30600, 43200), (46800, 63000))
        assert parse_working_hours("00:00-24:00") == ((0, 86400),)
        assert WorkingCalendar(" 8:30-12:00 ,13:00-17:30").working_hours == "08:30-12:00,13:00-17:30"

    @pytest.mark.parametrize(
        "text, fragment",
        [
            ("", "working hours are empty"),
            ("12:00-08:30", "end is not after start"),
            ("08:30-12:00,11:00-17:30", "must be in order and not overlap"),
            ("8h-12h", "bad time '8h'"),
            ("08:30-25:00", "out of range"),
            ("08:30", "expected HH:MM-HH:MM"),
        ],
    )
    def test_bad_hours(self, text, fragment):
        with pytest.raises(CalendarConfigError) as info:
            WorkingCalendar(text)
        assert fragment in str(info.value)

    def test_is_working_time(self, cal):
        assert cal.is_working_time(at(2026, 9, 30, 8, 30))
        assert not cal.is_working_time(at(2026, 9, 30, 12, 0))
        assert cal.is_working_time(at(2026, 9, 30, 17, 29))
        assert not cal.is_working_time(at(2026, 9, 30, 17, 30))
        assert not cal.is_working_time(at(2026, 10, 1, 9))
        # 01:00 UTC is 09:00 in Shanghai
        assert cal.is_working_time(dt.datetime(2026, 9, 30, 1, 0, tzinfo=dt.timezone.utc))

    def test_unknown_tz(self):
        with pytest.raises(CalendarConfigError, match="unknown time zone"):
            WorkingCalendar(tz="Mars/Olympus")
