"""What the API and the pages read about cases, always through the caller's scope: a case
outside it answers exactly like a case that does not exist (NotFound)."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gridroute.auth.model import Principal, UserRole
from gridroute.cases.duplicates import candidate_bbox, find_duplicates
from gridroute.cases.model import DUPLICATE_CANDIDATE_STATES, Case, CaseEvent
from gridroute.services.context import AppContext
from gridroute.services.errors import NotFound, ServiceError
from gridroute.store.case_queries import CaseFilter

SORTS = ("remaining", "reported_at", "-reported_at")
LIGHTS = ("green", "yellow", "red")
MAX_PAGE = 200


@dataclass
class CaseQuery:
    states: list[str] = field(default_factory=list)
    lights: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    streets: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    text: str | None = None
    sort: str = "remaining"
    limit: int = 50
    cursor: str | None = None


@dataclass
class CaseListing:
    cases: list[Case]
    deadlines: dict[int, datetime | None]
    next_cursor: str | None
    counts: dict[str, int]


def _scope_filter(ctx: AppContext, principal: Principal) -> dict[str, Any]:
    g = ctx.code_scheme  # the configured layout (lengths may come from the scheme's name)
    lengths = {g.district_len: "district_code",
               g.district_len + g.street_len: "street_code",
               g.district_len + g.street_len + g.community_len: "community_code",
               g.district_len + g.street_len + g.community_len + g.cell_len: "cell_code"}
    if principal.role is UserRole.UNIT:
        return {"scope_prefixes": (), "scope_unit": principal.unit_code or "\x00",
                "code_lengths": lengths}
    if principal.city_wide:
        return {"code_lengths": lengths}
    return {"scope_prefixes": tuple(principal.scope), "code_lengths": lengths}


def encode_cursor(sort: str, key: tuple[Any, int]) -> str:
    value, case_id = key
    raw = json.dumps({"s": sort, "k": value.isoformat(), "i": case_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        value = datetime.fromisoformat(data["k"])
        case_id = int(data["i"])
        if data["s"] != sort or value.tzinfo is None:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ServiceError("not a cursor of this listing (use next_cursor as given, with the "
                           "same sort)", field="cursor", code="bad_cursor") from None
    return value, case_id


def search_cases(ctx: AppContext, principal: Principal, query: CaseQuery) -> CaseListing:
    if query.sort not in SORTS:
        raise ServiceError(f"must be one of {', '.join(SORTS)}", field="sort")
    bad = [x for x in query.lights if x not in LIGHTS]
    if bad:
        raise ServiceError(f"unknown light {bad[0]!r}; one of {', '.join(LIGHTS)}",
                           field="light")
    if not 1 <= query.limit <= MAX_PAGE:
        raise ServiceError(f"must be between 1 and {MAX_PAGE}", field="limit")
    after = decode_cursor(query.sort, query.cursor) if query.cursor else None
    f = CaseFilter(states=query.states, lights=query.lights, categories=query.categories,
                   units=query.units, streets=query.streets, cells=query.cells,
                   channels=query.channels, reported_from=query.reported_from,
                   reported_to=query.reported_to, text=query.text,
                   **_scope_filter(ctx, principal))
    with ctx.uow(read_only=True) as uow:
        page = uow.case_lists.page(f, sort=query.sort, limit=query.limit, after=after)
        counts = uow.case_lists.count_by_state(f) if after is None else {}
    cursor = encode_cursor(query.sort, page.next_key) if page.next_key else None
    return CaseListing(page.cases, page.deadlines, cursor, counts)


@dataclass
class CaseDetail:
    case: Case
    events: list[CaseEvent]
    clocks: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    allowed_actions: list[str]


def visible_case(ctx: AppContext, uow, principal: Principal, ref: int | str, *,
                 for_update: bool = False) -> Case:
    """The case if the principal may see it; NotFound otherwise (never 403: a unit operator
    must not learn that another unit's case number exists)."""
    from gridroute.services.workflow import find_case

    case = find_case(uow, ref, for_update=for_update)
    if not principal.can_see(case):
        raise NotFound(f"no case {ref!r}", field="case")
    return case


def case_detail(ctx: AppContext, principal: Principal, ref: int | str) -> CaseDetail:
    from gridroute.cases import workflow
    from gridroute.services.clocks import escalation_policy
    from gridroute.services.intake import duplicate_policy
    from gridroute.sla.lights import light

    now = ctx.now()
    with ctx.uow(read_only=True) as uow:
        case = visible_case(ctx, uow, principal, ref)
        events = uow.cases.events(case.id)
        stored = uow.clocks.load(case.id)
        policy = duplicate_policy(ctx)
        duplicates: list[dict[str, Any]] = []
        box = candidate_bbox(case, policy)
        if box is not None and case.is_open:
            minx, miny, maxx, maxy, since = box
            candidates = [c for c in uow.cases.duplicate_candidates(
                case.category_code, (minx, miny, maxx, maxy), since,
                [s.value for s in DUPLICATE_CANDIDATE_STATES]) if c.id != case.id]
            duplicates = [{"public_id": c.public_id, "case_id": c.id, "state": c.state,
                           "distance_m": round(d, 2)}
                          for c, d in find_duplicates(case, candidates, policy)]
    share = escalation_policy(ctx).yellow_share
    clocks = []
    for phase, entry in stored.items():
        clock = entry.clock
        clocks.append({
            "phase": phase, "state": clock.state, "run": entry.run,
            "unit_code": entry.unit_code, "started_at": clock.started_at,
            "deadline": clock.deadline, "limit": str(clock.limit),
            "light": light(clock, now, ctx.calendar, share),
            "remaining_seconds": (clock.remaining(now, ctx.calendar)
                                  if clock.is_open else None)})
    role = principal.workflow_role
    actions = ([a for a in workflow.allowed_actions(case, role) if a in public_actions()]
               if role is not None else [])
    return CaseDetail(case, events, clocks, duplicates, actions)


def public_actions() -> list[str]:
    """Workflow actions a person may take through the API/pages: every row of the transition
    table that a non-system role may perform (new rows appear without more code)."""
    from gridroute.cases import workflow
    from gridroute.cases.model import Role

    return [action for action, tr in workflow.TRANSITIONS.items()
            if any(r is not Role.SYSTEM for r in tr.roles)]
