"""Case state machine: every path, every refusal, counters and the table itself."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridroute.cases import workflow as wf
from gridroute.cases.model import (APPEAL_STATES, OPEN_STATES, Case, CaseEvent, Channel, Role,
                                   State)
from gridroute.cases.workflow import (TRANSITIONS, IllegalTransition, InvalidField,
                                      LimitReached, MissingField, ReasonRequired,
                                      RoleNotAllowed, StaleVersion, UnknownAction,
                                      WorkflowError, WorkflowLimits, allowed_actions, apply,
                                      describe, describe_markdown, intake_event)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)


def make_case(state: State = State.REPORTED, channel: Channel = Channel.INSPECTOR,
              **kw) -> Case:
    base = dict(id=123, public_id="GR-20261125-000123", channel=channel, reporter="insp-7",
                description="exposed rubbish", reported_at=T0, x=1000.0, y=2000.0,
                category_code="0201", cell_code="310101001001001", state=state)
    base.update(kw)
    return Case(**base)


class Runner:
    """Applies actions with a clock that moves forward one minute per step."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.now = T0
        self.events: list[CaseEvent] = []

    def __call__(self, action: str, role: str, **kw) -> CaseEvent:
        self.now += timedelta(minutes=1)
        kw.setdefault("at", self.now)
        event = apply(self.case, action, actor=f"{role}-1", role=role, **kw)
        self.events.append(event)
        return event


def refused(case: Case, exc_type: type[WorkflowError], action: str, **kw) -> WorkflowError:
    """Apply, expect a refusal of ``exc_type`` and check the case did not change at all."""
    before = copy.deepcopy(case)
    kw.setdefault("actor", "someone")
    kw.setdefault("at", T0 + timedelta(hours=1))
    with pytest.raises(exc_type) as info:
        apply(case, action, **kw)
    assert case == before
    return info.value


# --------------------------------------------------------------------------- happy paths

def test_inspector_report_full_loop_with_auto_file():
    run = Runner(make_case())
    run("file", "system")
    run("dispatch", "dispatcher", payload={"unit_code": "U-CG-01"})
    run("accept", "unit")
    run("resolve", "unit", payload={"reply": "cleared", "photos": ["after.jpg"]})
    run("send_check", "acceptor", payload={"inspector": "inspector-1"})
    assert run.case.inspector == "inspector-1"
    run("check_pass", "inspector")
    run("close", "shift_lead")
    case = run.case
    assert case.state is State.CLOSED
    assert case.version == 8
    assert [e.seq for e in run.events] == [2, 3, 4, 5, 6, 7, 8]
    assert [e.to_state for e in run.events] == [
        State.FILED, State.DISPATCHED, State.ACCEPTED, State.RESOLVED, State.CHECKING,
        State.CHECKED, State.CLOSED]
    assert [e.from_state for e in run.events] == [
        State.REPORTED, State.FILED, State.DISPATCHED, State.ACCEPTED, State.RESOLVED,
        State.CHECKING, State.CHECKED]
    assert [e.unit_code for e in run.events] == [None] + ["U-CG-01"] * 6
    assert case.inspector is None
    assert case.filed_at == T0 + timedelta(minutes=1)
    assert case.dispatched_at == T0 + timedelta(minutes=2)
    assert case.accepted_at == T0 + timedelta(minutes=3)
    assert case.resolved_at == T0 + timedelta(minutes=4)
    assert case.checked_at == T0 + timedelta(minutes=6)
    assert case.closed_at == T0 + timedelta(minutes=7)
    assert case.unit_code == "U-CG-01"
    assert (case.returns, case.reworks, case.extensions) == (0, 0, 0)
    assert not case.is_open and case.is_terminal
    resolve = run.events[3]
    assert resolve.payload == {"reply": "cleared", "photos": ["after.jpg"]}
    assert resolve.case_id == 123 and resolve.actor == "unit-1" and resolve.role is Role.UNIT


@pytest.mark.parametrize("channel", [Channel.PUBLIC, Channel.HOTLINE])
def test_public_report_is_verified_then_filed(channel):
    run = Runner(make_case(channel=channel))
    sent = run("send_verify", "acceptor", payload={"inspector": "inspector-1"})
    assert (sent.from_state, sent.to_state) == (State.REPORTED, State.VERIFYING)
    ev = run("verify", "inspector")
    assert (ev.from_state, ev.to_state) == (State.VERIFYING, State.VERIFIED)
    assert ev.payload == {"inspector": "inspector-1"}
    run("file", "shift_lead")
    assert run.case.state is State.FILED
    assert run.case.filed_at == T0 + timedelta(minutes=3)


@pytest.mark.parametrize("channel", [Channel.INSPECTOR, Channel.IMPORT])
def test_inspector_and_import_reports_file_directly(channel):
    run = Runner(make_case(channel=channel))
    run("file", "shift_lead")
    assert run.case.state is State.FILED


@pytest.mark.parametrize("start", [State.REPORTED, State.VERIFIED])
def test_reject_with_reason(start):
    case = make_case(state=start, channel=Channel.PUBLIC)
    ev = apply(case, "reject", actor="acc", role="acceptor", at=T0, reason="  not urban  ")
    assert case.state is State.REJECTED
    assert ev.reason == "not urban"
    assert not case.is_open


