"""Stored indicator facts (reports/indicators.py case_facts) give the same indicators as the
replayed history, at every as_of after the cases' last events and at the exact instants the
running clocks fall due; cases whose facts cannot serve are replayed and merged."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from gridroute.reports.indicators import (FACT_FLAGS, History, case_facts, compute_frame,
                                          groups_from_facts, groups_of, region_frame)
from gridroute.reports.timeline import WorkingTimeline
from test_reports_indicators import CAL, END, START, TZ, build


@pytest.fixture(scope="module")
def history():
    return build()


def _subset(history: History, ids) -> History:
    ids = set(ids)
    return History(history.cases[history.cases["case_id"].isin(ids)].reset_index(drop=True),
                   history.events[history.events["case_id"].isin(ids)].reset_index(drop=True))


def _through_facts(history, facts, by, as_of):
    """What the report service does: valid stored facts grouped, the rest replayed."""
    tq = as_of.timestamp()
    usable = facts[(facts["last_at"] <= tq) & facts["exact"].astype(bool)]
    key_col = "unit_code" if by == "unit" else f"{by}_code"
    if by == "unit":
        keys = usable["unit_code"].to_numpy(dtype=object)
    else:
        keys = history.cases.set_index("case_id").loc[usable["case_id"], key_col].to_numpy(
            dtype=object)
    stored = groups_from_facts(usable, keys, start=START, end=END, as_of=as_of)
    rest = set(history.cases["case_id"]) - set(usable["case_id"])
    replayed = groups_of(_subset(history, rest), start=START, end=END, as_of=as_of, by=by,
                         calendar=CAL)
    return region_frame(pd.concat([stored, replayed], ignore_index=True), by), len(usable)


def _deadlines(facts):
    d = facts["deadline"].dropna()
    return [datetime.fromtimestamp(x, TZ) for x in d if x < 1e17]


def _until(history: History, moment: datetime) -> History:
    """The history as the database held it at ``moment``."""
    events = history.events[history.events["at"] <= moment.timestamp()]
    return _subset(History(history.cases, events.reset_index(drop=True)),
                   events["case_id"].unique())


CUTS = [datetime(2026, 11, 2, 9, 0, tzinfo=TZ) + timedelta(hours=5 * i) for i in range(24)]


def test_facts_of_the_example_history(history):
    facts = case_facts(history, calendar=CAL).set_index("case_id")
    assert len(facts) == len(history.cases)
    bits = {name: 1 << i for i, name in enumerate(FACT_FLAGS)}
    # C4 is suspended, C7 voided, C8 merged: bits as the replay finds them
    assert facts.loc[4, "flags"] & bits["suspended"]
    assert facts.loc[7, "flags"] & bits["voided"]
    assert facts.loc[8, "flags"] & bits["merged"]
    # Monday 12:00: C1's clock (4 working hours from its 09:20 dispatch) still runs, and
    # falls due at 14:20 (the lunch hour 12:00-13:00 is not working time)
    noon = case_facts(_until(history, datetime(2026, 11, 2, 12, 0, tzinfo=TZ)),
                      calendar=CAL).set_index("case_id")
    assert datetime.fromtimestamp(noon.loc[1, "deadline"], TZ).strftime("%H:%M:%S") == \
        "14:20:00"


@pytest.mark.parametrize("by", ["cell", "street", "unit"])
def test_stored_facts_equal_the_replay_at_every_as_of(history, by):
    served = running = 0
    for cut in CUTS:
        then = _until(history, cut)
        facts = case_facts(then, calendar=CAL)
        moments = [cut, cut + timedelta(minutes=50), cut + timedelta(hours=7),
                   cut + timedelta(days=2)]
        # the instants the running clocks fall due, and a millisecond either side
        for d in _deadlines(facts):
            moments += [d - timedelta(milliseconds=1), d, d + timedelta(milliseconds=1)]
            running += 1
        for as_of in moments:
            want = compute_frame(then, start=START, end=END, as_of=as_of, by=by, calendar=CAL)
            got, used = _through_facts(then, facts, by, as_of)
            pd.testing.assert_frame_equal(got, want, check_dtype=False,
                                          obj=f"{by}, facts of {cut}, at {as_of}")
            served += used
    assert served > 0 and running > 10  # stored facts served, running clocks were met


def test_a_running_clock_falls_due_at_its_deadline(history):
    then = _until(history, datetime(2026, 11, 2, 12, 0, tzinfo=TZ))
    facts = case_facts(then, calendar=CAL)
    deadline = datetime(2026, 11, 2, 14, 20, tzinfo=TZ)  # C1's, as above
    before = groups_from_facts(facts, facts["case_id"], start=START, end=END, as_of=deadline)
    after = groups_from_facts(facts, facts["case_id"], start=START, end=END,
                              as_of=deadline + timedelta(milliseconds=1))
    late_before = set(before.loc[before["late"], "key"])
    assert set(after.loc[after["late"], "key"]) - late_before == {1}


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 60 * 86400), work=st.floats(0, 40 * 3600))
def test_last_instant_within_inverts_working_time(start, work):
    origin = datetime(2026, 9, 28, tzinfo=TZ).timestamp()  # the National Day week ahead
    line = WorkingTimeline(CAL, origin, origin + 200 * 86400)
    a = origin + start
    w = float(line.at(np.array([a]))[0]) + work
    (d,) = line.last_instant_within(np.array([w]))
    assert line.at(np.array([d]))[0] == pytest.approx(w, abs=1e-6)
    # an instant later holds more working time only once work resumes: d is the last one
    later = line.at(np.array([d + 1.0]))[0]
    assert later > w - 1e-6
    if later == pytest.approx(w, abs=1e-6):  # d+1 s is outside working time
        assert not CAL.is_working_time(datetime.fromtimestamp(d + 1.0, TZ))
