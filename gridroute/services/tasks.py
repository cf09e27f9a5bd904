"""核实 / 核查任务: verify and check tasks, as the inspector who does them and the centre that
sends them see them. Used by the REST API (`/api/v1/tasks`) and the "My tasks" pages.

A task is created by the acceptor's `send_verify` / `send_check` action (services/workflow.py)
and goes to an inspector who patrols the case's cell. Its id is the id of that history event.
It is *open* while the case waits for the inspector; *done* once the inspector reported the
outcome (核实属实/不属实, 核查通过/不通过); *cancelled* when the case left the task's state
otherwise (a void) or a newer task of the same kind replaced it.

Functions (each opens and owns its transaction; the caller's scope always applies, and a task
outside it answers NotFound exactly like a task that does not exist):

- `my_tasks(ctx, principal)`: the open tasks of the signed-in inspector, soonest due first;
- `list_tasks(ctx, principal, TaskQuery(...))`: tasks in the caller's scope with filters;
- `get_task(ctx, principal, task_id)`: one task;
- `case_tasks(ctx, principal, case_ref)`: every task of one case, oldest first;
- `complete_task(ctx, principal, task_id, outcome, note=..., version=..., photos=...)`: the
  inspector's outcome: runs the matching workflow action (verify / verify_false /
  check_pass / check_fail) and returns the task, now done, in one transaction.

Every function returns `TaskView` values (plain data: what a list row or a task page shows).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from gridroute.auth.model import Principal, UserRole
from gridroute.services.context import AppContext
from gridroute.services.errors import Conflict, Forbidden, NotFound, ServiceError
from gridroute.store.case_queries import CaseFilter

KINDS = ("verify", "check")
STATES = ("open", "done", "cancelled")
#: the workflow action for each (kind, positive outcome?)
OUTCOME_ACTIONS = {("verify", True): "verify", ("verify", False): "verify_false",
                   ("check", True): "check_pass", ("check", False): "check_fail"}
_ACTION_OUTCOMES = {action: positive for (_, positive), action in OUTCOME_ACTIONS.items()}
_POSITIVE = {True: True, "true": True, "pass": True, False: False, "false": False,
             "fail": False}
MAX_LIMIT = 500
_PAGE = 500  # task rows read at a time from a long history
#: roles that see tasks (a unit operator's work is the case itself, not the inspector's task)
TASK_ROLES = (UserRole.INSPECTOR, UserRole.ACCEPTOR, UserRole.SHIFT_LEAD,
              UserRole.DISPATCHER, UserRole.MANAGER, UserRole.ADMIN)


@dataclass(frozen=True)
class TaskCase:
    """The case summary a task row shows."""

    id: int
    public_id: str  # 案卷号, e.g. GR-20261125-000001
    version: int  # send it back when completing (a newer case answers 409)
    state: str
    category_code: str
    category_name_zh: str
    category_name_en: str
    description: str
    lon: float  # WGS84
    lat: float
    address: str  # district, street and community names
    cell_code: str | None
    community_code: str | None
    street_code: str | None
    photos: list[str]


@dataclass(frozen=True)
class TaskView:
    id: int
    kind: str  # verify 核实 | check 核查
    state: str  # open | done | cancelled
    inspector: str | None  # the inspector the task was sent to
    sent_by: str
    sent_at: datetime
    due_at: datetime | None  # the task clock's deadline (open tasks)
    case: TaskCase
    completed_at: datetime | None = None
    completed_by: str | None = None
    #: done: True (属实 / 通过) or False (不属实 / 不通过); cancelled: None
    outcome: bool | None = None
    ended_by_action: str | None = None  # the history action that ended the task
    note: str | None = None
    photos: list[str] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.state == "open"


@dataclass
class TaskQuery:
    """Filters of `list_tasks`. `kinds` and `states` empty = every kind / state;
    `inspector` keeps the tasks sent to that inspector."""

    kinds: Sequence[str] = ()
    states: Sequence[str] = ("open",)
    cells: Sequence[str] = ()
    inspector: str | None = None
    limit: int = 100


def _check_role(principal: Principal) -> None:
    if principal.role not in TASK_ROLES:
        raise Forbidden(f"role {principal.role.value} has no verify or check tasks",
                        field="role", code="role_not_allowed")


def _filter(ctx: AppContext, principal: Principal, cells: Sequence[str] = ()) -> CaseFilter:
    from gridroute.services.case_views import _scope_filter

    return CaseFilter(cells=list(cells), **_scope_filter(ctx, principal))


def _view(ctx: AppContext, record) -> TaskView:
    from gridroute.services.grids import active_grid
    from gridroute.services.reference import reference_data

    case = record.case
    category = reference_data(ctx).categories.get(case.category_code)
    grid = active_grid(ctx)
    names = grid.names if grid is not None else {}
    address = " ".join(names.get(code, code) for code in (
        case.district_code, case.street_code, case.community_code) if code)
    summary = TaskCase(
        id=case.id, public_id=case.public_id, version=case.version, state=case.state.value,
        category_code=case.category_code,
        category_name_zh=category.minor_name_zh if category else case.category_code,
        category_name_en=(category.minor_name_en or category.minor_name_zh) if category
        else case.category_code,
        description=case.description, lon=case.lon, lat=case.lat, address=address,
        cell_code=case.cell_code, community_code=case.community_code,
        street_code=case.street_code, photos=list(case.photos or []))
    ended = record.ended
    if record.is_open:
        state = "open"
    elif ended is not None and ended.action in _ACTION_OUTCOMES:
        state = "done"
    else:
        state = "cancelled"
    done = state == "done"
    return TaskView(
        id=record.id, kind=record.kind, state=state, inspector=record.inspector,
        sent_by=record.sent.actor, sent_at=record.sent.at,
        due_at=record.due_at if state == "open" else None, case=summary,
        completed_at=ended.at if ended is not None else None,
        completed_by=ended.actor if ended is not None else None,
        outcome=_ACTION_OUTCOMES[ended.action] if done else None,
        ended_by_action=ended.action if ended is not None else None,
        note=ended.reason if ended is not None else None,
        photos=list((ended.payload or {}).get("photos") or []) if done else [])


_FAR = datetime.max


def _sorted(views: list[TaskView]) -> list[TaskView]:
    """Open tasks soonest due first (no deadline last); then the others, latest end first."""
    open_ = sorted((v for v in views if v.is_open),
                   key=lambda v: (v.due_at is None, v.due_at.timestamp() if v.due_at else 0,
                                  v.id))
    rest = sorted((v for v in views if not v.is_open),
                  key=lambda v: (-(v.completed_at or v.sent_at).timestamp(), -v.id))
    return open_ + rest


def list_tasks(ctx: AppContext, principal: Principal, query: TaskQuery) -> list[TaskView]:
    """Tasks in the caller's scope: an inspector's cells, a centre's street or district, the
    whole city for a city-wide role. Open tasks come soonest due first, then done and
    cancelled ones, latest ended first (of the most recently sent); at most `query.limit`."""
    _check_role(principal)
    kinds = list(query.kinds) or list(KINDS)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ServiceError(f"unknown kind {bad[0]!r}; one of {', '.join(KINDS)}", field="kind")
    states = list(query.states) or list(STATES)
    bad = [s for s in states if s not in STATES]
    if bad:
        raise ServiceError(f"unknown state {bad[0]!r}; one of {', '.join(STATES)}",
                           field="state")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise ServiceError(f"must be between 1 and {MAX_LIMIT}", field="limit")
    open_only = states == ["open"]
    scope = _filter(ctx, principal, query.cells)
    with ctx.uow(read_only=True) as uow:
        if open_only:  # few: only the cases now waiting for an inspector are read
            records = uow.tasks.find(scope, kinds=kinds, open_only=True,
                                     inspector=query.inspector)
            views = [_view(ctx, r) for r in records]
        else:  # a long history: read newest first, a page at a time, until `limit` match
            views, before = [], None
            while len(views) < query.limit:
                records = uow.tasks.find(scope, kinds=kinds, before_id=before,
                                         max_rows=_PAGE)
                views += [v for v in (_view(ctx, r) for r in reversed(records))
                          if v.state in states
                          and (query.inspector is None or v.inspector == query.inspector)]
                if len(records) < _PAGE:
                    break
                before = records[0].id  # the oldest read so far
    return _sorted([v for v in views if v.state in states])[:query.limit]


def my_tasks(ctx: AppContext, principal: Principal, *, kinds: Sequence[str] = (),
             states: Sequence[str] = ("open",), limit: int = 100) -> list[TaskView]:
    """The signed-in inspector's tasks (open ones by default), soonest due first. For other
    roles: the open tasks in their scope (as `list_tasks`)."""
    inspector = principal.name if principal.role is UserRole.INSPECTOR else None
    return list_tasks(ctx, principal, TaskQuery(kinds=kinds, states=states,
                                                inspector=inspector, limit=limit))


def get_task(ctx: AppContext, principal: Principal, task_id: int) -> TaskView:
    """One task; NotFound when there is none or its case is outside the caller's scope."""
    _check_role(principal)
    with ctx.uow(read_only=True) as uow:
        record = _visible_task(uow, principal, task_id)
    return _view(ctx, record)