@pytest.mark.parametrize("start", [State.REPORTED, State.VERIFIED, State.FILED])
def test_merge_then_close_with_parent(start):
    case = make_case(state=start, channel=Channel.PUBLIC)
    ev = apply(case, "merge", actor="d", role="dispatcher", at=T0, payload={"parent_id": 99})
    assert case.state is State.MERGED and case.parent_id == 99
    assert ev.payload == {"parent_id": 99}
    assert case.is_open  # merged is not terminal
    apply(case, "close_with_parent", actor="tick", role="system", at=T0 + timedelta(hours=2))
    assert case.state is State.CLOSED
    assert case.closed_at == T0 + timedelta(hours=2)


def test_return_redispatch_rework_loop_counts():
    run = Runner(make_case(state=State.FILED))
    run("dispatch", "dispatcher", payload={"unit_code": "U-A"})
    ev = run("return", "unit", reason="not ours: private property")
    assert run.case.state is State.RETURNED and run.case.returns == 1
    assert ev.payload == {"returns": 1}
    ev = run("dispatch", "dispatcher", payload={"unit_code": "U-B"})
    assert ev.payload == {"unit_code": "U-B", "redispatch": True, "previous_unit_code": "U-A"}
    assert run.case.unit_code == "U-B"
    run("accept", "unit")
    run("return", "unit", reason="wrong street")  # returned after signing
    assert run.case.returns == 2
    assert run.case.accepted_at is not None
    run("dispatch", "system", payload={"unit_code": "U-C"})
    assert run.case.accepted_at is None  # the new unit has to sign again
    run("accept", "unit")
    run("resolve", "unit", payload={"reply": "done"})
    run("send_check", "acceptor", payload={"inspector": "inspector-1"})
    ev = run("check_fail", "inspector", reason="still there")
    assert run.case.state is State.REWORK and run.case.reworks == 1
    assert run.case.unit_code == "U-C"  # same unit reworks
    assert ev.payload == {"reworks": 1, "unit_code": "U-C", "inspector": "inspector-1"}
    run("resolve", "unit", payload={"reply": "done again"})
    run("send_check", "acceptor", payload={"inspector": "inspector-1"})
    run("check_fail", "inspector", reason="still there")
    run("resolve", "unit", payload={"reply": "done for real"})
    run("send_check", "acceptor", payload={"inspector": "inspector-1"})
    run("check_pass", "inspector")
    run("close", "shift_lead")
    case = run.case
    assert case.state is State.CLOSED
    assert (case.returns, case.reworks) == (2, 2)
    first_dispatch = run.events[0]
    assert first_dispatch.payload == {"unit_code": "U-A", "redispatch": False}


def test_return_directly_from_dispatched_without_signing():
    case = make_case(state=State.DISPATCHED, unit_code="U-A")
    apply(case, "return", actor="u", role="unit", at=T0, reason="not ours")
    assert case.state is State.RETURNED
    assert case.returns == 1


def test_extensions_two_then_limit():
    run = Runner(make_case(state=State.ACCEPTED, unit_code="U-A"))
    ev = run("request_extension", "unit", reason="needs parts")
    assert run.case.extension_pending and run.case.state is State.ACCEPTED
    assert ev.from_state is ev.to_state is State.ACCEPTED
    assert ev.payload == {"extension_number": 1}
    ev = run("approve_extension", "dispatcher")
    assert (run.case.extensions, run.case.extension_pending) == (1, False)
    assert ev.payload == {"extensions": 1}
    run("request_extension", "unit", reason="still waiting")
    run("approve_extension", "shift_lead")
    assert run.case.extensions == 2
    err = refused(run.case, LimitReached, "request_extension", role="unit", reason="again")
    assert err.code == "limit_reached"
    assert err.message == "extension limit reached: 2 of 2 used"
    assert err.field == "extensions"


def test_extension_pending_blocks_second_request_and_deny_clears_it():
    case = make_case(state=State.REWORK, unit_code="U-A")
    apply(case, "request_extension", actor="u", role="unit", at=T0, reason="rain")
    err = refused(case, LimitReached, "request_extension", role="unit", reason="rain")
    assert err.message == "an extension request is already pending"
    apply(case, "deny_extension", actor="d", role="dispatcher", at=T0, reason="not justified")
    assert (case.extensions, case.extension_pending) == (0, False)
    apply(case, "request_extension", actor="u", role="unit", at=T0, reason="rain again")
    assert case.extension_pending


def test_extension_limit_is_configurable():
    case = make_case(state=State.ACCEPTED, extensions=1)
    err = refused(case, LimitReached, "request_extension", role="unit", reason="x",
                  limits=WorkflowLimits(max_extensions=1))
    assert err.message == "extension limit reached: 1 of 1 used"


def test_return_drops_a_pending_extension_request():
    case = make_case(state=State.ACCEPTED, extension_pending=True)
    ev = apply(case, "return", actor="u", role="unit", at=T0, reason="not ours")
    assert case.extension_pending is False
    assert ev.payload == {"returns": 1, "extension_request_lapsed": True}


