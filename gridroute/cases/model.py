"""Case model: plain mutable dataclasses shared by the workflow, the store and the services.

A case (案卷) is born as a report (上报) from one of four channels and walks the closed loop
(闭环): 核实 verify → 立案 file → 派遣 dispatch → 签收 accept → 处置反馈 resolve →
核查 check → 结案 close. The state machine itself lives in :mod:`gridroute.cases.workflow`;
this module only holds data and a few state groupings. No I/O, no framework imports.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from gridroute.reference.ladder import TOP_LEVEL
from gridroute.reference.models import URGENCIES, Urgency

__all__ = [
    "Channel", "Role", "State", "Case", "CaseEvent",
    "TERMINAL_STATES", "OPEN_STATES", "DUPLICATE_CANDIDATE_STATES", "URGENCIES",
    "APPEAL_STATES", "MAX_SUPERVISING_LEVEL", "Urgency",
]


class Channel(str, Enum):
    """Where a report came from.

    inspector: 网格监督员 patrol report; public: citizen app/web (公众);
    hotline: 12345 热线 transfer; import: batch import from another system.
    """

    INSPECTOR = "inspector"
    PUBLIC = "public"
    HOTLINE = "hotline"
    IMPORT = "import"

    def __str__(self) -> str:
        return self.value


class Role(str, Enum):
    """Who acts on a case.

    inspector 网格监督员, public 公众 (citizen), acceptor 受理员, shift_lead 值班长,
    dispatcher 派遣员, unit 责任单位 / 专业部门, manager 领导 (district or street), system
    (scheduler, auto-file, import).
    """

    INSPECTOR = "inspector"
    PUBLIC = "public"
    ACCEPTOR = "acceptor"
    SHIFT_LEAD = "shift_lead"
    DISPATCHER = "dispatcher"
    UNIT = "unit"
    MANAGER = "manager"
    SYSTEM = "system"

    def __str__(self) -> str:
        return self.value


class State(str, Enum):
    """Case states.

    reported 上报, verified 核实, filed 立案, rejected 不予立案, merged 合并 (into a parent),
    dispatched 派遣, accepted 签收, returned 退回, resolved 处置反馈, rework 返工,
    checked 核查通过, suspended 挂账, closed 结案.
    """

    REPORTED = "reported"
    VERIFIED = "verified"
    FILED = "filed"
    REJECTED = "rejected"
    MERGED = "merged"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    RESOLVED = "resolved"
    REWORK = "rework"
    CHECKED = "checked"
    SUSPENDED = "suspended"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


#: States a case never leaves.
TERMINAL_STATES: frozenset[State] = frozenset({State.REJECTED, State.CLOSED})
#: Everything not terminal. ``merged`` is open (closing the parent closes it) ...
OPEN_STATES: frozenset[State] = frozenset(State) - TERMINAL_STATES
#: ... but a merged case is never offered as a duplicate parent.
DUPLICATE_CANDIDATE_STATES: frozenset[State] = OPEN_STATES - {State.MERGED}
#: Open states reached only after a first dispatch: where a unit may lodge an appeal (超时申诉).
APPEAL_STATES: frozenset[State] = frozenset({
    State.DISPATCHED, State.ACCEPTED, State.RETURNED, State.RESOLVED, State.REWORK,
    State.CHECKED, State.SUSPENDED,
})
#: Supervision levels (督办): 0 none, 1 unit, 2 street centre, 3 district centre, 4 city centre.
MAX_SUPERVISING_LEVEL = TOP_LEVEL  # the top rung of the escalation ladder


def _opt_state(value: Any) -> State | None:
    return None if value is None else State(value)


@dataclass(kw_only=True)
class Case:
    """One case (案卷). Mutated only through :func:`gridroute.cases.workflow.apply` once stored.

    Coordinates: ``lon``/``lat`` are WGS84 after conversion from ``declared_crs``; ``x``/``y``
    are metres in the working CRS (used for duplicate search). Location codes follow the
    15-digit scheme: district = cell[:6], street = cell[:9], community = cell[:12].
    ``version`` is the optimistic lock (乐观锁): it starts at 1 and every applied action adds 1.
    """

    id: int | None = None
    public_id: str = ""
    version: int = 1

    # report (上报)
    channel: Channel = Channel.INSPECTOR
    reporter: str = ""
    description: str = ""
    photos: list[str] = field(default_factory=list)
    reported_at: datetime | None = None
    declared_crs: str = "EPSG:4326"
    lon: float | None = None
    lat: float | None = None
    x: float | None = None
    y: float | None = None

    # location (定位)
    cell_code: str | None = None
    community_code: str | None = None
    street_code: str | None = None
    district_code: str | None = None
    locate_status: str = "unlocated"
    locate_distance_m: float | None = None
    grid_version: int | None = None

    # classification and routing (分类与派遣规则)
    category_code: str | None = None
    standard_id: str | None = None
    urgency: Urgency = Urgency.NORMAL
    routing: dict[str, Any] = field(default_factory=dict)
    unit_code: str | None = None

    # workflow
    state: State = State.REPORTED
    previous_state: State | None = None
    suspended_until: datetime | None = None
    returns: int = 0
    reworks: int = 0
    extensions: int = 0
    extension_pending: bool = False
    appeal: str | None = None
    overdue_excluded: bool = False
    supervising_level: int = 0
    parent_id: int | None = None

    # intake bookkeeping
    external_id: str | None = None
    idempotency_key: str | None = None

    # milestones (latest occurrence; the event log keeps every one)
    filed_at: datetime | None = None
    dispatched_at: datetime | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    checked_at: datetime | None = None
    closed_at: datetime | None = None

    def __post_init__(self) -> None:
        self.channel = Channel(self.channel)
        self.state = State(self.state)
        self.previous_state = _opt_state(self.previous_state)
        if self.urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}, got {self.urgency!r}")
        self.urgency = Urgency(self.urgency)
        if not 0 <= self.supervising_level <= MAX_SUPERVISING_LEVEL:
            raise ValueError(
                f"supervising_level must be 0..{MAX_SUPERVISING_LEVEL}, "
                f"got {self.supervising_level}")

    @property
    def is_open(self) -> bool:
        """True unless rejected or closed (a merged case is still open)."""
        return self.state in OPEN_STATES

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass(kw_only=True)
class CaseEvent:
    """One line of a case's history (案卷流转记录). Append-only: never edited, never deleted.

    ``seq`` equals the case version after the action, so the intake event is 1 and a case's
    events are numbered without gaps. ``to_state`` is the state after the action (equal to
    ``from_state`` for actions that leave the state unchanged). ``payload`` values are
    JSON-ready (datetimes as ISO 8601 strings).
    """

    case_id: int | None
    seq: int
    action: str
    actor: str
    role: Role
    from_state: State | None
    to_state: State | None
    reason: str | None = None
    at: datetime
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.role = Role(self.role)
        self.from_state = _opt_state(self.from_state)
        self.to_state = _opt_state(self.to_state)
