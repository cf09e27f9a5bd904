"""Indicators over a history built by hand (gridroute/reports/indicators.py).

Twelve cases in one street, three cells, two units, week of Mon 2026-11-02; every value below
was worked out by hand from the timeline in the comments (working hours 08:30-12:00,
13:00-17:30; handling limit 4 working hours; centre limits: file/dispatch 30 natural minutes,
verify/check 1 working hour).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gridroute.cases import workflow
from gridroute.cases.model import Case
from gridroute.reports.indicators import (History, ReportSettings, columns_for, compute,
                                          grade_of, parse_weights)
from gridroute.sla.calendar import WorkingCalendar

TZ = ZoneInfo("Asia/Shanghai")
CELL_A, CELL_B, CELL_C = "310101001001001", "310101001001002", "310101001002001"
START, END = datetime(2026, 11, 2, tzinfo=TZ), datetime(2026, 11, 9, tzinfo=TZ)
AS_OF = datetime(2026, 11, 6, 18, 0, tzinfo=TZ)
CAL = WorkingCalendar(overrides={})


def t(day: int, hm: str) -> datetime:
    """November `day` of 2026 at `hm` (day 0: Friday 30 October, before the period)."""
    h, m = (int(x) for x in hm.split(":"))
    if day == 0:
        return datetime(2026, 10, 30, h, m, tzinfo=TZ)
    return datetime(2026, 11, day, h, m, tzinfo=TZ)


class Flow:
    def __init__(self, case_id: int, cell: str, channel: str, reporter: str, at: datetime,
                 category: str = "A0101"):
        self.case = Case(id=case_id, public_id=f"GR-{case_id}", channel=channel,
                         reporter=reporter, reported_at=at, cell_code=cell,
                         community_code=cell[:12], street_code=cell[:9],
                         district_code=cell[:6], category_code=category,
                         routing={"limit": "4 working_hours"})
        self.events = [workflow.intake_event(self.case, actor=reporter, role="inspector"
                                             if channel == "inspector" else "public", at=at)]

    def do(self, action: str, actor: str, role: str, at: datetime, reason: str | None = None,
           **payload) -> "Flow":
        self.events.append(workflow.apply(self.case, action, actor=actor, role=role, at=at,
                                          reason=reason or ("r" if action in _REASONED else None),
                                          payload=payload))
        return self


_REASONED = {"return", "void", "verify_false", "request_extension", "request_suspension",
             "appeal", "check_fail"}


def _dispatch(f: Flow, who: str, unit: str, at: datetime) -> Flow:
    return f.do("dispatch", who, "dispatcher", at, unit_code=unit)


def _check(f: Flow, inspector: str, sent: datetime, done: datetime, ok: bool = True) -> Flow:
    f.do("send_check", "acc", "acceptor", sent, inspector=inspector)
    return f.do("check_pass" if ok else "check_fail", inspector, "inspector", done)


def build() -> History:
    d = 2  # Monday 2026-11-02
    c = {}
    # C1: filed and dispatched on time; reply at 14:30 after 250 working minutes: late
    f = Flow(1, CELL_A, "inspector", "insp1", t(d, "09:00"))
    f.do("file", "lead1", "shift_lead", t(d, "09:10"))
    _dispatch(f, "disp1", "U1", t(d, "09:20")).do("accept", "u1", "unit", t(d, "09:30"))
    f.do("resolve", "u1", "unit", t(d, "14:30"), reply="done")
    _check(f, "insp1", t(d, "14:40"), t(d, "15:10")).do("close", "lead1", "shift_lead",
                                                         t(d, "15:20"))
    c[1] = f
    # C2: late filing and dispatch; U1 returns it, U2 gets it (fresh run, 380 min: late),
    # check fails (50 min: on time), rework 60 min (on time), second check 80 min (late)
    f = Flow(2, CELL_A, "inspector", "insp1", t(d, "09:00"))
    f.do("file", "lead1", "shift_lead", t(d, "10:00"))
    _dispatch(f, "disp1", "U1", t(d, "10:05")).do("accept", "u1", "unit", t(d, "10:10"))
    f.do("return", "u1", "unit", t(d, "10:30"))
    _dispatch(f, "disp1", "U2", t(d, "10:40")).do("accept", "u2", "unit", t(d, "10:50"))
    f.do("resolve", "u2", "unit", t(3, "09:00"), reply="done")
    _check(f, "insp1", t(3, "09:10"), t(3, "10:00"), ok=False)
    f.do("resolve", "u2", "unit", t(3, "11:00"), reply="done again")
    _check(f, "insp1", t(3, "11:10"), t(3, "13:30")).do("close", "lead1", "shift_lead",
                                                         t(3, "14:00"))
    c[2] = f
    # C3: public report verified in 45 min; one extension; reply after 470 of 480 minutes
    f = Flow(3, CELL_B, "public", "citizen", t(d, "09:00"))
    f.do("send_verify", "acc", "acceptor", t(d, "09:05"), inspector="insp2")
    f.do("verify", "insp2", "inspector", t(d, "09:50"))
    f.do("file", "lead1", "shift_lead", t(d, "10:00"))
    _dispatch(f, "disp1", "U1", t(d, "10:10")).do("accept", "u1", "unit", t(d, "10:20"))
    f.do("request_extension", "u1", "unit", t(d, "10:50"))
    f.do("approve_extension", "disp1", "dispatcher", t(d, "11:00"))
    f.do("resolve", "u1", "unit", t(3, "10:00"), reply="done")
    _check(f, "insp2", t(3, "10:10"), t(3, "10:40")).do("close", "lead1", "shift_lead",
                                                         t(3, "11:00"))
    c[3] = f
    # C4: suspended (挂账) at as_of
    f = Flow(4, CELL_B, "inspector", "insp1", t(d, "14:00"))
    f.do("file", "lead1", "shift_lead", t(d, "14:05"))
    _dispatch(f, "disp1", "U1", t(d, "14:10")).do("accept", "u1", "unit", t(d, "14:20"))
    f.do("request_suspension", "u1", "unit", t(d, "14:30"), until=datetime(2026, 11, 20,
                                                                           tzinfo=TZ))
    f.do("approve_suspension", "lead1", "shift_lead", t(d, "15:00"))
    c[4] = f
    # C5: never replied by as_of (the reply on 11-09 comes after it): overdue and open
    f = Flow(5, CELL_C, "inspector", "insp2", t(d, "09:00"), category="A0202")
    f.do("file", "lead1", "shift_lead", t(d, "09:05"))
    _dispatch(f, "disp1", "U1", t(d, "09:10")).do("accept", "u1", "unit", t(d, "09:20"))
    f.do("resolve", "u1", "unit", t(9, "10:00"), reply="late")
    c[5] = f
    # C6: late reply (950 min) but the overtime appeal is approved
    f = Flow(6, CELL_C, "inspector", "insp2", t(d, "09:00"), category="A0202")
    f.do("file", "lead1", "shift_lead", t(d, "09:05"))
    _dispatch(f, "disp1", "U2", t(d, "09:10")).do("accept", "u2", "unit", t(d, "09:20"))
    f.do("resolve", "u2", "unit", t(4, "09:00"), reply="done")
    f.do("appeal", "u2", "unit", t(4, "09:05"))
    f.do("approve_appeal", "lead1", "shift_lead", t(4, "09:08"))
    _check(f, "insp2", t(4, "09:10"), t(4, "09:40")).do("close", "lead1", "shift_lead",
                                                         t(4, "10:00"))
    c[6] = f
    # C7: dispatched, then voided (作废)
    f = Flow(7, CELL_A, "inspector", "insp1", t(d, "09:00"))
    f.do("file", "lead1", "shift_lead", t(d, "09:05"))
    _dispatch(f, "disp2", "U1", t(d, "09:10"))
    f.do("void", "lead1", "shift_lead", t(d, "10:00"))
    c[7] = f
    # C8: filed, merged into C1, closed with it
    f = Flow(8, CELL_A, "inspector", "insp1", t(d, "09:30"))
    f.do("file", "lead1", "shift_lead", t(d, "09:35"))
    f.do("merge", "disp1", "dispatcher", t(d, "09:40"), parent_id=1)
    f.do("close_with_parent", "system", "system", t(d, "15:20"))
    c[8] = f
    # C9: self-handled (自行处置)
    f = Flow(9, CELL_A, "inspector", "insp1", t(d, "10:55"), category="A0303")
    f.do("self_handle", "insp1", "inspector", t(d, "11:00"), reply="fixed")
    c[9] = f
    # C10: public report not confirmed on site (55 min): rejected
    f = Flow(10, CELL_B, "public", "citizen", t(d, "16:00"))
    f.do("send_verify", "acc", "acceptor", t(d, "16:05"), inspector="insp2")
    f.do("verify_false", "insp2", "inspector", t(d, "17:00"))
    c[10] = f
    # C11: before the period
    f = Flow(11, CELL_A, "inspector", "insp1", t(0, "09:00"))
    f.do("file", "lead1", "shift_lead", t(0, "09:05"))
    c[11] = f
    # C12: returned on Tuesday and not re-dispatched by as_of
    f = Flow(12, CELL_C, "inspector", "insp2", t(3, "09:00"))
    f.do("file", "lead2", "shift_lead", t(3, "09:05"))
    _dispatch(f, "disp2", "U2", t(3, "09:10"))
    f.do("return", "u2", "unit", t(3, "09:30"))
    c[12] = f
    return History.from_objects([f.case for f in c.values()],
                                [e for f in c.values() for e in f.events])


@pytest.fixture(scope="module")
def history():
    return build()


def run(history, by, **kw):
    return compute(history, start=START, end=END, as_of=AS_OF, by=by, calendar=CAL, **kw)


def test_street_region_and_unit_values(history):
    (row,) = run(history, "street")
    assert list(row) == list(columns_for("street"))
    assert row == {
        "group": "310101001",
        "reported": 11, "filed": 10, "filing_rate": 0.9091, "voided": 1,
        "accurate_filing_rate": 0.9, "merged": 1, "suspended": 1, "due_to_close": 7,
        "closed": 5, "closure_rate": 0.7143, "closed_on_time": 4,
        "on_time_closure_rate": 0.5714, "public_share": 0.1, "self_handled": 1,
        "due_to_handle": 5, "handled": 4, "handled_on_time": 3, "handling_rate": 0.8,
        "on_time_handling_rate": 0.6, "reworked": 1, "rework_rate": 0.25,
        "overdue_open": 1, "overdue_open_rate": 0.2, "extended": 1, "extension_rate": 0.2,
        "avg_handling_working_hours": 8.79, "score": 68.0, "grade": "C",
    }


def test_by_cell(history):
    rows = {r["group"]: r for r in run(history, "cell")}
    assert list(rows) == [CELL_A, CELL_B, CELL_C]
    a, b, c = rows[CELL_A], rows[CELL_B], rows[CELL_C]
    assert (a["reported"], a["filed"], a["voided"], a["merged"], a["due_to_close"],
            a["closed"], a["closed_on_time"], a["on_time_closure_rate"], a["self_handled"],
            a["due_to_handle"], a["handled_on_time"], a["reworked"], a["rework_rate"],
            a["avg_handling_working_hours"], a["score"], a["grade"]) == \
        (5, 5, 1, 1, 3, 3, 2, 0.6667, 1, 2, 1, 1, 0.5, 5.75, 79.3, "B")
    assert (b["reported"], b["filed"], b["filing_rate"], b["suspended"], b["due_to_close"],
            b["closure_rate"], b["public_share"], b["extended"], b["extension_rate"],
            b["avg_handling_working_hours"], b["score"], b["grade"]) == \
        (3, 2, 0.6667, 1, 1, 1.0, 0.5, 1, 1.0, 7.83, 100.0, "A")
    assert (c["filed"], c["closed"], c["closure_rate"], c["due_to_handle"], c["handled"],
            c["on_time_handling_rate"], c["overdue_open"], c["overdue_open_rate"],
            c["avg_handling_working_hours"], c["score"], c["grade"]) == \
        (3, 1, 0.3333, 2, 1, 0.5, 1, 0.5, 15.83, 46.7, "D")


def test_by_unit(history):
    rows = {r["group"]: r for r in run(history, "unit")}
    assert list(rows) == ["U1", "U2"]
    assert list(rows["U1"]) == list(columns_for("unit"))
    assert rows["U1"] == {
        "group": "U1", "due_to_handle": 3, "handled": 2, "handled_on_time": 1,
        "handling_rate": 0.6667, "on_time_handling_rate": 0.3333, "reworked": 0,
        "rework_rate": 0.0, "overdue_open": 1, "overdue_open_rate": 0.3333, "extended": 1,
        "extension_rate": 0.3333, "avg_handling_working_hours": 6.0, "score": 60.0,
        "grade": "C"}
    assert rows["U2"] == {
        "group": "U2", "due_to_handle": 2, "handled": 2, "handled_on_time": 2,
        "handling_rate": 1.0, "on_time_handling_rate": 1.0, "reworked": 1,
        "rework_rate": 0.5, "overdue_open": 0, "overdue_open_rate": 0.0, "extended": 0,
        "extension_rate": 0.0, "avg_handling_working_hours": 11.58, "score": 90.0,
        "grade": "A"}


def test_rework_denominator_is_configurable(history):
    settings = ReportSettings(rework_denominator="filed")
    rows = {r["group"]: r for r in run(history, "unit", settings=settings)}
    # U1's cohort cases: C1, C3, C4, C5, C7 (filed 5); U2's: C2, C6, C12 (filed 3)
    assert (rows["U1"]["rework_rate"], rows["U2"]["rework_rate"]) == (0.0, 0.3333)
    settings = ReportSettings(rework_denominator="due_to_close")
    rows = {r["group"]: r for r in run(history, "unit", settings=settings)}
    # U1: 5 filed − 1 voided − 1 suspended = 3; U2: 3
    assert (rows["U1"]["rework_rate"], rows["U2"]["rework_rate"]) == (0.0, 0.3333)


def test_by_dispatcher(history):
    assert run(history, "dispatcher") == [
        {"group": "disp1", "dispatched": 7, "dispatched_on_time": 5,
         "on_time_dispatch_rate": 0.7143, "returned": 1, "accurate_dispatch_rate": 0.8571,
         "score": 78.6, "grade": "B"},
        {"group": "disp2", "dispatched": 2, "dispatched_on_time": 2,
         "on_time_dispatch_rate": 1.0, "returned": 1, "accurate_dispatch_rate": 0.5,
         "score": 75.0, "grade": "B"},
    ]


def test_by_inspector(history):
    assert run(history, "inspector") == [
        {"group": "insp1", "reports": 6, "valid_reports": 5, "valid_report_rate": 0.8333,
         "verify_tasks": 0, "verified_on_time": 0, "on_time_verify_rate": None,
         "check_tasks": 3, "checked_on_time": 2, "on_time_check_rate": 0.6667,
         "self_handled": 1, "score": 76.2, "grade": "B"},
        {"group": "insp2", "reports": 3, "valid_reports": 3, "valid_report_rate": 1.0,
         "verify_tasks": 2, "verified_on_time": 2, "on_time_verify_rate": 1.0,
         "check_tasks": 2, "checked_on_time": 2, "on_time_check_rate": 1.0,
         "self_handled": 0, "score": 100.0, "grade": "A"},
    ]


def test_by_shift_lead(history):
    assert run(history, "shift_lead") == [
        {"group": "lead1", "filed": 8, "filed_on_time": 6, "on_time_filing_rate": 0.75,
         "score": 75.0, "grade": "B"},
        {"group": "lead2", "filed": 1, "filed_on_time": 1, "on_time_filing_rate": 1.0,
         "score": 100.0, "grade": "A"},
    ]


def test_category_filter_and_zero_denominators(history):
    (row,) = run(history, "street", category="A0202")
    assert (row["reported"], row["filed"], row["closed"], row["overdue_open"]) == (2, 2, 1, 1)
    (row,) = run(history, "street", category="A0303")  # the self-handled case alone
    assert (row["filed"], row["closed"], row["closed_on_time"], row["self_handled"],
            row["due_to_handle"]) == (1, 1, 1, 1, 0)
    assert (row["handling_rate"], row["rework_rate"], row["overdue_open_rate"],
            row["avg_handling_working_hours"]) == (None, None, None, None)
    assert run(history, "unit", category="A0303") == []
    assert run(history, "street", category="Z9") == []


def test_as_of_reads_the_state_then(history):
    # Monday 18:00: C1 closed late, C9 self-handled; C2 (U2, 350 of 240 min), C5 and C6
    # (440 min each, no appeal yet) are overdue; C3 has 380 of its extended 480 minutes
    (row,) = compute(history, start=START, end=END, by="street", calendar=CAL,
                     as_of=datetime(2026, 11, 2, 18, 0, tzinfo=TZ))
    assert (row["filed"], row["closed"], row["closed_on_time"], row["handled"],
            row["overdue_open"]) == (9, 2, 1, 1, 3)


def test_grades_and_weights():
    assert [grade_of(s) for s in (100, 90, 89.9, 75, 60, 59.9, 40, 39.9, None)] == \
        ["A", "A", "B", "B", "C", "D", "D", "E", None]
    assert parse_weights("closure_rate=30, on_time_closure_rate=70",
                         ["closure_rate", "on_time_closure_rate"]) == \
        {"closure_rate": 30.0, "on_time_closure_rate": 70.0}
    for text, message in (("closure_rate", "not 'indicator=weight'"),
                          ("bogus=1", "unknown indicator 'bogus'"),
                          ("closure_rate=x", "not a number"),
                          ("closure_rate=-1", "non-negative"),
                          ("closure_rate=0", "positive weight")):
        with pytest.raises(ValueError, match=message):
            parse_weights(text, ["closure_rate"])