@pytest.mark.parametrize("start", [State.DISPATCHED, State.ACCEPTED, State.REWORK])
def test_suspend_and_resume_restores_previous_state(start):
    case = make_case(state=start, unit_code="U-A")
    until = T0 + timedelta(days=90)
    ev = apply(case, "suspend", actor="sl", role="shift_lead", at=T0, reason="needs funding",
               payload={"until": until})
    assert case.state is State.SUSPENDED
    assert case.previous_state is start
    assert case.suspended_until == until
    assert ev.payload == {"until": until.isoformat(), "previous_state": start.value}
    ev = apply(case, "resume", actor="tick", role="system", at=until)
    assert case.state is start
    assert case.previous_state is None and case.suspended_until is None
    assert (ev.from_state, ev.to_state) == (State.SUSPENDED, start)
    assert ev.payload == {"restored_state": start.value, "early": False}


def test_resume_early_is_flagged():
    case = make_case(state=State.ACCEPTED)
    apply(case, "suspend", actor="d", role="dispatcher", at=T0, reason="works",
          payload={"until": T0 + timedelta(days=30)})
    ev = apply(case, "resume", actor="d", role="dispatcher", at=T0 + timedelta(days=3))
    assert ev.payload["early"] is True


def test_suspension_of_exactly_366_days_is_allowed():
    case = make_case(state=State.ACCEPTED)
    apply(case, "suspend", actor="d", role="dispatcher", at=T0, reason="budget next year",
          payload={"until": T0 + timedelta(days=366)})
    assert case.state is State.SUSPENDED


def test_extension_can_be_decided_while_suspended():
    case = make_case(state=State.ACCEPTED)
    apply(case, "request_extension", actor="u", role="unit", at=T0, reason="parts")
    apply(case, "suspend", actor="d", role="dispatcher", at=T0, reason="works",
          payload={"until": T0 + timedelta(days=10)})
    apply(case, "approve_extension", actor="d", role="dispatcher", at=T0)
    assert case.extensions == 1 and case.state is State.SUSPENDED


def test_appeal_approved_excludes_from_overdue_and_keeps_history():
    run = Runner(make_case(state=State.ACCEPTED, unit_code="U-A"))
    ev = run("appeal", "unit", reason="road closed by police")
    assert run.case.appeal == "pending" and ev.reason == "road closed by police"
    err = refused(run.case, LimitReached, "appeal", role="unit", reason="again")
    assert err.message == "an appeal is already pending"
    run("approve_appeal", "manager")
    assert run.case.appeal == "approved" and run.case.overdue_excluded is True
    assert [e.action for e in run.events] == ["appeal", "approve_appeal"]
    assert run.case.state is State.ACCEPTED
    err = refused(run.case, IllegalTransition, "appeal", role="unit", reason="more")
    assert err.message == ("cannot appeal a case in state accepted: "
                           "an appeal was already approved")


def test_appeal_denied_then_appeal_again():
    case = make_case(state=State.RESOLVED)
    apply(case, "appeal", actor="u", role="unit", at=T0, reason="weather")
    apply(case, "deny_appeal", actor="sl", role="shift_lead", at=T0, reason="no evidence")
    assert case.appeal == "denied" and case.overdue_excluded is False
    apply(case, "appeal", actor="u", role="unit", at=T0, reason="new evidence")
    assert case.appeal == "pending"


def test_appeal_can_be_decided_after_closure():
    case = make_case(state=State.CHECKED)
    apply(case, "appeal", actor="u", role="unit", at=T0, reason="weather")
    apply(case, "close", actor="a", role="shift_lead", at=T0)
    apply(case, "approve_appeal", actor="m", role="manager", at=T0)
    assert case.state is State.CLOSED and case.overdue_excluded is True


@pytest.mark.parametrize("state", sorted(APPEAL_STATES))
def test_appeal_allowed_in_every_open_state_after_dispatch(state):
    case = make_case(state=state, previous_state=State.ACCEPTED
                     if state is State.SUSPENDED else None)
    apply(case, "appeal", actor="u", role="unit", at=T0, reason="r")
    assert case.appeal == "pending" and case.state is state


@pytest.mark.parametrize("state", [State.REPORTED, State.FILED, State.MERGED, State.CLOSED,
                                   State.REJECTED])
def test_appeal_refused_before_dispatch_or_after_end(state):
    case = make_case(state=state)
    err = refused(case, IllegalTransition, "appeal", role="unit", reason="r")
    assert err.message == f"cannot appeal a case in state {state.value}"


def test_escalate_raises_and_never_lowers():
    case = make_case(state=State.ACCEPTED)
    ev = apply(case, "escalate", actor="tick", role="system", at=T0, payload={"level": 2})
    assert case.supervising_level == 2 and case.state is State.ACCEPTED
    assert ev.payload == {"level": 2, "previous_level": 0}
    for level in (1, 2):
        err = refused(case, InvalidField, "escalate", role="system", payload={"level": level})
        assert err.field == "level"
        assert err.message == f"level {level} does not raise the current level 2"
    apply(case, "escalate", actor="tick", role="system", at=T0, payload={"level": 4})
    assert case.supervising_level == 4
    err = refused(case, LimitReached, "escalate", role="system", payload={"level": 4})
    assert err.message == "supervising level already at the top (4)"


