"""Request and response models of /api/v1 (pydantic v2). The same classes validate requests
and generate the OpenAPI document (spectree), so the document cannot drift from the code."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    # query strings may carry unknown keys (cache busters, lang)
    model_config = ConfigDict(extra="ignore")


# ------------------------------------------------------------------ errors

class ErrorItem(BaseModel):
    code: str
    field: Optional[str] = None
    message: str
    detail: str


class ErrorDetail(ErrorItem):
    errors: Optional[list[ErrorItem]] = None
    current_version: Optional[int] = None


class ErrorBody(BaseModel):
    """Every 4xx/5xx: `message` in the request's language names the field and the reason."""

    error: ErrorDetail


# ------------------------------------------------------------------ auth

class TokenRequest(_In):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    label: str = Field(default="", max_length=200)


class Me(BaseModel):
    name: str
    role: str
    unit_code: Optional[str] = None
    scope: list[str]


class TokenOut(BaseModel):
    token: str = Field(description="Shown once; send as `Authorization: Bearer <token>`.")
    token_id: int
    user: Me


# ------------------------------------------------------------------ cases

class CaseListQuery(Query):
    state: Optional[str] = Field(None, max_length=500,
                                 description="Comma-separated states, e.g. filed,dispatched")
    light: Optional[str] = Field(None, max_length=100, description="green,yellow,red")
    category: Optional[str] = Field(None, max_length=500)
    unit: Optional[str] = Field(None, max_length=500)
    street: Optional[str] = Field(None, max_length=500)
    cell: Optional[str] = Field(None, max_length=2000)
    channel: Optional[str] = Field(None, max_length=100)
    reported_from: Optional[AwareDatetime] = None
    reported_to: Optional[AwareDatetime] = None
    q: Optional[str] = Field(None, max_length=200, description="Text in the description")
    sort: Literal["remaining", "reported_at", "-reported_at"] = "remaining"
    limit: int = Field(50, ge=1, le=200)
    cursor: Optional[str] = Field(None, max_length=500)


class CaseOut(BaseModel):
    id: int
    public_id: str
    version: int
    channel: str
    state: str
    previous_state: Optional[str] = None
    category_code: str
    urgency: str
    description: str
    reporter: Optional[str] = Field(None, description="Only for centre roles")
    reported_at: datetime
    lon: float
    lat: float
    declared_crs: str
    cell_code: Optional[str] = None
    community_code: Optional[str] = None
    street_code: Optional[str] = None
    district_code: Optional[str] = None
    locate_status: str
    unit_code: Optional[str] = None
    standard_id: Optional[str] = None
    supervising_level: int
    returns: int
    reworks: int
    extensions: int
    extension_pending: bool
    appeal: Optional[str] = None
    overdue_excluded: bool
    suspended_until: Optional[datetime] = None
    parent_id: Optional[int] = None
    photos: list[str]
    next_deadline: Optional[datetime] = Field(
        None, description="Earliest deadline among the running clocks")
    filed_at: Optional[datetime] = None
    dispatched_at: Optional[datetime] = None
    accepted_at: Optional[datetime] = None
    resolved_at: Optional[datetime] = None
    checked_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None


class CaseList(BaseModel):
    cases: list[CaseOut]
    next_cursor: Optional[str] = Field(None, description="Pass as `cursor` for the next page")
    counts: dict[str, int] = Field(description="Cases per state over the whole filter "
                                               "(first page only)")


class EventOut(BaseModel):
    seq: int
    action: str
    actor: str
    role: str
    from_state: Optional[str] = None
    to_state: Optional[str] = None
    reason: Optional[str] = None
    at: datetime
    payload: dict[str, Any]


class ClockOut(BaseModel):
    phase: str
    state: str
    run: int
    unit_code: Optional[str] = None
    started_at: datetime
    deadline: Optional[datetime] = None
    limit: str
    light: str
    remaining_seconds: Optional[float] = None


class DuplicateOut(BaseModel):
    public_id: str
    case_id: int
    state: str
    distance_m: float


class CaseDetailOut(BaseModel):
    case: CaseOut
    history: list[EventOut]
    clocks: list[ClockOut]
    routing: dict[str, Any] = Field(description="How the case was routed (rule, why, unit)")
    likely_duplicates: list[DuplicateOut]
    photos: list[str]
    allowed_actions: list[str] = Field(description="What the caller's role may do now")


class ReportIn(_In):
    category: str = Field(min_length=1, max_length=8)
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    description: str = Field("", max_length=4000)
    urgency: Optional[Literal["normal", "urgent"]] = None
    reporter: str = Field("", max_length=200)
    idempotency_key: Optional[str] = Field(None, min_length=1, max_length=128)


class ReportOut(BaseModel):
    case: CaseOut
    created: bool
    likely_duplicates: list[dict[str, Any]]


class ActionIn(_In):
    version: Optional[int] = Field(
        None, description="The version the client last saw; a newer case answers 409")
    reason: Optional[str] = Field(None, max_length=2000)
    payload: dict[str, Any] = Field(default_factory=dict,
                                    description="Fields the action needs (see /actions)")


class ActionOut(BaseModel):
    case: CaseOut
    events: list[EventOut]


