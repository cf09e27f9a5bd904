"""Time windows across midnight in routing rules (`time = "22:00-06:00"`): the shipped
night-construction rule and the loader's checks."""
from __future__ import annotations

import textwrap
from datetime import datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridroute.reference import load_reference
from gridroute.rules import RoutingContext, RulesError, check_ruleset, decide, load_ruleset
from gridroute.rules.model import Conditions, TimeWindow
from gridroute.rules.shadows import shadows

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "reference" / "huangpu"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def shipped():
    data = load_reference(categories=SAMPLE / "categories.csv",
                          standards=SAMPLE / "standards.csv", units=SAMPLE / "units.csv")
    known = {"known_units": set(data.units), "known_categories": set(data.categories),
             "known_standards": set(data.standards)}
    return data, load_ruleset(ROOT / "data" / "rules" / "huangpu.toml", **known)


def route_noise(shipped, at: datetime):
    data, ruleset = shipped
    ctx = RoutingContext.for_cell("E0301", "310101004001001", at=at, tz=TZ)
    return decide(ruleset, ctx, units=data.units)


@pytest.mark.parametrize("local, night", [
    ("2026-11-25T21:59:00", False),  # Wednesday evening, a minute before the window
    ("2026-11-25T22:00:00", True),
    ("2026-11-26T05:59:00", True),  # the next morning, still inside
    ("2026-11-26T06:00:00", False),  # the end is excluded
    ("2026-11-25T14:00:00", False),  # working time
    ("2026-11-28T23:30:00", True),  # Saturday night: the window ignores the calendar
    ("2026-11-29T03:00:00", True),  # Sunday small hours
    ("2026-11-28T12:00:00", False),  # Saturday noon, outside working time but not night
])
def test_night_construction_rule_follows_the_22_to_6_window(shipped, local, night):
    decision = route_noise(shipped, datetime.fromisoformat(local).replace(tzinfo=TZ))
    assert decision.unit_code == "310101004-enforcement"
    if night:
        assert (decision.rule_id, decision.urgency, decision.standard_id) == (
            "night-construction-noise", "urgent", "E0301-1")
        assert f"time {local[11:16]} is inside 22:00-06:00" in decision.explanation
    else:
        assert (decision.rule_id, decision.urgency, decision.standard_id) == (
            "street-squad-events", "normal", None)


def test_window_reads_the_city_clock_whatever_the_offset_of_the_report(shipped):
    # 14:30 UTC is 22:30 in Shanghai
    decision = route_noise(shipped, datetime(2026, 11, 25, 14, 30, tzinfo=timezone.utc))
    assert decision.rule_id == "night-construction-noise"


@pytest.mark.parametrize("text, inside, outside", [
    ("22:00-06:00", [time(22), time(23, 59, 59), time(0), time(5, 59, 59)],
     [time(6), time(21, 59, 59), time(12)]),
    ("08:30-17:30", [time(8, 30), time(17, 29)], [time(8, 29), time(17, 30), time(23)]),
])
def test_time_window_bounds(text, inside, outside):
    window = TimeWindow.parse(text)
    assert [window.contains(t) for t in inside] == [True] * len(inside)
    assert [window.contains(t) for t in outside] == [False] * len(outside)
    assert str(window) == text


def write(tmp_path, body):
    path = tmp_path / "rules.toml"
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def test_bad_windows_are_refused_with_rule_field_and_line(tmp_path):
    path = write(tmp_path, """
        version = 1

        [[rules]]
        id = "a"
        when = { time = "22:00-25:00" }
        then = { assign = "u" }

        [[rules]]
        id = "b"
        when = { time = ["nightly"] }
        then = { assign = "u" }

        [[rules]]
        id = "c"
        when = { time = "06:00-06:00" }
        then = { assign = "u" }
    """)
    errors, _ = check_ruleset(path, known_units={"u"}, known_categories={"E0301"})
    p = str(path)
    assert errors == [
        f"{p}:5: rules[1] 'a': when.time: '22:00-25:00': 25:00 is not a time of day",
        f"{p}:10: rules[2] 'b': when.time: 'nightly' is not a time window like '22:00-06:00'",
        f"{p}:15: rules[3] 'c': when.time: '06:00-06:00': start and end are equal "
        f"(an empty window)",
    ]
    with pytest.raises(RulesError):
        load_ruleset(path, known_units={"u"}, known_categories={"E0301"})


def test_same_window_shadows_but_a_different_one_does_not():
    night = (TimeWindow.parse("22:00-06:00"),)
    evening = (TimeWindow.parse("18:00-22:00"),)
    assert shadows(Conditions(time=night), Conditions(category=("E0301",), time=night))
    assert not shadows(Conditions(time=night), Conditions(category=("E0301",), time=evening))
    assert not shadows(Conditions(time=night), Conditions(category=("E0301",)))