@pytest.mark.parametrize("level", [0, 5, -1, "3", 2.0, True])
def test_escalate_level_must_be_an_int_in_range(level):
    case = make_case(state=State.FILED)
    err = refused(case, InvalidField, "escalate", role="system", payload={"level": level})
    assert err.code == "invalid_field" and err.field == "level"


def test_escalate_on_a_reported_case_for_the_filing_clock():
    case = make_case()
    apply(case, "escalate", actor="tick", role="system", at=T0, payload={"level": 1})
    assert case.supervising_level == 1


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("action,state,role,allowed,kw", [
    ("verify", State.VERIFYING, "acceptor", "inspector", {}),
    ("file", State.REPORTED, "dispatcher", "shift_lead, system", {}),
    ("file", State.REPORTED, "public", "shift_lead, system", {}),
    ("file", State.REPORTED, "acceptor", "shift_lead, system", {}),
    ("send_verify", State.REPORTED, "inspector", "acceptor, shift_lead",
     {"payload": {"inspector": "i"}}),
    ("send_check", State.RESOLVED, "dispatcher", "acceptor, shift_lead",
     {"payload": {"inspector": "i"}}),
    ("void", State.DISPATCHED, "acceptor", "shift_lead", {"reason": "r"}),
    ("approve_suspension", State.ACCEPTED, "dispatcher", "shift_lead", {}),
    ("request_suspension", State.ACCEPTED, "dispatcher", "unit",
     {"reason": "r", "payload": {"until": T0 + timedelta(days=2)}}),
    ("review_pass", State.RESOLVED, "acceptor", "dispatcher", {}),
    ("self_handle", State.REPORTED, "unit", "inspector, acceptor", {"payload": {"reply": "x"}}),
    ("reject", State.REPORTED, "system", "acceptor, shift_lead", {"reason": "r"}),
    ("merge", State.FILED, "unit", "acceptor, shift_lead, dispatcher",
     {"payload": {"parent_id": 1}}),
    ("dispatch", State.FILED, "acceptor", "dispatcher, system",
     {"payload": {"unit_code": "U"}}),
    ("accept", State.DISPATCHED, "dispatcher", "unit", {}),
    ("return", State.DISPATCHED, "inspector", "unit", {"reason": "r"}),
    ("resolve", State.ACCEPTED, "inspector", "unit", {"payload": {"reply": "x"}}),
    ("check_pass", State.CHECKING, "unit", "inspector", {}),
    ("check_fail", State.CHECKING, "acceptor", "inspector", {"reason": "r"}),
    ("close", State.CHECKED, "inspector", "shift_lead", {}),
    ("close", State.CHECKED, "acceptor", "shift_lead", {}),
    ("close", State.CHECKED, "manager", "shift_lead", {}),
    ("close_with_parent", State.MERGED, "acceptor", "system", {}),
    ("request_extension", State.ACCEPTED, "dispatcher", "unit", {"reason": "r"}),
    ("suspend", State.ACCEPTED, "unit", "shift_lead, dispatcher",
     {"reason": "r", "payload": {"until": T0 + timedelta(days=2)}}),
    ("resume", State.SUSPENDED, "unit", "shift_lead, dispatcher, system", {}),
    ("appeal", State.ACCEPTED, "dispatcher", "unit", {"reason": "r"}),
    ("escalate", State.ACCEPTED, "manager", "system", {"payload": {"level": 1}}),
])
def test_role_not_allowed(action, state, role, allowed, kw):
    case = make_case(state=state, previous_state=State.ACCEPTED
                     if state is State.SUSPENDED else None)
    err = refused(case, RoleNotAllowed, action, role=role, **kw)
    assert err.code == "role_not_allowed"
    assert err.field == "role"
    assert err.message == f"role {role} may not {action}; allowed roles: {allowed}"


def test_extension_and_appeal_decisions_role_refusals():
    case = make_case(state=State.ACCEPTED, extension_pending=True, appeal="pending")
    err = refused(case, RoleNotAllowed, "approve_extension", role="unit")
    assert err.message == ("role unit may not approve_extension; "
                           "allowed roles: dispatcher, shift_lead")
    err = refused(case, RoleNotAllowed, "deny_extension", role="acceptor", reason="r")
    assert err.message == ("role acceptor may not deny_extension; "
                           "allowed roles: dispatcher, shift_lead")
    err = refused(case, RoleNotAllowed, "approve_appeal", role="dispatcher")
    assert err.message == ("role dispatcher may not approve_appeal; "
                           "allowed roles: shift_lead, manager")
    err = refused(case, RoleNotAllowed, "deny_appeal", role="unit", reason="r")
    assert err.message == "role unit may not deny_appeal; allowed roles: shift_lead, manager"


def test_unknown_role_is_refused_as_role_not_allowed():
    case = make_case(state=State.FILED)
    err = refused(case, RoleNotAllowed, "dispatch", role="mayor",
                  payload={"unit_code": "U"})
    assert err.message == "role mayor may not dispatch; allowed roles: dispatcher, system"


