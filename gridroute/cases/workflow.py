"""The case state machine (案卷流转): one explicit table and one ``apply`` function.

``TRANSITIONS`` maps every action to its allowed source states, target state, roles, reason
and payload requirements and the clock effects the service layer applies through the SLA
module. ``apply`` validates everything first and only then mutates the case, so a refused
action leaves the case exactly as it was.

Branches of the closed loop (闭环) covered here: 核实 verify of public reports, 不予立案 reject,
合并 merge of duplicates, 退回 return and re-dispatch, 返工 rework after a failed 核查, 延期
extension (at most two), 挂账 suspension (at most a year), 超时申诉 overtime appeal and 督办
escalation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from .model import (APPEAL_STATES, MAX_SUPERVISING_LEVEL, OPEN_STATES, Case, CaseEvent,
                    Channel, Role, State)

__all__ = [
    "WorkflowError", "UnknownAction", "IllegalTransition", "RoleNotAllowed", "ReasonRequired",
    "MissingField", "InvalidField", "StaleVersion", "LimitReached",
    "Transition", "WorkflowLimits", "TRANSITIONS", "PHASES", "CLOCK_OPS",
    "apply", "allowed_actions", "describe", "describe_markdown", "intake_event",
    "needs_verification", "check_merge",
]

# --------------------------------------------------------------------------- errors


class WorkflowError(Exception):
    """A refused action. ``code`` is stable (for APIs), ``message`` is for people."""

    code = "workflow_error"

    def __init__(self, code: str | None, message: str, field: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class UnknownAction(WorkflowError):
    code = "unknown_action"

    def __init__(self, action: str) -> None:
        super().__init__(None, f"unknown action {action!r}", field="action")
        self.action = action


class IllegalTransition(WorkflowError):
    code = "illegal_transition"

    def __init__(self, action: str, state: State, detail: str | None = None) -> None:
        message = f"cannot {action} a case in state {State(state).value}"
        if detail:
            message = f"{message}: {detail}"
        super().__init__(None, message)
        self.action = action
        self.state = State(state)


class RoleNotAllowed(WorkflowError):
    code = "role_not_allowed"

    def __init__(self, action: str, role: str, allowed: tuple[Role, ...]) -> None:
        names = ", ".join(r.value for r in allowed)
        super().__init__(None, f"role {role} may not {action}; allowed roles: {names}",
                         field="role")
        self.action = action
        self.role = role
        self.allowed = allowed


class ReasonRequired(WorkflowError):
    code = "reason_required"

    def __init__(self, action: str) -> None:
        super().__init__(None, f"{action} requires a reason", field="reason")
        self.action = action


class MissingField(WorkflowError):
    code = "missing_field"

    def __init__(self, field: str, action: str | None = None) -> None:
        message = (f"{action} requires field {field}" if action
                   else f"missing required field {field}")
        super().__init__(None, message, field=field)


class InvalidField(WorkflowError):
    code = "invalid_field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(None, message, field=field)


class StaleVersion(WorkflowError):
    code = "stale_version"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            None, f"stale version: expected {expected}, actual {actual}", field="version")
        self.expected = expected
        self.actual = actual


class LimitReached(WorkflowError):
    code = "limit_reached"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(None, message, field=field)


# --------------------------------------------------------------------------- table

PHASES: tuple[str, ...] = ("file", "dispatch", "accept", "handle", "check")
CLOCK_OPS: tuple[str, ...] = (
    "start", "complete", "pause", "resume", "extend", "restart", "start_or_resume", "stop")
#: Phase wildcard used with ``stop``: every running clock of the case stops.
ALL_PHASES = "*"


@dataclass(frozen=True)
class WorkflowLimits:
    """Local-practice numbers (configurable; these are the defaults).

    max_extensions: 延期 at most twice per case. max_suspension: 挂账 at most a year
    (366 days so that a leap year's same calendar date still fits).
    """

    max_extensions: int = 2
    max_suspension: timedelta = timedelta(days=366)


DEFAULT_LIMITS = WorkflowLimits()


@dataclass(frozen=True)
class Transition:
    """One row of the table.

    ``to_state`` None means the state is unchanged, except when ``restore_previous`` is set
    (resume from 挂账 goes back to the remembered state). ``clock_effects`` is a tuple of
    ``(phase, op)`` pairs for the SLA module, applied by the service layer in order.
    """

    action: str
    from_states: frozenset[State]
    to_state: State | None
    roles: tuple[Role, ...]
    reason_required: bool = False
    payload_required: tuple[str, ...] = ()
    clock_effects: tuple[tuple[str, str], ...] = ()
    restore_previous: bool = False
    summary: str = ""


S = State
R = Role
_CENTRE = (R.ACCEPTOR, R.SHIFT_LEAD)
_STOP_ALL = ((ALL_PHASES, "stop"),)
_ESCALATABLE = OPEN_STATES - {S.MERGED}


def _t(action: str, from_states: set[State] | frozenset[State], to_state: State | None,
       roles: tuple[Role, ...], **kw: Any) -> tuple[str, Transition]:
    return action, Transition(action=action, from_states=frozenset(from_states),
                              to_state=to_state, roles=roles, **kw)


TRANSITIONS: dict[str, Transition] = dict([
    _t("verify", {S.REPORTED}, S.VERIFIED, (R.INSPECTOR,),
       summary="inspector confirms a public or hotline report on site"),
    _t("file", {S.REPORTED, S.VERIFIED}, S.FILED, (*_CENTRE, R.SYSTEM),
       clock_effects=(("file", "complete"), ("dispatch", "start")),
       summary="centre files the case; public and hotline reports must be verified first"),
    _t("reject", {S.REPORTED, S.VERIFIED}, S.REJECTED, _CENTRE, reason_required=True,
       clock_effects=_STOP_ALL, summary="centre declines to file"),
    _t("merge", {S.REPORTED, S.VERIFIED, S.FILED}, S.MERGED, (*_CENTRE, R.DISPATCHER),
       payload_required=("parent_id",), clock_effects=_STOP_ALL,
       summary="duplicate merged into a parent case"),
    _t("dispatch", {S.FILED, S.RETURNED}, S.DISPATCHED, (R.DISPATCHER, R.SYSTEM),
       payload_required=("unit_code",),
       clock_effects=(("dispatch", "complete"), ("accept", "start"),
                      ("handle", "start_or_resume")),
       summary="send to the responsible unit; from returned it counts as a re-dispatch"),
    _t("accept", {S.DISPATCHED}, S.ACCEPTED, (R.UNIT,),
       clock_effects=(("accept", "complete"),), summary="unit signs for the case"),
    _t("return", {S.DISPATCHED, S.ACCEPTED}, S.RETURNED, (R.UNIT,), reason_required=True,
       clock_effects=(("accept", "complete"), ("handle", "pause")),
       summary="unit returns the case as not its own"),
    _t("resolve", {S.ACCEPTED, S.REWORK}, S.RESOLVED, (R.UNIT,), payload_required=("reply",),
       clock_effects=(("handle", "complete"), ("check", "start")),
       summary="unit replies with the result (photos optional)"),
    _t("check_pass", {S.RESOLVED}, S.CHECKED, (R.INSPECTOR,),
       clock_effects=(("check", "complete"),), summary="inspector confirms the fix"),
    _t("check_fail", {S.RESOLVED}, S.REWORK, (R.INSPECTOR,), reason_required=True,
       clock_effects=(("check", "complete"), ("handle", "restart")),
       summary="fix not confirmed; the same unit reworks"),
    _t("close", {S.CHECKED}, S.CLOSED, _CENTRE, clock_effects=_STOP_ALL,
       summary="centre closes after a passed check"),
    _t("close_with_parent", {S.MERGED}, S.CLOSED, (R.SYSTEM,), clock_effects=_STOP_ALL,
       summary="a merged case closes with its parent"),
    _t("request_extension", {S.ACCEPTED, S.REWORK}, None, (R.UNIT,), reason_required=True,
       summary="unit asks for one more handling limit"),
    _t("approve_extension", {S.ACCEPTED, S.REWORK, S.SUSPENDED}, None,
       (R.DISPATCHER, R.SHIFT_LEAD), clock_effects=(("handle", "extend"),),
       summary="handling limit extended by one original limit"),
    _t("deny_extension", {S.ACCEPTED, S.REWORK, S.SUSPENDED}, None,
       (R.DISPATCHER, R.SHIFT_LEAD), reason_required=True,
       summary="extension request refused"),
    _t("suspend", {S.DISPATCHED, S.ACCEPTED, S.REWORK}, S.SUSPENDED,
       (R.SHIFT_LEAD, R.DISPATCHER), reason_required=True, payload_required=("until",),
       clock_effects=(("handle", "pause"),),
       summary="clock stops until a set date (works or funding needed)"),
    _t("resume", {S.SUSPENDED}, None, (R.SHIFT_LEAD, R.DISPATCHER, R.SYSTEM),
       restore_previous=True, clock_effects=(("handle", "resume"),),
       summary="back to the state before the suspension"),
    _t("appeal", APPEAL_STATES, None, (R.UNIT,), reason_required=True,
       summary="unit appeals an overdue verdict"),
    _t("approve_appeal", APPEAL_STATES | {S.CLOSED}, None, (R.SHIFT_LEAD, R.MANAGER),
       summary="case leaves the overdue statistics; the overdue fact stays in history"),
    _t("deny_appeal", APPEAL_STATES | {S.CLOSED}, None, (R.SHIFT_LEAD, R.MANAGER),
       reason_required=True, summary="appeal refused"),
    _t("escalate", _ESCALATABLE, None, (R.SYSTEM,), payload_required=("level",),
       summary="raise the supervision level (never lowers)"),
])

_VERIFIED_CHANNELS = frozenset({Channel.PUBLIC, Channel.HOTLINE})


def needs_verification(case: Case) -> bool:
    """Whether the case must be verified (核实) before it can be filed."""
    return case.channel in _VERIFIED_CHANNELS and case.state is State.REPORTED


# --------------------------------------------------------------------------- guards
# A guard checks case-level preconditions beyond the from-state (no payload involved), so the
# same check serves both ``apply`` and ``allowed_actions``.

Guard = Callable[[Case, WorkflowLimits], None]


def _guard_verify(case: Case, limits: WorkflowLimits) -> None:
    if case.channel not in _VERIFIED_CHANNELS:
        raise IllegalTransition(
            "verify", case.state,
            "only public and hotline reports are verified, "
            f"this one came from {case.channel.value}")


def _guard_file(case: Case, limits: WorkflowLimits) -> None:
    if case.channel in _VERIFIED_CHANNELS and case.state is not State.VERIFIED:
        raise IllegalTransition("file", case.state,
                                "public and hotline reports must be verified first")


def _guard_request_extension(case: Case, limits: WorkflowLimits) -> None:
    if case.extension_pending:
        raise LimitReached("an extension request is already pending", field="extensions")
    if case.extensions >= limits.max_extensions:
        raise LimitReached(
            f"extension limit reached: {case.extensions} of {limits.max_extensions} used",
            field="extensions")


def _guard_extension_pending(action: str) -> Guard:
    def guard(case: Case, limits: WorkflowLimits) -> None:
        if not case.extension_pending:
            raise IllegalTransition(action, case.state, "no extension request pending")
    return guard


def _guard_appeal(case: Case, limits: WorkflowLimits) -> None:
    if case.appeal == "pending":
        raise LimitReached("an appeal is already pending", field="appeal")
    if case.appeal == "approved":
        raise IllegalTransition("appeal", case.state, "an appeal was already approved")


def _guard_appeal_pending(action: str) -> Guard:
    def guard(case: Case, limits: WorkflowLimits) -> None:
        if case.appeal != "pending":
            raise IllegalTransition(action, case.state, "no appeal pending")
    return guard


def _guard_resume(case: Case, limits: WorkflowLimits) -> None:
    if case.previous_state is None:
        raise IllegalTransition("resume", case.state, "no state recorded before the suspension")


def _guard_escalate(case: Case, limits: WorkflowLimits) -> None:
    if case.supervising_level >= MAX_SUPERVISING_LEVEL:
        raise LimitReached(
            f"supervising level already at the top ({MAX_SUPERVISING_LEVEL})", field="level")


_GUARDS: dict[str, Guard] = {
    "verify": _guard_verify,
    "file": _guard_file,
    "request_extension": _guard_request_extension,
    "approve_extension": _guard_extension_pending("approve_extension"),
    "deny_extension": _guard_extension_pending("deny_extension"),
    "appeal": _guard_appeal,
    "approve_appeal": _guard_appeal_pending("approve_appeal"),
    "deny_appeal": _guard_appeal_pending("deny_appeal"),
    "resume": _guard_resume,
    "escalate": _guard_escalate,
}


# --------------------------------------------------------------------------- effects
# An effect validates the payload and returns (field changes, extra event payload) without
# touching the case; ``apply`` commits the changes only after every check has passed.

Effect = Callable[[Case, dict[str, Any], datetime, WorkflowLimits],
                  tuple[dict[str, Any], dict[str, Any]]]


def _non_empty_str(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(name, f"{name} must be a non-empty string")
    return value.strip()


def _int_field(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(name, f"{name} must be an integer")
    return value


def _fx_verify(case, payload, at, limits):
    return {}, {}


def _fx_file(case, payload, at, limits):
    return {"filed_at": at}, {}


def _fx_reject(case, payload, at, limits):
    return {}, {}


def _fx_merge(case, payload, at, limits):
    parent_id = _int_field(payload, "parent_id")
    check_merge(case, parent_id)
    return {"parent_id": parent_id}, {}


_NO_PARENT_STATES = frozenset({State.CLOSED, State.REJECTED, State.MERGED})


def check_merge(case: Case, parent_id: int, parent: Case | None = None) -> None:
    """The merge rules (合并): never into itself; the parent, when known, is an open case of
    the same 小类 that is not itself merged."""
    if case.id is not None and parent_id == case.id:
        raise InvalidField("parent_id", "a case cannot be merged into itself")
    if parent is None:
        return
    label = parent.public_id or parent.id
    if parent.category_code != case.category_code:
        raise InvalidField("parent_id", f"parent {label} has category {parent.category_code}, "
                                        f"not {case.category_code}")
    if parent.state in _NO_PARENT_STATES:
        raise InvalidField("parent_id", f"parent {label} is {parent.state.value}")


def _fx_dispatch(case, payload, at, limits):
    unit_code = _non_empty_str(payload, "unit_code")
    redispatch = case.state is State.RETURNED
    extra: dict[str, Any] = {"unit_code": unit_code, "redispatch": redispatch}
    if case.unit_code is not None:
        extra["previous_unit_code"] = case.unit_code
    # A new dispatch needs a new signature (签收); the log keeps the earlier one.
    return {"unit_code": unit_code, "dispatched_at": at, "accepted_at": None}, extra


def _fx_accept(case, payload, at, limits):
    return {"accepted_at": at}, {}


def _fx_return(case, payload, at, limits):
    changes: dict[str, Any] = {"returns": case.returns + 1}
    extra: dict[str, Any] = {"returns": case.returns + 1}
    if case.extension_pending:
        # The returning unit's pending extension request lapses with the case.
        changes["extension_pending"] = False
        extra["extension_request_lapsed"] = True
    return changes, extra


def _fx_resolve(case, payload, at, limits):
    reply = _non_empty_str(payload, "reply")
    photos = payload.get("photos", [])
    if photos is None:
        photos = []
    if not isinstance(photos, (list, tuple)) or not all(isinstance(p, str) for p in photos):
        raise InvalidField("photos", "photos must be a list of strings")
    return {"resolved_at": at}, {"reply": reply, "photos": list(photos)}


def _fx_check_pass(case, payload, at, limits):
    return {"checked_at": at}, {}


def _fx_check_fail(case, payload, at, limits):
    return {"reworks": case.reworks + 1}, {"reworks": case.reworks + 1,
                                           "unit_code": case.unit_code}


def _fx_close(case, payload, at, limits):
    return {"closed_at": at}, {}


def _fx_request_extension(case, payload, at, limits):
    return {"extension_pending": True}, {"extension_number": case.extensions + 1}


def _fx_approve_extension(case, payload, at, limits):
    return ({"extensions": case.extensions + 1, "extension_pending": False},
            {"extensions": case.extensions + 1})


def _fx_deny_extension(case, payload, at, limits):
    return {"extension_pending": False}, {}


def _fx_suspend(case, payload, at, limits):
    until = payload.get("until")
    if not isinstance(until, datetime):
        raise InvalidField("until", "until must be a datetime")
    if (until.tzinfo is None) != (at.tzinfo is None):
        raise InvalidField("until", "until and the action time must both be timezone-aware")
    if until <= at:
        raise InvalidField("until", "until must be after the suspension starts")
    if until - at > limits.max_suspension:
        raise InvalidField(
            "until", f"suspension may last at most {limits.max_suspension.days} days")
    return ({"previous_state": case.state, "suspended_until": until},
            {"until": until, "previous_state": case.state.value})


def _fx_resume(case, payload, at, limits):
    restored = case.previous_state
    early = case.suspended_until is not None and at < case.suspended_until
    return ({"state": restored, "previous_state": None, "suspended_until": None},
            {"restored_state": restored.value, "early": early})


def _fx_appeal(case, payload, at, limits):
    return {"appeal": "pending"}, {}


def _fx_approve_appeal(case, payload, at, limits):
    return {"appeal": "approved", "overdue_excluded": True}, {}


def _fx_deny_appeal(case, payload, at, limits):
    return {"appeal": "denied"}, {}


def _fx_escalate(case, payload, at, limits):
    level = _int_field(payload, "level")
    if not 1 <= level <= MAX_SUPERVISING_LEVEL:
        raise InvalidField("level", f"level must be 1..{MAX_SUPERVISING_LEVEL}, got {level}")
    if level <= case.supervising_level:
        raise InvalidField(
            "level", f"level {level} does not raise the current level {case.supervising_level}")
    return {"supervising_level": level}, {"level": level,
                                          "previous_level": case.supervising_level}


_EFFECTS: dict[str, Effect] = {
    "verify": _fx_verify,
    "file": _fx_file,
    "reject": _fx_reject,
    "merge": _fx_merge,
    "dispatch": _fx_dispatch,
    "accept": _fx_accept,
    "return": _fx_return,
    "resolve": _fx_resolve,
    "check_pass": _fx_check_pass,
    "check_fail": _fx_check_fail,
    "close": _fx_close,
    "close_with_parent": _fx_close,
    "request_extension": _fx_request_extension,
    "approve_extension": _fx_approve_extension,
    "deny_extension": _fx_deny_extension,
    "suspend": _fx_suspend,
    "resume": _fx_resume,
    "appeal": _fx_appeal,
    "approve_appeal": _fx_approve_appeal,
    "deny_appeal": _fx_deny_appeal,
    "escalate": _fx_escalate,
}


# --------------------------------------------------------------------------- API

def _coerce_role(action: str, role: Role | str, allowed: tuple[Role, ...]) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise RoleNotAllowed(action, str(role), allowed) from None


def _json_ready(payload: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, (State, Role, Channel)):
            value = value.value
        out[key] = value
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def apply(case: Case, action: str, *, actor: str, role: Role | str, at: datetime,
          reason: str | None = None, payload: Mapping[str, Any] | None = None,
          expected_version: int | None = None,
          limits: WorkflowLimits | None = None, parent: Case | None = None) -> CaseEvent:
    """Validate ``action`` on ``case`` and, if allowed, apply it and return the event.

    ``parent`` is the case a ``merge`` joins (its id is ``payload["parent_id"]``); given, the
    merge rules check it too (see :func:`check_merge`).

    Checks in order: known action, expected version (乐观锁), role, source state, case-level
    guard (channel, limits, pending requests), reason, required payload fields, payload values.
    Any refusal raises a :class:`WorkflowError` subclass and leaves the case untouched.
    On success the case's state, counters and timestamps change and ``version`` grows by 1;
    the returned event has ``seq`` equal to the new version.
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise UnknownAction(action)
    limits = limits or DEFAULT_LIMITS
    data = dict(payload or {})

    if expected_version is not None and expected_version != case.version:
        raise StaleVersion(expected_version, case.version)
    role_value = _coerce_role(action, role, transition.roles)
    if role_value not in transition.roles:
        raise RoleNotAllowed(action, role_value.value, transition.roles)
    if _missing(actor):
        raise MissingField("actor", action)
    if case.state not in transition.from_states:
        raise IllegalTransition(action, case.state)
    guard = _GUARDS.get(action)
    if guard is not None:
        guard(case, limits)
    clean_reason = reason.strip() if isinstance(reason, str) else None
    if transition.reason_required and not clean_reason:
        raise ReasonRequired(action)
    for name in transition.payload_required:
        if _missing(data.get(name)):
            raise MissingField(name, action)
    changes, extra = _EFFECTS[action](case, data, at, limits)
    if action == "merge" and parent is not None:
        check_merge(case, changes["parent_id"], parent)

    from_state = case.state
    if transition.to_state is not None:
        changes.setdefault("state", transition.to_state)
    for name, value in changes.items():
        setattr(case, name, value)
    case.version += 1
    return CaseEvent(
        case_id=case.id, seq=case.version, action=action, actor=actor, role=role_value,
        from_state=from_state, to_state=case.state, reason=clean_reason or None, at=at,
        payload=_json_ready({**data, **extra}),
    )


def intake_event(case: Case, *, actor: str, role: Role | str, at: datetime | None = None,
                 payload: Mapping[str, Any] | None = None) -> CaseEvent:
    """The first history line of a new case (上报): action ``report``, seq = current version."""
    return CaseEvent(
        case_id=case.id, seq=case.version, action="report", actor=actor, role=Role(role),
        from_state=None, to_state=case.state,
        at=at if at is not None else case.reported_at,
        payload=_json_ready({"channel": case.channel, **(payload or {})}),
    )


def allowed_actions(case: Case, role: Role | str,
                    limits: WorkflowLimits | None = None) -> list[str]:
    """Actions ``role`` may take on ``case`` now (for UI buttons), in table order.

    Reason and payload are not considered: an action listed here can still be refused for a
    missing reason or a bad field.
    """
    try:
        role_value = Role(role)
    except ValueError:
        return []
    limits = limits or DEFAULT_LIMITS
    out: list[str] = []
    for action, transition in TRANSITIONS.items():
        if role_value not in transition.roles or case.state not in transition.from_states:
            continue
        guard = _GUARDS.get(action)
        if guard is not None:
            try:
                guard(case, limits)
            except WorkflowError:
                continue
        out.append(action)
    return out


def _state_order(states: frozenset[State]) -> list[str]:
    return [s.value for s in State if s in states]


def describe() -> list[dict[str, Any]]:
    """The transition table as plain rows (for docs and the API)."""
    rows = []
    for action, t in TRANSITIONS.items():
        if t.restore_previous:
            to_state = "previous_state"
        elif t.to_state is None:
            to_state = "unchanged"
        else:
            to_state = t.to_state.value
        rows.append({
            "action": action,
            "from_states": _state_order(t.from_states),
            "to_state": to_state,
            "roles": [r.value for r in t.roles],
            "reason_required": t.reason_required,
            "payload_required": list(t.payload_required),
            "clock_effects": [f"{phase}:{op}" for phase, op in t.clock_effects],
            "summary": t.summary,
        })
    return rows


def describe_markdown() -> str:
    """The transition table as a Markdown table."""
    lines = ["| action | from | to | roles | reason | payload | clocks |",
             "|---|---|---|---|---|---|---|"]
    for row in describe():
        lines.append("| {} | {} | {} | {} | {} | {} | {} |".format(
            row["action"], ", ".join(row["from_states"]), row["to_state"],
            ", ".join(row["roles"]), "yes" if row["reason_required"] else "",
            ", ".join(row["payload_required"]), ", ".join(row["clock_effects"])))
    return "\n".join(lines) + "\n"