def case_tasks(ctx: AppContext, principal: Principal, case_ref: int | str) -> list[TaskView]:
    """Every verify and check task of one case (id or 案卷号), oldest first."""
    from gridroute.services.case_views import visible_case

    _check_role(principal)
    with ctx.uow(read_only=True) as uow:
        case = visible_case(ctx, uow, principal, case_ref)
        records = uow.tasks.find(CaseFilter(), case_ids=[case.id])
    return sorted((_view(ctx, r) for r in records), key=lambda v: v.id)


def _visible_task(uow, principal: Principal, task_id: int):
    record = (uow.tasks.get(task_id) if isinstance(task_id, int) and 0 < task_id < 2 ** 63
              else None)
    if record is None or not principal.can_see(record.case):
        raise NotFound(f"no task {task_id!r}", field="task")
    return record


def parse_outcome(kind: str, outcome: Any) -> bool:
    """True for 属实/通过 (true, "true", "pass"), False for 不属实/不通过 (false, "false",
    "fail"); anything else is a ServiceError naming `outcome`."""
    key = outcome.strip().lower() if isinstance(outcome, str) else outcome
    if isinstance(key, (bool, str)) and key in _POSITIVE:
        return _POSITIVE[key]
    hint = "true or false" if kind == "verify" else "pass or fail"
    raise ServiceError(f"must be {hint}, got {outcome!r}", field="outcome")