def test_unknown_action():
    case = make_case()
    err = refused(case, UnknownAction, "teleport", role="system")
    assert err.code == "unknown_action"
    assert err.message == "unknown action 'teleport'"


@pytest.mark.parametrize("action,state,role,kw", [
    ("reject", State.REPORTED, "acceptor", {}),
    ("reject", State.VERIFIED, "shift_lead", {"reason": "   "}),
    ("return", State.DISPATCHED, "unit", {}),
    ("return", State.ACCEPTED, "unit", {"reason": ""}),
    ("check_fail", State.CHECKING, "inspector", {}),
    ("verify_false", State.VERIFYING, "inspector", {}),
    ("void", State.ACCEPTED, "shift_lead", {"reason": " "}),
    ("request_suspension", State.ACCEPTED, "unit",
     {"payload": {"until": T0 + timedelta(days=5)}}),
    ("deny_suspension", State.ACCEPTED, "shift_lead", {}),
    ("request_extension", State.ACCEPTED, "unit", {}),
    ("deny_extension", State.ACCEPTED, "dispatcher", {}),
    ("suspend", State.DISPATCHED, "dispatcher",
     {"payload": {"until": T0 + timedelta(days=5)}}),
    ("appeal", State.RESOLVED, "unit", {}),
    ("deny_appeal", State.RESOLVED, "manager", {}),
])
def test_reason_required(action, state, role, kw):
    case = make_case(state=state, extension_pending=action == "deny_extension",
                     appeal="pending" if action == "deny_appeal" else None,
                     channel=Channel.PUBLIC if action == "verify_false" else Channel.INSPECTOR,
                     suspension_requested_until=T0 + timedelta(days=3)
                     if action == "deny_suspension" else None)
    err = refused(case, ReasonRequired, action, role=role, **kw)
    assert err.code == "reason_required"
    assert err.field == "reason"
    assert err.message == f"{action} requires a reason"


@pytest.mark.parametrize("action,state,role,field,kw", [
    ("merge", State.FILED, "acceptor", "parent_id", {}),
    ("merge", State.FILED, "acceptor", "parent_id", {"payload": {"parent_id": None}}),
    ("dispatch", State.FILED, "dispatcher", "unit_code", {}),
    ("dispatch", State.RETURNED, "dispatcher", "unit_code", {"payload": {"unit_code": " "}}),
    ("resolve", State.ACCEPTED, "unit", "reply", {"payload": {"photos": ["a.jpg"]}}),
    ("suspend", State.ACCEPTED, "shift_lead", "until", {"reason": "works"}),
    ("request_suspension", State.ACCEPTED, "unit", "until", {"reason": "works"}),
    ("send_verify", State.REPORTED, "acceptor", "inspector", {}),
    ("send_check", State.RESOLVED, "acceptor", "inspector", {"payload": {"inspector": " "}}),
    ("self_handle", State.REPORTED, "inspector", "reply", {"payload": {"photos": ["a.jpg"]}}),
    ("escalate", State.FILED, "system", "level", {}),
])
def test_missing_field(action, state, role, field, kw):
    case = make_case(state=state, channel=Channel.PUBLIC if action == "send_verify"
                     else Channel.INSPECTOR)
    err = refused(case, MissingField, action, role=role, **kw)
    assert err.code == "missing_field"
    assert err.field == field
    assert err.message == f"{action} requires field {field}"


def test_missing_actor():
    case = make_case(state=State.DISPATCHED)
    err = refused(case, MissingField, "accept", role="unit", actor="")
    assert err.field == "actor"


@pytest.mark.parametrize("action,state,role,kw", [
    ("dispatch", State.CLOSED, "dispatcher", {"payload": {"unit_code": "U"}}),
    ("dispatch", State.DISPATCHED, "dispatcher", {"payload": {"unit_code": "U"}}),
    ("dispatch", State.REPORTED, "system", {"payload": {"unit_code": "U"}}),
    ("verify", State.VERIFIED, "inspector", {}),
    ("verify", State.REPORTED, "inspector", {}),  # no verify task was sent
    ("file", State.FILED, "shift_lead", {}),
    ("file", State.REJECTED, "shift_lead", {}),
    ("file", State.VERIFYING, "shift_lead", {}),  # the inspector has not answered yet
    ("void", State.REPORTED, "shift_lead", {"reason": "r"}),  # not filed: reject it
    ("void", State.CLOSED, "shift_lead", {"reason": "r"}),
    ("void", State.VOIDED, "shift_lead", {"reason": "r"}),
    ("send_check", State.ACCEPTED, "acceptor", {"payload": {"inspector": "i"}}),
    ("send_check", State.CHECKING, "acceptor", {"payload": {"inspector": "i"}}),
    ("self_handle", State.FILED, "inspector", {"payload": {"reply": "x"}}),
    ("return", State.CHECKING, "unit", {"reason": "r"}),
    ("request_suspension", State.RESOLVED, "unit",
     {"reason": "r", "payload": {"until": T0 + timedelta(days=2)}}),
    ("reject", State.FILED, "acceptor", {"reason": "r"}),
    ("merge", State.DISPATCHED, "dispatcher", {"payload": {"parent_id": 1}}),
    ("accept", State.FILED, "unit", {}),
    ("accept", State.ACCEPTED, "unit", {}),
    ("return", State.RESOLVED, "unit", {"reason": "r"}),
    ("resolve", State.DISPATCHED, "unit", {"payload": {"reply": "x"}}),
    ("resolve", State.RESOLVED, "unit", {"payload": {"reply": "x"}}),
    ("check_pass", State.ACCEPTED, "inspector", {}),
    ("check_pass", State.RESOLVED, "inspector", {}),  # no check task was sent
    ("check_fail", State.CHECKED, "inspector", {"reason": "r"}),
    ("close", State.RESOLVED, "shift_lead", {}),
    ("close", State.CLOSED, "shift_lead", {}),
    ("close_with_parent", State.FILED, "system", {}),
    ("request_extension", State.DISPATCHED, "unit", {"reason": "r"}),
    ("suspend", State.FILED, "dispatcher", {"reason": "r"}),
    ("suspend", State.SUSPENDED, "dispatcher", {"reason": "r"}),
    ("suspend", State.RESOLVED, "dispatcher", {"reason": "r"}),
    ("resume", State.ACCEPTED, "dispatcher", {}),
    ("escalate", State.CLOSED, "system", {"payload": {"level": 1}}),
    ("escalate", State.MERGED, "system", {"payload": {"level": 1}}),
    ("escalate", State.REJECTED, "system", {"payload": {"level": 1}}),
])
def test_illegal_transition(action, state, role, kw):
    case = make_case(state=state)
    err = refused(case, IllegalTransition, action, role=role, **kw)
    assert err.code == "illegal_transition"
    assert err.message == f"cannot {action} a case in state {state.value}"
    assert err.action == action and err.state is state