class ActionInfo(BaseModel):
    action: str
    from_states: list[str]
    to_state: str
    roles: list[str]
    reason_required: bool
    payload_required: list[str]
    clock_effects: list[str]
    summary: str


class ActionList(BaseModel):
    actions: list[ActionInfo]


# ------------------------------------------------------------------ reference

class UnitOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    unit_type: str
    parent_code: Optional[str] = None
    streets: list[str]
    cells: list[str]


class UnitList(BaseModel):
    units: list[UnitOut]


class UnitQuery(Query):
    street: Optional[str] = Field(None, max_length=32)


class StandardOut(BaseModel):
    id: str
    category_code: str
    seq: int
    filing_condition: str
    urgency: str
    limit: str
    closing_condition: str
    handling_unit_hint: str
    supervising_dept: str


class CategoryOut(BaseModel):
    code: str
    kind: str
    major_code: str
    major_name_zh: str
    major_name_en: str
    minor_code: str
    minor_name_zh: str
    minor_name_en: str
    pinyin_initials: str
    aliases: list[str]
    standards: Optional[list[StandardOut]] = None


class CategoryList(BaseModel):
    categories: list[CategoryOut]


class CategoryQuery(Query):
    q: Optional[str] = Field(None, max_length=100,
                             description="Code, Chinese or English name, or pinyin initials")
    kind: Optional[Literal["component", "event"]] = None
    limit: int = Field(50, ge=1, le=500)


class StandardQuery(Query):
    category: Optional[str] = Field(None, max_length=8)


class StandardList(BaseModel):
    standards: list[StandardOut]


# ------------------------------------------------------------------ grid and routing

class GridQuery(Query):
    street: Optional[str] = Field(None, max_length=32)
    community: Optional[str] = Field(None, max_length=32)


class Feature(BaseModel):
    type: Literal["Feature"]
    properties: dict[str, Any]
    geometry: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    grid_version: int
    features: list[Feature]


class PreviewQuery(Query):
    category: str = Field(min_length=1, max_length=8)
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    channel: Literal["inspector", "public", "hotline", "import"] = "inspector"
    urgency: Optional[Literal["normal", "urgent"]] = None
    description: str = Field("", max_length=4000)
    at: Optional[AwareDatetime] = None


class PreviewOut(BaseModel):
    cell_code: str
    locate_status: str
    locate_distance_m: Optional[float] = None
    community_code: str
    community_name: str
    street_code: str
    street_name: str
    district_code: str
    rule_id: Optional[str] = None
    fallback: bool
    explanation: str
    matched: list[str]
    unit_code: str
    unit_name_zh: str
    unit_name_en: str
    urgency: str
    auto_file: bool
    standard_id: Optional[str] = None
    filing_condition: Optional[str] = None
    handling_limit: str
    deadline: datetime
    ruleset_hash: str
    wgs84: dict[str, float]


# ------------------------------------------------------------------ verify and check tasks

class TaskQuery(Query):
    kind: Optional[Literal["verify", "check"]] = Field(
        None, description="核实 verify or 核查 check; both when absent")
    state: Literal["open", "done", "cancelled", "any"] = Field(
        "open", description="open (waiting for the inspector), done (outcome reported), "
                            "cancelled (voided or replaced by a newer task), any")
    cell: Optional[str] = Field(None, max_length=2000,
                                description="Comma-separated cell codes")
    inspector: Optional[str] = Field(
        None, max_length=64, description="Tasks sent to this inspector (an inspector always "
                                         "sees their own)")
    limit: int = Field(100, ge=1, le=500)


class TaskCaseOut(BaseModel):
    id: int
    public_id: str
    version: int = Field(description="Send as `version` when completing the task")
    state: str
    category_code: str
    category_name_zh: str
    category_name_en: str
    description: str
    lon: float
    lat: float
    address: str = Field(description="District, street and community names")
    cell_code: Optional[str] = None
    community_code: Optional[str] = None
    street_code: Optional[str] = None
    photos: list[str]


class TaskOut(BaseModel):
    id: int
    kind: Literal["verify", "check"]
    state: Literal["open", "done", "cancelled"]
    inspector: Optional[str] = Field(None, description="The inspector the task was sent to")
    sent_by: str
    sent_at: datetime
    due_at: Optional[datetime] = Field(None, description="Deadline of the task clock (open)")
    completed_at: Optional[datetime] = None
    completed_by: Optional[str] = None
    outcome: Optional[bool] = Field(None, description="属实/通过 true, 不属实/不通过 false")
    ended_by_action: Optional[str] = None
    note: Optional[str] = None
    photos: list[str]
    case: TaskCaseOut


class TaskList(BaseModel):
    tasks: list[TaskOut]


class TaskCompleteIn(_In):
    outcome: Union[bool, Literal["pass", "fail"]] = Field(
        description="verify: true (属实) / false (不属实); check: pass / fail (true / false)")
    note: Optional[str] = Field(None, max_length=2000,
                                description="What was found; required for false / fail")
    version: Optional[int] = Field(
        None, description="The case version the client last saw; a newer case answers 409")
    photos: list[Annotated[str, Field(max_length=80)]] = Field(
        default_factory=list, max_length=9,
        description="Names of photos already stored (taken on site)")
