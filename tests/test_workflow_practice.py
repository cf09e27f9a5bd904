"""The loop as practised (issue 10): 作废, verify/check tasks with the inspector holding them,
unit-applied 挂账, return from rework, optional dispatcher review, 自行处置, roles per action
from configuration. Pure state machine: every row and every refusal."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridroute.cases.model import Case, Channel, State
from gridroute.cases.workflow import (IllegalTransition, InvalidField, LimitReached,
                                      ReasonRequired, RoleNotAllowed, WorkflowError,
                                      WorkflowLimits, allowed_actions, apply, describe,
                                      parse_role_overrides)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
REVIEW = WorkflowLimits(dispatcher_review=True)


def case_in(state: State = State.REPORTED, channel: Channel = Channel.INSPECTOR, **kw) -> Case:
    return Case(id=7, public_id="GR-20261125-000007", channel=channel, reported_at=T0,
                category_code="E0102", cell_code="310101001005015", unit_code="greening",
                state=state, **kw)


def act(case, action, role, *, actor=None, minutes=10, limits=None, **kw):
    return apply(case, action, actor=actor or f"{role}-1", role=role,
                 at=T0 + timedelta(minutes=minutes), limits=limits, **kw)


def refused(case, exc, action, role, *, actor=None, limits=None, **kw) -> WorkflowError:
    before = copy.deepcopy(case)
    with pytest.raises(exc) as info:
        act(case, action, role, actor=actor, limits=limits, **kw)
    assert case == before
    return info.value


# --------------------------------------------------------------------------- 作废 void

@pytest.mark.parametrize("state", [State.FILED, State.DISPATCHED, State.ACCEPTED,
                                   State.RESOLVED, State.CHECKING, State.CHECKED])
def test_shift_lead_voids_a_filed_case_with_a_reason(state):
    case = case_in(state, inspector="insp-1" if state is State.CHECKING else None)
    event = act(case, "void", "shift_lead", reason="重复立案，实为同一问题")
    assert case.state is State.VOIDED and case.is_terminal
    assert (event.from_state, event.to_state, event.reason) == (
        state, State.VOIDED, "重复立案，实为同一问题")
    assert event.unit_code == "greening" and case.inspector is None
    assert allowed_actions(case, "shift_lead") == []


def test_void_refusals():
    assert refused(case_in(State.FILED), RoleNotAllowed, "void", "acceptor",
                   reason="x").message == "role acceptor may not void; allowed roles: shift_lead"
    assert refused(case_in(State.FILED), ReasonRequired, "void", "shift_lead").message == \
        "void requires a reason"
    assert refused(case_in(State.REPORTED), IllegalTransition, "void", "shift_lead",
                   reason="x").message == "cannot void a case in state reported"
    assert refused(case_in(State.CLOSED), IllegalTransition, "void", "shift_lead",
                   reason="x").message == "cannot void a case in state closed"


# --------------------------------------------------------------------------- verify / check tasks

def test_verify_task_true_then_the_shift_lead_files():
    case = case_in(channel=Channel.HOTLINE)
    sent = act(case, "send_verify", "acceptor", payload={"inspector": "insp-9"})
    assert (case.state, case.inspector, sent.payload) == (
        State.VERIFYING, "insp-9", {"inspector": "insp-9"})
    assert allowed_actions(case, "shift_lead") == []  # nothing to file before the answer
    act(case, "verify", "inspector", actor="insp-9", minutes=40)
    assert (case.state, case.inspector) == (State.VERIFIED, None)
    act(case, "file", "shift_lead", minutes=45)
    assert case.state is State.FILED


def test_verify_task_false_rejects_with_the_reason():
    case = case_in(channel=Channel.PUBLIC)
    act(case, "send_verify", "acceptor", payload={"inspector": "insp-9"})
    event = act(case, "verify_false", "inspector", actor="insp-9", reason="现场无暴露垃圾")
    assert case.state is State.REJECTED and not case.is_open
    assert (event.reason, event.payload) == ("现场无暴露垃圾", {"inspector": "insp-9"})


def test_only_the_inspector_holding_the_task_answers_it():
    case = case_in(channel=Channel.PUBLIC)
    act(case, "send_verify", "acceptor", payload={"inspector": "insp-9"})
    err = refused(case, InvalidField, "verify", "inspector", actor="insp-2")
    assert (err.field, err.message) == ("actor", "the verify task is with inspector insp-9, "
                                                 "not insp-2")
    checking = case_in(State.RESOLVED)
    act(checking, "send_check", "acceptor", payload={"inspector": "insp-3"})
    err = refused(checking, InvalidField, "check_pass", "inspector", actor="insp-4")
    assert err.message == "the check task is with inspector insp-3, not insp-4"


def test_check_needs_a_check_task_first():
    case = case_in(State.RESOLVED)
    err = refused(case, IllegalTransition, "check_pass", "inspector")
    assert err.message == "cannot check_pass a case in state resolved"
    act(case, "send_check", "acceptor", payload={"inspector": "inspector-1"})
    act(case, "check_pass", "inspector")
    assert case.state is State.CHECKED and case.checked_at == T0 + timedelta(minutes=10)


# --------------------------------------------------------------------------- unit-applied 挂账

def test_unit_requests_a_suspension_and_the_shift_lead_approves():
    case = case_in(State.ACCEPTED)
    until = T0 + timedelta(days=90)
    asked = act(case, "request_suspension", "unit", reason="需大修，待资金",
                payload={"until": until})
    assert case.state is State.ACCEPTED and case.suspension_requested_until == until
    assert asked.payload == {"until": until.isoformat()}
    err = refused(case, LimitReached, "request_suspension", "unit", reason="again",
                  payload={"until": until})
    assert err.message == "a suspension request is already pending"
    assert refused(case, RoleNotAllowed, "approve_suspension", "dispatcher").message == (
        "role dispatcher may not approve_suspension; allowed roles: shift_lead")
    approved = act(case, "approve_suspension", "shift_lead", minutes=30)
    assert (case.state, case.suspended_until, case.previous_state) == (
        State.SUSPENDED, until, State.ACCEPTED)
    assert case.suspension_requested_until is None
    assert approved.payload["requested"] is True
    act(case, "resume", "system", minutes=60)
    assert case.state is State.ACCEPTED


def test_denied_suspension_keeps_the_case_running():
    case = case_in(State.REWORK)
    act(case, "request_suspension", "unit", reason="待资金",
        payload={"until": T0 + timedelta(days=30)})
    assert refused(case, ReasonRequired, "deny_suspension", "shift_lead").field == "reason"
    act(case, "deny_suspension", "shift_lead", reason="小修即可，不予挂账")
    assert case.state is State.REWORK and case.suspension_requested_until is None
    err = refused(case, IllegalTransition, "approve_suspension", "shift_lead")
    assert err.message == ("cannot approve_suspension a case in state rework: "
                           "no suspension request pending")


def test_suspension_request_checks_the_date():
    case = case_in(State.ACCEPTED)
    assert refused(case, InvalidField, "request_suspension", "unit", reason="x",
                   payload={"until": T0}).message == "until must be after the suspension starts"
    assert refused(case, InvalidField, "request_suspension", "unit", reason="x",
                   payload={"until": T0 + timedelta(days=400)}).message == (
        "suspension may last at most 366 days")
    act(case, "request_suspension", "unit", reason="x", payload={"until": T0 + timedelta(days=1)})
    err = refused(case, InvalidField, "approve_suspension", "shift_lead",
                  limits=None, minutes=60 * 24 * 2)
    assert err.field == "until" and "has passed" in err.message


def test_centre_initiated_suspension_stays():
    case = case_in(State.DISPATCHED)
    act(case, "suspend", "dispatcher", reason="待施工", payload={"until": T0 + timedelta(days=9)})
    assert case.state is State.SUSPENDED


# --------------------------------------------------------------------------- rework return

def test_wrongly_routed_case_is_returned_from_rework_and_redispatched():
    case = case_in(State.REWORK, reworks=1)
    event = act(case, "return", "unit", reason="非本单位职责（误派）")
    assert case.state is State.RETURNED and case.returns == 1
    assert event.payload == {"returns": 1, "from_rework": True}
    act(case, "dispatch", "dispatcher", payload={"unit_code": "310101001-enforcement"})
    assert (case.state, case.unit_code) == (State.DISPATCHED, "310101001-enforcement")


# --------------------------------------------------------------------------- dispatcher review

def test_review_is_off_by_default():
    case = case_in(State.RESOLVED)
    err = refused(case, IllegalTransition, "review_pass", "dispatcher")
    assert err.message == ("cannot review_pass a case in state resolved: "
                           "dispatcher review is off (workflow.dispatcher_review)")
    act(case, "send_check", "acceptor", payload={"inspector": "i"})  # straight to the check


def test_review_on_the_check_waits_for_the_dispatcher():
    case = case_in(State.RESOLVED)
    err = refused(case, IllegalTransition, "send_check", "acceptor", limits=REVIEW,
                  payload={"inspector": "i"})
    assert err.message.endswith("the dispatcher reviews the reply first "
                                "(workflow.dispatcher_review)")
    assert allowed_actions(case, "dispatcher", REVIEW) == ["review_pass", "review_fail"]
    act(case, "review_pass", "dispatcher", limits=REVIEW)
    assert case.state is State.REVIEWED
    act(case, "send_check", "acceptor", limits=REVIEW, payload={"inspector": "i"})
    assert case.state is State.CHECKING


def test_review_refused_sends_the_case_back_to_the_unit():
    case = case_in(State.RESOLVED)
    assert refused(case, ReasonRequired, "review_fail", "dispatcher", limits=REVIEW).field \
        == "reason"
    event = act(case, "review_fail", "dispatcher", limits=REVIEW, reason="照片不清")
    assert (case.state, case.reworks) == (State.REWORK, 1)
    assert event.payload == {"reworks": 1, "unit_code": "greening", "by": "review"}


# --------------------------------------------------------------------------- 自行处置

def test_self_handled_report_is_filed_and_closed_in_one_step():
    case = case_in()
    event = act(case, "self_handle", "inspector",
                payload={"reply": "已当场清理", "photos": ["after.jpg"]})
    assert (case.state, case.self_handled, case.unit_code) == (State.CLOSED, True, None)
    assert case.filed_at == case.resolved_at == case.closed_at == T0 + timedelta(minutes=10)
    assert event.unit_code is None  # out of unit statistics
    assert event.payload == {"reply": "已当场清理", "photos": ["after.jpg"],
                             "self_handled": True, "routed_unit_code": "greening"}


def test_self_handle_refusals():
    err = refused(case_in(channel=Channel.PUBLIC), IllegalTransition, "self_handle",
                  "inspector", payload={"reply": "x"})
    assert err.message.endswith("only an inspector's own report can be self-handled, this "
                                "one came from public")
    assert refused(case_in(), RoleNotAllowed, "self_handle", "unit",
                   payload={"reply": "x"}).field == "role"


# --------------------------------------------------------------------------- roles

def test_roles_as_practised_by_default():
    rows = {r["action"]: r["roles"] for r in describe()}
    assert rows["file"] == ["shift_lead", "system"]
    assert rows["close"] == ["shift_lead"]
    assert rows["void"] == ["shift_lead"]
    assert rows["send_verify"] == rows["send_check"] == ["acceptor", "shift_lead"]
    assert "acceptor" in rows["reject"]


def test_role_per_action_is_configurable():
    roles = parse_role_overrides(" file=acceptor|shift_lead ; close=acceptor")
    assert [r.value for r in roles["file"]] == ["acceptor", "shift_lead"]
    limits = WorkflowLimits(roles=roles)
    case = case_in()
    act(case, "file", "acceptor", limits=limits)
    assert case.state is State.FILED
    assert {r["action"]: r["roles"] for r in describe(limits)}["close"] == ["acceptor"]
    assert refused(case_in(), RoleNotAllowed, "file", "system", limits=limits).message == (
        "role system may not file; allowed roles: acceptor, shift_lead")


@pytest.mark.parametrize("text, message", [
    ("file", "'file' is not 'action=role|role'"),
    ("fly=acceptor", "unknown action 'fly'"),
    ("file=boss", "file: unknown role 'boss'"),
    ("file=acceptor; file=shift_lead", "action 'file' is given twice"),
])
def test_bad_role_overrides_name_the_problem(text, message):
    with pytest.raises(ValueError) as info:
        parse_role_overrides(text)
    assert str(info.value).startswith(message)