def test_illegal_transition_message_example():
    case = make_case(state=State.CLOSED)
    err = refused(case, IllegalTransition, "dispatch", role="dispatcher",
                  payload={"unit_code": "U"})
    assert str(err) == "cannot dispatch a case in state closed"
    assert err.to_dict() == {"code": "illegal_transition",
                             "message": "cannot dispatch a case in state closed"}


@pytest.mark.parametrize("channel", [Channel.PUBLIC, Channel.HOTLINE])
@pytest.mark.parametrize("role", ["shift_lead", "system"])
def test_public_report_cannot_be_filed_before_verification(channel, role):
    case = make_case(channel=channel)
    err = refused(case, IllegalTransition, "file", role=role)
    assert err.message == ("cannot file a case in state reported: "
                           "public and hotline reports must be verified first")


@pytest.mark.parametrize("channel", [Channel.INSPECTOR, Channel.IMPORT])
def test_verify_only_for_public_and_hotline(channel):
    case = make_case(channel=channel)
    err = refused(case, IllegalTransition, "send_verify", role="acceptor",
                  payload={"inspector": "i"})
    assert err.message == ("cannot send_verify a case in state reported: only public and "
                           f"hotline reports are verified, this one came from {channel.value}")


@pytest.mark.parametrize("action,role", [("approve_extension", "dispatcher"),
                                         ("deny_extension", "shift_lead")])
def test_extension_decision_needs_a_pending_request(action, role):
    case = make_case(state=State.ACCEPTED)
    err = refused(case, IllegalTransition, action, role=role, reason="r")
    assert err.message == f"cannot {action} a case in state accepted: no extension request pending"


@pytest.mark.parametrize("action", ["approve_appeal", "deny_appeal"])
def test_appeal_decision_needs_a_pending_appeal(action):
    case = make_case(state=State.ACCEPTED, appeal="denied")
    err = refused(case, IllegalTransition, action, role="shift_lead", reason="r")
    assert err.message == f"cannot {action} a case in state accepted: no appeal pending"


def test_resume_without_previous_state_is_refused():
    case = make_case(state=State.SUSPENDED)
    err = refused(case, IllegalTransition, "resume", role="system")
    assert err.message == ("cannot resume a case in state suspended: "
                           "no state recorded before the suspension")


def test_stale_version():
    case = make_case(state=State.FILED, version=4)
    err = refused(case, StaleVersion, "dispatch", role="dispatcher", expected_version=3,
                  payload={"unit_code": "U"})
    assert err.code == "stale_version"
    assert err.message == "stale version: expected 3, actual 4"
    assert (err.expected, err.actual, err.field) == (3, 4, "version")
    ev = apply(case, "dispatch", actor="d", role="dispatcher", at=T0, expected_version=4,
               payload={"unit_code": "U"})
    assert case.version == 5 and ev.seq == 5


def test_stale_version_is_checked_before_role_and_state():
    case = make_case(state=State.CLOSED, version=9)
    err = refused(case, StaleVersion, "dispatch", role="unit", expected_version=8)
    assert err.message == "stale version: expected 8, actual 9"


def test_role_is_checked_before_state():
    case = make_case(state=State.CLOSED)
    refused(case, RoleNotAllowed, "dispatch", role="unit", payload={"unit_code": "U"})


def test_suspension_longer_than_a_year_is_refused():
    case = make_case(state=State.ACCEPTED)
    at = T0 + timedelta(hours=1)
    err = refused(case, InvalidField, "suspend", role="shift_lead", at=at, reason="works",
                  payload={"until": at + timedelta(days=366, seconds=1)})
    assert err.code == "invalid_field" and err.field == "until"
    assert err.message == "suspension may last at most 366 days"


