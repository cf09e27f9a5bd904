"""One vocabulary each: urgency, clock states and locate statuses are enums that every layer
shares, and stored text comes back as the enum."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import shapely

from gridroute.cases.model import Case, Channel, Urgency
from gridroute.grids.locator import STATUSES, LocateStatus, Locator
from gridroute.sla.calendar import WorkingCalendar
from gridroute.sla.clock import ClockState, Limit, PhaseClock

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)


def test_urgency_text_becomes_the_enum_and_unknown_text_is_refused():
    case = Case(channel=Channel.PUBLIC, category_code="E0102", urgency="urgent")
    assert case.urgency is Urgency.URGENT
    assert Case(channel=Channel.PUBLIC, category_code="E0102").urgency is Urgency.NORMAL
    with pytest.raises(ValueError, match="urgency must be one of normal, urgent, got 'high'"):
        Case(channel=Channel.PUBLIC, category_code="E0102", urgency="high")


def test_stored_clock_state_comes_back_as_the_enum():
    cal = WorkingCalendar()
    clock = PhaseClock.start("handle", Limit.parse("4 working_hours"), T0, cal)
    stored = clock.pause(datetime(2026, 11, 25, 10, 0, tzinfo=SH), cal).to_dict()
    assert stored["state"] == "paused" and type(stored["state"]) is str
    again = PhaseClock.from_dict(stored)
    assert again.state is ClockState.PAUSED
    assert again.resume(datetime(2026, 11, 26, 9, 0, tzinfo=SH), cal).state is ClockState.RUNNING
    with pytest.raises(ValueError, match="unknown clock state 'lost'"):
        PhaseClock.from_dict({**stored, "state": "lost", "remaining_seconds": None})


def test_locate_statuses_are_the_enum_one_by_one_and_text_in_batch():
    cells = [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)]
    locator = Locator.from_geometries(["A", "B"], cells, snap_m=10)
    assert [locator.locate_xy_one(x, 50).status for x in (50, 100, 205, 500)] == [
        LocateStatus.INSIDE, LocateStatus.BOUNDARY, LocateStatus.SNAPPED, LocateStatus.OUTSIDE]
    assert STATUSES == ("inside", "boundary", "snapped", "outside")


def test_batch_rows_and_file_counts_are_the_enum(tmp_path):
    from gridroute.grids.batch import locate_csv

    cells = [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)]
    locator = Locator.from_geometries(["A", "B"], cells, snap_m=10, working_crs="EPSG:32651")
    rows = locator.locate_xy([50, 100, 205, 500], [50, 50, 50, 50]).rows()
    assert [r.status for r in rows] == list(LocateStatus)
    assert all(type(r.status) is LocateStatus for r in rows)
    src = tmp_path / "in.csv"
    src.write_text("id,lon,lat,crs\na,50,50,EPSG:32651\nb,205,50,EPSG:32651\n")
    summary = locate_csv(locator, src, tmp_path / "out.csv")
    assert summary.counts == {LocateStatus.INSIDE: 1, LocateStatus.BOUNDARY: 0,
                              LocateStatus.SNAPPED: 1, LocateStatus.OUTSIDE: 0}
    assert all(type(k) is LocateStatus for k in summary.counts)
