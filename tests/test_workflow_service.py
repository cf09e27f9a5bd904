"""Workflow actions through `perform()`: one action per transaction, refusals change nothing,
phase clocks get exact deadlines from the standards rows (working time, 08:30-12:00,13:00-17:30)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from gridroute.services.errors import Conflict, NotFound, ServiceError
from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.workflow import perform
from gridroute.store import tables as t

from helpers_db import run_sql

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def new_case(ctx, *, channel="inspector", category="E0102", when=None):
    """E0102 暴露垃圾 at 121.48,31.23 → greening, standard E0102-1 (4 working_hours)."""
    return submit_report(ctx, ReportInput(
        channel=channel, category_code=category, lon=121.48, lat=31.23, crs="wgs84",
        description="暴露垃圾", reporter="r-1", reported_at=when or at(25, 9))).case


def act(ctx, case, action, role, when, *, actor=None, reason=None, **payload):
    return perform(ctx, case.id, action, actor=actor or f"{role}-1", role=role, reason=reason,
                   payload=payload, at=when).case


def snapshot(ctx, case_id):
    """What a refusal must not change: the case row, its history, clocks and outbox."""
    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get(case_id)
        events = uow.cases.events(case_id)
        clocks = [tuple(r) for r in run_sql(uow, 
            sa.select(t.case_clocks).where(t.case_clocks.c.case_id == case_id)
            .order_by(t.case_clocks.c.phase)).all()]
        outbox = run_sql(uow, sa.select(sa.func.count()).select_from(t.outbox)).scalar_one()
    return case, len(events), clocks, outbox


def clock(ctx, case_id, phase):
    with ctx.uow(read_only=True) as uow:
        return run_sql(uow, sa.select(t.case_clocks).where(
            t.case_clocks.c.case_id == case_id, t.case_clocks.c.phase == phase)).first()


def history(ctx, case_id):
    with ctx.uow(read_only=True) as uow:
        return uow.cases.events(case_id)


def filed_and_dispatched(ctx, dispatch_at=None):
    case = new_case(ctx)
    act(ctx, case, "file", "acceptor", at(25, 9, 10))
    return act(ctx, case, "dispatch", "dispatcher", dispatch_at or at(25, 16))


# --------------------------------------------------------------------------- life cycle

def test_full_life_cycle_with_rework(app_ctx):
    case = new_case(app_ctx, channel="public")
    steps = [
        ("verify", "inspector", at(25, 9, 10), None, {}, "verified"),
        ("file", "acceptor", at(25, 9, 20), None, {}, "filed"),
        ("dispatch", "dispatcher", at(25, 9, 30), None, {}, "dispatched"),
        ("accept", "unit", at(25, 10), None, {}, "accepted"),
        ("resolve", "unit", at(25, 11), None, {"reply": "已清运"}, "resolved"),
        ("check_fail", "inspector", at(25, 11, 30), "仍有垃圾", {}, "rework"),
        ("resolve", "unit", at(25, 14), None, {"reply": "已彻底清运"}, "resolved"),
        ("check_pass", "inspector", at(25, 14, 30), None, {}, "checked"),
        ("close", "acceptor", at(25, 15), None, {}, "closed"),
    ]
    for action, role, when, reason, payload, state in steps:
        case = act(app_ctx, case, action, role, when, reason=reason, **payload)
        assert case.state.value == state, action
    assert case.version == 10
    assert (case.reworks, case.returns, case.extensions) == (1, 0, 0)
    assert case.unit_code == "greening"
    assert case.closed_at == at(25, 15)
    events = history(app_ctx, case.id)
    assert [e.seq for e in events] == list(range(1, 11))
    assert [(e.action, e.role.value, e.to_state.value) for e in events] == [
        ("report", "public", "reported"), ("verify", "inspector", "verified"),
        ("file", "acceptor", "filed"), ("dispatch", "dispatcher", "dispatched"),
        ("accept", "unit", "accepted"), ("resolve", "unit", "resolved"),
        ("check_fail", "inspector", "rework"), ("resolve", "unit", "resolved"),
        ("check_pass", "inspector", "checked"), ("close", "acceptor", "closed")]
    assert events[6].reason == "仍有垃圾"
    assert events[3].payload["unit_code"] == "greening"
    assert events[5].payload["reply"] == "已清运"

    with app_ctx.uow(read_only=True) as uow:
        stored = uow.cases.get(case.id)
        clocks = {r.phase: r for r in run_sql(uow, sa.select(t.case_clocks)).all()}
        topics = [r.topic for r in run_sql(uow, sa.select(t.outbox).order_by(t.outbox.c.id))]
    assert stored.state.value == "closed" and stored.version == 10 and stored.reworks == 1
    assert {p: c.state for p, c in clocks.items()} == {
        "file": "done", "dispatch": "done", "accept": "done", "handle": "done", "check": "done"}
    # 返工 restarted the handle clock at 11:30 with the full 4 working hours (second run)
    assert clocks["handle"].run == 2
    assert clocks["handle"].deadline == at(25, 16, 30)
    assert topics == ["case.reported", "case.dispatch", "case.resolve", "case.check_fail",
                      "case.resolve"]


def test_return_and_redispatch_counts_and_resumes_the_handle_clock(app_ctx):
    case = filed_and_dispatched(app_ctx)
    assert clock(app_ctx, case.id, "handle").deadline == at(26, 11)
    case = act(app_ctx, case, "return", "unit", at(25, 17), reason="不属本单位")
    assert case.state.value == "returned"
    assert case.returns == 1
    handle = clock(app_ctx, case.id, "handle")
    assert handle.state == "paused"
    assert handle.clock["remaining_seconds"] == 3 * 3600

    case = act(app_ctx, case, "dispatch", "dispatcher", at(26, 9))
    assert case.state.value == "dispatched"
    assert case.returns == 1
    ev = history(app_ctx, case.id)[-1]
    assert (ev.seq, ev.action, ev.payload["redispatch"]) == (5, "dispatch", True)
    # same unit: the 3 remaining working hours resume, Thu 09:00 → 12:00
    handle = clock(app_ctx, case.id, "handle")
    assert (handle.state, handle.run, handle.deadline) == ("running", 1, at(26, 12))


def test_redispatch_to_another_unit_starts_a_fresh_clock(app_ctx):
    case = filed_and_dispatched(app_ctx)
    act(app_ctx, case, "return", "unit", at(25, 17), reason="不属本单位")
    case = act(app_ctx, case, "dispatch", "dispatcher", at(26, 9),
               unit_code="310101001-gridcentre")
    assert case.unit_code == "310101001-gridcentre"
    handle = clock(app_ctx, case.id, "handle")
    assert (handle.state, handle.run, handle.unit_code) == ("running", 2,
                                                            "310101001-gridcentre")
    assert handle.deadline == at(26, 14)


# --------------------------------------------------------------------------- refusals

def _refusal(ctx, case, action, role, *, reason=None, payload=None, version=None,
             exc=ServiceError):
    before = snapshot(ctx, case.id)
    with pytest.raises(exc) as info:
        perform(ctx, case.id, action, actor="x-1", role=role, reason=reason, payload=payload,
                expected_version=version, at=at(25, 12))
    after = snapshot(ctx, case.id)
    assert after == before
    return info.value


def test_wrong_role_is_refused_and_changes_nothing(app_ctx):
    case = new_case(app_ctx)
    error = _refusal(app_ctx, case, "file", "inspector")
    assert (error.field, error.code) == ("role", "role_not_allowed")
    assert error.message == "role inspector may not file; allowed roles: acceptor, shift_lead, system"


def test_missing_reason_is_refused_and_changes_nothing(app_ctx):
    case = new_case(app_ctx)
    error = _refusal(app_ctx, case, "reject", "acceptor", reason="  ")
    assert (error.field, error.code, error.message) == (
        "reason", "reason_required", "reject requires a reason")


def test_illegal_transition_is_refused_and_changes_nothing(app_ctx):
    case = new_case(app_ctx)
    error = _refusal(app_ctx, case, "accept", "unit")
    assert (error.code, error.message) == ("illegal_transition",
                                           "cannot accept a case in state reported")


def test_public_report_must_be_verified_before_filing(app_ctx):
    case = new_case(app_ctx, channel="public")
    error = _refusal(app_ctx, case, "file", "acceptor")
    assert error.message == ("cannot file a case in state reported: public and hotline "
                             "reports must be verified first")


def test_stale_version_is_a_conflict_on_field_version(app_ctx):
    case = new_case(app_ctx)
    error = _refusal(app_ctx, case, "file", "acceptor", version=0, exc=Conflict)
    assert (error.field, error.code, error.status) == ("version", "stale_version", 409)
    assert error.message == "stale version: expected 0, actual 1"
    ok = perform(app_ctx, case.id, "file", actor="acc", role="acceptor", expected_version=1,
                 at=at(25, 12)).case
    assert ok.version == 2


def test_unknown_unit_and_unknown_case_are_refused(app_ctx):
    case = new_case(app_ctx)
    act(app_ctx, case, "file", "acceptor", at(25, 9, 10))
    error = _refusal(app_ctx, case, "dispatch", "dispatcher", payload={"unit_code": "nobody"})
    assert (error.field, error.message) == ("unit_code", "unknown unit 'nobody'")
    with pytest.raises(NotFound) as info:
        perform(app_ctx, "GR-20261125-999999", "file", actor="a", role="acceptor")
    assert (info.value.field, info.value.message) == ("case", "no case 'GR-20261125-999999'")


# --------------------------------------------------------------------------- deadlines

def test_handle_deadline_comes_from_the_standards_row(app_ctx):
    case = filed_and_dispatched(app_ctx, dispatch_at=at(25, 16))  # Wednesday 16:00
    handle = clock(app_ctx, case.id, "handle")
    assert case.standard_id == "E0102-1"  # 4 working_hours
    assert (handle.state, handle.run, handle.unit_code) == ("running", 1, "greening")
    assert handle.started_at == at(25, 16)
    assert handle.deadline == at(26, 11)  # 1.5 h on Wednesday + 2.5 h on Thursday
    accept = clock(app_ctx, case.id, "accept")
    assert accept.deadline == at(25, 17)  # 1 natural hour


def test_extension_twice_then_refused(app_ctx):
    case = filed_and_dispatched(app_ctx)
    case = act(app_ctx, case, "accept", "unit", at(25, 16, 30))
    deadlines = []
    for n in (1, 2):
        case = act(app_ctx, case, "request_extension", "unit", at(26, 8 + n), reason="需采购")
        assert case.extension_pending is True
        case = act(app_ctx, case, "approve_extension", "dispatcher", at(26, 8 + n, 30))
        assert (case.extensions, case.extension_pending) == (n, False)
        deadlines.append(clock(app_ctx, case.id, "handle").deadline)
    # each approval adds one original limit (4 working hours) to the deadline
    assert deadlines == [at(26, 16), at(27, 11)]
    error = _refusal(app_ctx, case, "request_extension", "unit", reason="还要")
    assert (error.field, error.code, error.message) == (
        "extensions", "limit_reached", "extension limit reached: 2 of 2 used")
    assert case.state.value == "accepted"


def test_suspension_gives_back_the_remaining_working_time(app_ctx):
    case = filed_and_dispatched(app_ctx)  # deadline Thu 11:00
    case = act(app_ctx, case, "accept", "unit", at(25, 16, 30))
    case = act(app_ctx, case, "suspend", "shift_lead", at(25, 17), reason="需立项资金",
               until=at(30, 9))
    assert case.state.value == "suspended"
    assert case.previous_state.value == "accepted"
    assert case.suspended_until == at(30, 9)
    handle = clock(app_ctx, case.id, "handle")
    assert handle.state == "paused"
    assert handle.clock["remaining_seconds"] == 3 * 3600  # 0.5 h Wed + 2.5 h Thu

    case = act(app_ctx, case, "resume", "shift_lead", at(30, 9))  # Monday
    assert case.state.value == "accepted"
    assert case.previous_state is None and case.suspended_until is None
    handle = clock(app_ctx, case.id, "handle")
    assert handle.state == "running"
    # 3 working hours from Monday 09:00; adding the wall-clock pause would give Sunday 03:00
    assert handle.deadline == at(30, 12)
    ev = history(app_ctx, case.id)[-1]
    assert (ev.action, ev.payload["restored_state"], ev.payload["early"]) == (
        "resume", "accepted", False)


def test_suspension_needs_a_future_until(app_ctx):
    case = filed_and_dispatched(app_ctx)
    error = _refusal(app_ctx, case, "suspend", "shift_lead", reason="资金",
                     payload={"until": at(25, 11)})
    assert (error.field, error.message) == ("until", "until must be after the suspension starts")
    error = _refusal(app_ctx, case, "suspend", "shift_lead", reason="资金")
    assert (error.field, error.message) == ("until", "suspend requires field until")


def test_close_of_the_case_stops_every_clock(app_ctx):
    case = new_case(app_ctx)
    act(app_ctx, case, "reject", "shift_lead", at(25, 9, 5), reason="非城管范围")
    with app_ctx.uow(read_only=True) as uow:
        stored = uow.cases.get(case.id)
        states = {r.phase: r.state for r in run_sql(uow, sa.select(t.case_clocks))}
    assert stored.state.value == "rejected"
    assert states == {"file": "stopped"}
    assert history(app_ctx, case.id)[-1].reason == "非城管范围"


def test_resolve_without_reply_is_refused(app_ctx):
    case = filed_and_dispatched(app_ctx)
    case = act(app_ctx, case, "accept", "unit", at(25, 16, 30))
    error = _refusal(app_ctx, case, "resolve", "unit", payload={"reply": ""})
    assert (error.field, error.message) == ("reply", "resolve requires field reply")
