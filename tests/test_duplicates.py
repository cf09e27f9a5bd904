"""Duplicate rules: same category, radius and window edges, open candidates only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridroute.cases.duplicates import DuplicatePolicy, candidate_bbox, find_duplicates
from gridroute.cases.model import Case, State

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
X0, Y0 = 500_000.0, 3_450_000.0


def new_report(**kw) -> Case:
    base = dict(category_code="0201", x=X0, y=Y0, reported_at=T0)
    base.update(kw)
    return Case(**base)


_next_id = iter(range(1, 10_000))


def existing(dx: float = 0.0, dy: float = 0.0, age: timedelta = timedelta(hours=1),
             **kw) -> Case:
    base = dict(id=next(_next_id), category_code="0201", x=X0 + dx, y=Y0 + dy,
                reported_at=T0 - age, state=State.FILED)
    base.update(kw)
    return Case(**base)


def test_exactly_50_m_is_included_and_50_01_excluded():
    on_edge = existing(dx=50.0)
    diagonal = existing(dx=30.0, dy=-40.0)
    outside = existing(dx=50.01)
    found = find_duplicates(new_report(), [outside, on_edge, diagonal], DuplicatePolicy())
    # equal distance and report time: the lower id comes first
    assert [(c.id, d) for c, d in found] == [(on_edge.id, 50.0), (diagonal.id, 50.0)]


def test_sorted_by_distance_then_earlier_report():
    far = existing(dx=40.0)
    near = existing(dy=10.0)
    tie_late = existing(dx=-20.0, age=timedelta(hours=1))
    tie_early = existing(dy=20.0, age=timedelta(hours=5))
    found = find_duplicates(new_report(), [far, tie_late, near, tie_early])
    assert [c for c, _ in found] == [near, tie_early, tie_late, far]
    assert [d for _, d in found] == [10.0, 20.0, 20.0, 40.0]


def test_window_edge_72_hours_included_one_second_more_excluded():
    at_edge = existing(age=timedelta(hours=72))
    too_old = existing(age=timedelta(hours=72, seconds=1))
    found = find_duplicates(new_report(), [at_edge, too_old])
    assert [c for c, _ in found] == [at_edge]


def test_reports_after_the_new_one_are_not_candidates():
    same_time = existing(age=timedelta(0))
    later = existing(age=timedelta(seconds=-1))
    found = find_duplicates(new_report(), [same_time, later])
    assert [c for c, _ in found] == [same_time]


def test_different_category_excluded():
    other = existing(category_code="0202")
    no_category = existing(category_code=None)
    assert find_duplicates(new_report(), [other, no_category]) == []


@pytest.mark.parametrize("state", [State.CLOSED, State.REJECTED, State.MERGED, State.VOIDED])
def test_closed_rejected_and_merged_excluded(state):
    assert find_duplicates(new_report(), [existing(state=state)]) == []


@pytest.mark.parametrize("state", sorted(set(State) - {State.CLOSED, State.REJECTED,
                                                       State.MERGED, State.VOIDED}))
def test_every_other_open_state_is_a_candidate(state):
    cand = existing(dx=5.0, state=state)
    assert find_duplicates(new_report(), [cand]) == [(cand, 5.0)]


def test_state_as_plain_string_is_understood():
    @dataclass
    class Row:
        id: int
        category_code: str
        x: float
        y: float
        reported_at: datetime
        state: str

    rows = [Row(1, "0201", X0, Y0 + 3, T0, "dispatched"), Row(2, "0201", X0, Y0, T0, "closed"),
            Row(3, "0201", X0, Y0, T0, "weird")]
    assert [(r.id, d) for r, d in find_duplicates(new_report(), rows)] == [(1, 3.0)]


def test_per_category_override_and_default_for_others():
    policy = DuplicatePolicy(per_category={"0105": (200.0, timedelta(days=7))})
    manhole = existing(dx=150.0, age=timedelta(days=6), category_code="0105")
    assert find_duplicates(new_report(category_code="0105"), [manhole], policy) == [
        (manhole, 150.0)]
    rubbish = existing(dx=150.0, age=timedelta(days=6))
    assert find_duplicates(new_report(), [rubbish], policy) == []
    assert policy.for_category("0105") == (200.0, timedelta(days=7))
    assert policy.for_category("0201") == (50.0, timedelta(hours=72))
    assert policy.for_category(None) == (50.0, timedelta(hours=72))


def test_custom_default_radius_and_window():
    policy = DuplicatePolicy(radius_m=10.0, window=timedelta(hours=1))
    near_recent = existing(dx=10.0, age=timedelta(minutes=60))
    near_old = existing(dx=1.0, age=timedelta(minutes=61))
    far_recent = existing(dx=10.5, age=timedelta(minutes=1))
    found = find_duplicates(new_report(), [near_recent, near_old, far_recent], policy)
    assert found == [(near_recent, 10.0)]


def test_the_new_case_itself_is_skipped():
    new = new_report(id=42, state=State.REPORTED)
    same_id_copy = existing(id=42)
    assert find_duplicates(new, [new, same_id_copy]) == []


def test_candidates_without_position_or_time_are_skipped():
    no_xy = existing(x=None, y=None)
    no_time = existing()
    no_time.reported_at = None
    assert find_duplicates(new_report(), [no_xy, no_time]) == []


@pytest.mark.parametrize("missing", [{"x": None}, {"y": None}, {"reported_at": None},
                                     {"category_code": None}])
def test_new_report_without_position_time_or_category_finds_nothing(missing):
    assert find_duplicates(new_report(**missing), [existing()]) == []


def test_accepts_any_iterable():
    cands = (existing(dy=float(i)) for i in range(3))
    assert [d for _, d in find_duplicates(new_report(), cands)] == [0.0, 1.0, 2.0]


def test_candidate_bbox():
    assert candidate_bbox(new_report(), DuplicatePolicy()) == (
        X0 - 50.0, Y0 - 50.0, X0 + 50.0, Y0 + 50.0, T0 - timedelta(hours=72))
    policy = DuplicatePolicy(per_category={"0105": (200.0, timedelta(days=7))})
    assert candidate_bbox(new_report(category_code="0105"), policy) == (
        X0 - 200.0, Y0 - 200.0, X0 + 200.0, Y0 + 200.0, T0 - timedelta(days=7))
    assert candidate_bbox(new_report(x=None)) is None
    assert candidate_bbox(new_report(reported_at=None)) is None


def test_bbox_contains_every_match():
    policy = DuplicatePolicy()
    cands = [existing(dx=dx, dy=dy, age=timedelta(hours=h))
             for dx in (-50.0, -30.0, 0.0, 35.0, 50.0)
             for dy in (-50.0, 0.0, 40.0) for h in (0, 30, 72)]
    minx, miny, maxx, maxy, since = candidate_bbox(new_report(), policy)
    for cand, _ in find_duplicates(new_report(), cands, policy):
        assert minx <= cand.x <= maxx and miny <= cand.y <= maxy
        assert cand.reported_at >= since


@pytest.mark.parametrize("kw", [
    {"radius_m": -1.0},
    {"radius_m": float("nan")},
    {"window": timedelta(hours=-1)},
    {"per_category": {"0105": (-5.0, timedelta(hours=1))}},
])
def test_policy_rejects_negative_values(kw):
    with pytest.raises(ValueError):
        DuplicatePolicy(**kw)


def test_policy_window_must_be_a_timedelta():
    with pytest.raises(TypeError):
        DuplicatePolicy(window=72)
