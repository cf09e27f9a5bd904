"""Workflow use cases: one action on one case, in one transaction (case row, history event,
clocks, notifications — all or nothing)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from gridroute.cases import workflow
from gridroute.cases.model import Case, CaseEvent, Role, State
from gridroute.services.clocks import apply_clock_effects
from gridroute.services.context import AppContext
from gridroute.services.errors import Conflict, NotFound, ServiceError
from gridroute.store.repository import ConcurrentUpdate, UnitOfWork

# Who hears about an action (topic, recipient): the unit for work sent to it, the dispatch
# centre for work that comes back.
_NOTIFY = {
    "dispatch": "unit", "check_fail": "unit", "approve_extension": "unit",
    "deny_extension": "unit", "return": "dispatch-centre", "request_extension": "dispatch-centre",
    "resolve": "inspectors", "appeal": "dispatch-centre",
}


#: How far ahead of this server's clock an action time may be (another machine's clock drift).
FUTURE_TOLERANCE = timedelta(minutes=5)
_ROLES = tuple(r.value for r in Role)


@dataclass
class ActionResult:
    case: Case
    events: list[CaseEvent]


def find_case(uow: UnitOfWork, ref: int | str, *, for_update: bool = False) -> Case:
    case = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        case = uow.cases.get(int(ref), for_update=for_update)
    if case is None and isinstance(ref, str):
        case = uow.cases.get_by_public_id(ref)
        if case is not None and for_update:
            case = uow.cases.get(case.id, for_update=True)
    if case is None:
        raise NotFound(f"no case {ref!r}", field="case")
    return case


def perform(ctx: AppContext, ref: int | str, action: str, *, actor: str, role: str,
            reason: str | None = None, payload: Mapping[str, Any] | None = None,
            expected_version: int | None = None, at: datetime | None = None) -> ActionResult:
    """Apply `action` to the case `ref` (id or public id). Refusals raise ServiceError (from
    workflow errors) and change nothing."""
    at = at or ctx.now()
    with ctx.uow() as uow:
        result = perform_in(ctx, uow, ref, action, actor=actor, role=role, reason=reason,
                            payload=payload, expected_version=expected_version, at=at)
        uow.commit()
    return result


def perform_in(ctx: AppContext, uow: UnitOfWork, ref: int | str, action: str, *, actor: str,
               role: str, reason: str | None = None, payload: Mapping[str, Any] | None = None,
               expected_version: int | None = None, at: datetime,
               notify: bool = True) -> ActionResult:
    """`perform` inside the caller's unit of work. `notify=False` queues no notification
    (history replayed from another system: nobody is to act on it)."""
    if str(getattr(role, "value", role)) not in _ROLES:
        raise ServiceError(f"unknown role {role}; known roles: {', '.join(_ROLES)}",
                           field="role", code="unknown_role")
    case = find_case(uow, ref, for_update=True)
    data = dict(payload or {})
    if action == "dispatch" and not data.get("unit_code") and case.unit_code:
        data["unit_code"] = case.unit_code  # the routed unit unless the dispatcher picks another
    parent = _check_references(ctx, uow, case, action, data)
    read_version = case.version
    try:
        event = workflow.apply(case, action, actor=actor, role=role, at=at, reason=reason,
                               payload=data, expected_version=expected_version,
                               limits=workflow.WorkflowLimits(
                                   max_extensions=ctx.config.sla.max_extensions),
                               parent=parent)
    except workflow.StaleVersion as exc:
        raise Conflict(exc.message, field="version", code=exc.code) from None
    except workflow.WorkflowError as exc:
        raise ServiceError(exc.message, field=exc.field, code=exc.code) from None
    # after the state machine's own refusals (they say more), before anything is written
    check_action_time(ctx, at, uow.cases.last_event_at(case.id))
    if action == "dispatch":
        case.unit_code = data["unit_code"]
    try:
        uow.cases.save(case, read_version=read_version)
    except ConcurrentUpdate as exc:
        raise Conflict(str(exc), field="version", code="stale_version") from None
    uow.cases.add_event(event)
    apply_clock_effects(ctx, uow, case, workflow.TRANSITIONS[action].clock_effects, at)
    events = [event]
    if action == "close":
        events += _close_children(ctx, uow, case, at)
    recipient = _NOTIFY.get(action) if notify else None
    if recipient:
        uow.outbox.add(topic=f"case.{action}", case_id=case.id,
                       recipient=case.unit_code if recipient == "unit" else recipient,
                       channel="log", payload={"public_id": case.public_id, "action": action,
                                               "state": case.state.value, "reason": reason},
                       at=at)
    return ActionResult(case, events)


def check_action_time(ctx: AppContext, at: datetime, last_event_at: datetime | None) -> None:
    """An action happens after the case's last event and not later than now (a history out of
    order, or dated ahead, would start clocks at the wrong time)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ServiceError(f"{at.isoformat()} must carry a UTC offset", field="at")
    now = ctx.now()
    if at > now + FUTURE_TOLERANCE:
        raise ServiceError(f"{at.isoformat()} is in the future (now "
                           f"{now.isoformat(timespec='seconds')}; at most "
                           f"{FUTURE_TOLERANCE.total_seconds() / 60:g} min ahead is accepted)",
                           field="at", code="in_future")
    if last_event_at is not None and at < last_event_at:
        raise ServiceError(f"{at.isoformat()} is before the case's last event "
                           f"({last_event_at.astimezone(ctx.tz).isoformat()})",
                           field="at", code="before_last_event")


def _check_references(ctx: AppContext, uow: UnitOfWork, case: Case, action: str,
                      data: dict) -> Case | None:
    """Facts the pure state machine cannot know: that a unit exists; the merge parent (by id
    or public id), which the workflow's merge rules then check. Returns that parent."""
    from gridroute.services.reference import reference_data

    if action == "dispatch":
        if data.get("unit_code") and data["unit_code"] not in reference_data(ctx).units:
            raise ServiceError(f"unknown unit {data['unit_code']!r}", field="unit_code")
    if action == "merge" and data.get("parent_id") is not None:
        parent = find_case(uow, data["parent_id"])
        data["parent_id"] = parent.id
        return parent
    return None


def _close_children(ctx: AppContext, uow: UnitOfWork, parent: Case, at: datetime) -> list[CaseEvent]:
    """Closing a parent closes every merged child, each with its own history event."""
    events = []
    for child in uow.cases.children(parent.id):
        if child.state is not State.MERGED:
            continue
        read_version = child.version
        event = workflow.apply(child, "close_with_parent", actor="system", role="system", at=at,
                               payload={"parent_id": parent.id,
                                        "parent_public_id": parent.public_id})
        uow.cases.save(child, read_version=read_version)
        uow.cases.add_event(event)
        apply_clock_effects(ctx, uow, child, workflow.TRANSITIONS["close_with_parent"].clock_effects, at)
        events.append(event)
    return events