def complete_task(ctx: AppContext, principal: Principal, task_id: int, outcome: Any, *,
                  note: str | None = None, version: int | None = None,
                  photos: Sequence[str] = ()) -> TaskView:
    """The inspector's outcome of an open task, in one transaction: the workflow action
    (verify / verify_false / check_pass / check_fail) with `note` as its reason (required for
    a negative outcome), the photo names (already stored, see services/photos.py) added to
    the case and to the history event, and the task done.

    `version` is the case version the inspector saw: a newer case answers Conflict (409) with
    `current_version`. A task already done or replaced answers Conflict `task_closed`."""
    from gridroute.services.workflow import perform_in

    _check_role(principal)
    role = principal.workflow_role
    if role is None:
        raise Forbidden(f"role {principal.role.value} acts on no case", field="role",
                        code="role_not_allowed")
    names = _photo_names(ctx, photos)
    clean_note = note.strip() if isinstance(note, str) and note.strip() else None
    at = ctx.now()
    with ctx.uow() as uow:
        record = _visible_task(uow, principal, task_id)
        positive = parse_outcome(record.kind, outcome)
        if not record.is_open:
            conflict = Conflict(f"task {task_id} is no longer open (case {record.case.public_id}"
                                f" is {record.case.state.value})", field="task",
                                code="task_closed")
            conflict.current_version = record.case.version
            raise conflict
        if not positive and clean_note is None:
            raise ServiceError("is required when the outcome is negative (say what was found)",
                               field="note")
        if names:
            from gridroute.services.photos import check_count

            check_count(ctx, len(record.case.photos or []),
                        len([n for n in names if n not in (record.case.photos or [])]),
                        field="photos")
        payload: dict[str, Any] = {"task_id": record.id}
        if names:
            payload["photos"] = names
        result = perform_in(ctx, uow, record.case.id, OUTCOME_ACTIONS[(record.kind, positive)],
                            actor=principal.name, role=role.value, reason=clean_note,
                            payload=payload, expected_version=version, at=at,
                            visible=principal.can_see)
        case = result.case
        if names:
            case.photos = list(case.photos or []) + [n for n in names
                                                     if n not in (case.photos or [])]
            uow.cases.save(case, read_version=case.version)  # same version: same action
        done = uow.tasks.get(record.id)
        uow.commit()
    return _view(ctx, done)


def _photo_names(ctx: AppContext, photos: Sequence[str] | None) -> list[str]:
    """Photo names as services/photos.py stored them; each must exist in the photo store."""
    from gridroute.services.photos import photo_store

    if photos is None:
        return []
    if isinstance(photos, str) or not all(isinstance(p, str) for p in photos):
        raise ServiceError("must be a list of photo names", field="photos")
    store = photo_store(ctx)
    out: list[str] = []
    for name in photos:
        if not store.exists(name):
            raise ServiceError(f"no stored photo {name!r} (upload it first)", field="photos")
        if name not in out:
            out.append(name)
    return out