@pytest.mark.parametrize("until,message", [
    (T0 + timedelta(hours=1), "until must be after the suspension starts"),
    (T0, "until must be after the suspension starts"),
    ("2026-12-31", "until must be a datetime"),
    (datetime(2026, 12, 31), "until and the action time must both be timezone-aware"),
])
def test_suspension_until_must_be_a_later_aware_datetime(until, message):
    case = make_case(state=State.DISPATCHED)
    err = refused(case, InvalidField, "suspend", role="dispatcher", reason="works",
                  payload={"until": until})
    assert err.message == message


@pytest.mark.parametrize("action,state,payload,field", [
    ("merge", State.FILED, {"parent_id": 123}, "parent_id"),
    ("merge", State.FILED, {"parent_id": "12"}, "parent_id"),
    ("dispatch", State.FILED, {"unit_code": 7}, "unit_code"),
    ("resolve", State.ACCEPTED, {"reply": "ok", "photos": "a.jpg"}, "photos"),
    ("resolve", State.ACCEPTED, {"reply": "ok", "photos": [1]}, "photos"),
])
def test_invalid_payload_values(action, state, payload, field):
    role = {"merge": "acceptor", "dispatch": "dispatcher", "resolve": "unit"}[action]
    case = make_case(state=state)
    err = refused(case, InvalidField, action, role=role, payload=payload)
    assert err.field == field


def test_merge_into_itself_message():
    case = make_case(state=State.FILED)
    err = refused(case, InvalidField, "merge", role="acceptor", payload={"parent_id": 123})
    assert err.message == "a case cannot be merged into itself"


def test_refusal_after_successful_steps_keeps_counters_and_version():
    run = Runner(make_case(state=State.FILED))
    run("dispatch", "dispatcher", payload={"unit_code": "U-A"})
    run("return", "unit", reason="no")
    snapshot = copy.deepcopy(run.case)
    refused(run.case, MissingField, "dispatch", role="dispatcher")
    refused(run.case, IllegalTransition, "return", role="unit", reason="again")
    assert run.case == snapshot
    assert (run.case.version, run.case.returns) == (3, 1)


# --------------------------------------------------------------------------- table and API

def test_every_action_has_an_effect_and_valid_clock_effects():
    assert set(TRANSITIONS) == set(wf._EFFECTS)
    for action, t in TRANSITIONS.items():
        assert t.action == action
        assert t.roles and all(isinstance(r, Role) for r in t.roles)
        assert t.from_states and all(isinstance(s, State) for s in t.from_states)
        for phase, op in t.clock_effects:
            assert phase in wf.PHASES or phase == "*"
            assert op in wf.CLOCK_OPS
        assert len(action) <= 32


def test_clock_effects_match_the_contract():
    ce = {a: t.clock_effects for a, t in TRANSITIONS.items()}
    assert ce["file"] == (("file", "complete"), ("dispatch", "start"))
    assert ce["dispatch"] == (("dispatch", "complete"), ("accept", "start"),
                              ("handle", "start_or_resume"))
    assert ce["accept"] == (("accept", "complete"),)
    assert ce["return"] == (("accept", "complete"), ("handle", "pause"), ("dispatch", "start"))
    assert ce["resolve"] == (("handle", "complete"),)
    assert ce["send_verify"] == (("verify", "start"),)
    assert ce["verify"] == (("verify", "complete"),)
    assert ce["verify_false"] == (("verify", "complete"), ("*", "stop"))
    assert ce["send_check"] == (("check", "start"),)
    assert ce["review_fail"] == (("handle", "restart"),)
    assert ce["approve_suspension"] == (("handle", "pause"),)
    assert ce["check_pass"] == (("check", "complete"),)
    assert ce["check_fail"] == (("check", "complete"), ("handle", "restart"))
    assert ce["approve_extension"] == (("handle", "extend"),)
    assert ce["suspend"] == (("handle", "pause"),)
    assert ce["resume"] == (("handle", "resume"),)
    for action in ("close", "reject", "merge", "close_with_parent", "void", "self_handle"):
        assert ce[action] == (("*", "stop"),)
    for action in ("request_extension", "deny_extension", "appeal", "review_pass",
                   "request_suspension", "deny_suspension",
                   "approve_appeal", "deny_appeal", "escalate"):
        assert ce[action] == ()


def test_no_action_leaves_a_terminal_state_except_late_appeal_decisions():
    for action, t in TRANSITIONS.items():
        if State.CLOSED in t.from_states:
            assert action in ("approve_appeal", "deny_appeal") and t.to_state is None
        assert State.REJECTED not in t.from_states
        assert State.VOIDED not in t.from_states


_GOOD_KW = {
    "reject": {"reason": "r"}, "return": {"reason": "r"}, "check_fail": {"reason": "r"},
    "request_extension": {"reason": "r"}, "deny_extension": {"reason": "r"},
    "appeal": {"reason": "r"}, "deny_appeal": {"reason": "r"},
    "suspend": {"reason": "r", "payload": {"until": T0 + timedelta(days=30)}},
    "merge": {"payload": {"parent_id": 1}}, "dispatch": {"payload": {"unit_code": "U"}},
    "resolve": {"payload": {"reply": "done"}}, "escalate": {"payload": {"level": 4}},
    "void": {"reason": "r"}, "verify_false": {"reason": "r"}, "review_fail": {"reason": "r"},
    "deny_suspension": {"reason": "r"}, "self_handle": {"payload": {"reply": "fixed"}},
    "send_verify": {"payload": {"inspector": "a"}}, "send_check": {"payload": {"inspector": "a"}},
    "request_suspension": {"reason": "r", "payload": {"until": T0 + timedelta(days=30)}},
}

_CASE_VARIANTS = [
    {"channel": Channel.PUBLIC},
    {"channel": Channel.INSPECTOR},
    {"extension_pending": True, "appeal": "pending", "extensions": 1},
    {"extensions": 2, "appeal": "approved", "supervising_level": 4},
    {"suspension_requested_until": T0 + timedelta(days=20), "inspector": "a"},
]


@pytest.mark.parametrize("variant", range(len(_CASE_VARIANTS)))
@pytest.mark.parametrize("state", list(State))
def test_allowed_actions_agrees_with_apply(state, variant):
    """For every state, role and case variant: an action is listed iff apply accepts it."""
    for role in Role:
        case = make_case(state=state, previous_state=State.REWORK
                         if state is State.SUSPENDED else None, **_CASE_VARIANTS[variant])
        listed = allowed_actions(case, role)
        for action in TRANSITIONS:
            trial = copy.deepcopy(case)
            try:
                apply(trial, action, actor="a", role=role, at=T0, **_GOOD_KW.get(action, {}))
                accepted = True
            except WorkflowError:
                accepted = False
            assert accepted == (action in listed), (state, role, action)


def test_allowed_actions_examples():
    assert allowed_actions(make_case(state=State.FILED), "dispatcher") == ["merge", "dispatch"]
    assert allowed_actions(make_case(state=State.ACCEPTED), Role.UNIT) == [
        "return", "resolve", "request_extension", "request_suspension", "appeal"]
    assert allowed_actions(make_case(channel=Channel.PUBLIC), "acceptor") == [
        "send_verify", "reject", "merge"]
    assert allowed_actions(make_case(), "shift_lead") == ["file", "reject", "merge"]
    assert allowed_actions(make_case(state=State.CHECKED), "shift_lead") == [
        "close", "void"]
    assert allowed_actions(make_case(state=State.CLOSED), "acceptor") == []
    assert allowed_actions(make_case(), "nobody") == []


def test_describe_rows():
    rows = describe()
    assert [r["action"] for r in rows] == list(TRANSITIONS)
    by_action = {r["action"]: r for r in rows}
    assert by_action["resume"]["to_state"] == "previous_state"
    assert by_action["escalate"]["to_state"] == "unchanged"
    assert by_action["dispatch"] == {
        "action": "dispatch", "from_states": ["filed", "returned"], "to_state": "dispatched",
        "roles": ["dispatcher", "system"], "reason_required": False,
        "payload_required": ["unit_code"],
        "clock_effects": ["dispatch:complete", "accept:start", "handle:start_or_resume"],
        "summary": by_action["dispatch"]["summary"],
    }
    md = describe_markdown()
    assert md.count("\n") == len(rows) + 2
    assert "| close_with_parent | merged | closed | system |" in md


def test_intake_event_and_seq_numbering():
    case = make_case(channel=Channel.HOTLINE)
    first = intake_event(case, actor="12345", role="system")
    assert (first.seq, first.action, first.from_state, first.to_state) == (
        1, "report", None, State.REPORTED)
    assert first.at == T0 and first.payload == {"channel": "hotline"}
    ev = apply(case, "send_verify", actor="a", role="acceptor", at=T0,
               payload={"inspector": "i"})
    assert ev.seq == 2


def test_event_payload_is_json_ready_and_a_copy():
    case = make_case(state=State.ACCEPTED)
    payload = {"until": T0 + timedelta(days=1), "note": "x"}
    ev = apply(case, "suspend", actor="d", role="dispatcher", at=T0, reason="works",
               payload=payload)
    assert ev.payload["until"] == (T0 + timedelta(days=1)).isoformat()
    assert ev.payload["note"] == "x"
    assert isinstance(payload["until"], datetime)  # caller's dict untouched


def test_roles_and_states_accept_plain_strings():
    case = Case(state="filed", channel="hotline", previous_state=None)
    assert case.state is State.FILED and case.channel is Channel.HOTLINE
    ev = apply(case, "dispatch", actor="d", role="dispatcher", at=T0,
               payload={"unit_code": "U"})
    assert ev.role is Role.DISPATCHER and ev.role == "dispatcher"


def test_case_model_validation():
    with pytest.raises(ValueError):
        Case(urgency="asap")
    with pytest.raises(ValueError):
        Case(supervising_level=5)
    with pytest.raises(ValueError):
        Case(state="lost")
    assert set(State) - OPEN_STATES == {State.REJECTED, State.CLOSED, State.VOIDED}
