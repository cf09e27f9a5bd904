"""Open311 GeoReport v2 use cases (the public API civic apps and 12345 bridges speak).

Services are the 小类 (category codes); a service request is a case. Everything returned
here is public: a reporter's name, phone and e-mail are stored with the case but never leave
through these functions. Entrypoints render the dicts as XML or JSON."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from gridroute.cases.model import TERMINAL_STATES, Case, CaseEvent, State
from gridroute.services import apikeys, photos
from gridroute.services.clocks import escalation_policy
from gridroute.services.context import AppContext
from gridroute.services.errors import NotFound, ServiceError
from gridroute.services.grids import active_grid
from gridroute.services.intake import MAX_DESCRIPTION, ReportInput, submit_report
from gridroute.services.reference import reference_data
from gridroute.sla.clock import PhaseClock
from gridroute.sla.lights import light

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_SPAN = timedelta(days=90)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_IDS = 100
COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")
TOKEN_PREFIX = "open311:"
_CLIENT_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_TOKEN = re.compile(r"[0-9a-f]{32}")

# zh-CN, en
STATE_NOTES = {
    State.REPORTED: ("已上报，待核实", "reported, awaiting verification"),
    State.VERIFYING: ("核实中", "being verified on site"),
    State.VERIFIED: ("已核实，待立案", "verified, awaiting filing"),
    State.FILED: ("已立案，待派遣", "filed, awaiting dispatch"),
    State.REJECTED: ("不予立案", "not filed"),
    State.MERGED: ("已合并", "merged into another report"),
    State.DISPATCHED: ("已派遣至责任单位", "sent to the responsible unit"),
    State.ACCEPTED: ("责任单位已签收，处置中", "the responsible unit is handling it"),
    State.RETURNED: ("重新派遣中", "being sent to another unit"),
    State.RESOLVED: ("已处置，待核查", "handled, awaiting inspection"),
    State.REVIEWED: ("处置结果已审核，待核查", "reply reviewed, awaiting inspection"),
    State.CHECKING: ("核查中", "being inspected"),
    State.REWORK: ("核查未通过，返工中", "inspection failed, being reworked"),
    State.CHECKED: ("核查通过，待结案", "inspection passed, awaiting closure"),
    State.SUSPENDED: ("挂账，需工程或资金", "suspended: needs works or funding"),
    State.CLOSED: ("已结案", "closed"),
    State.VOIDED: ("已作废", "voided"),
}
# The public part of a case's history: what a citizen following the report may read. Internal
# steps (returns between units, extension requests, appeals, escalations) stay inside.
PUBLIC_ACTIONS = {
    "report": ("上报", "reported"), "verify": ("核实", "verified"), "file": ("立案", "filed"),
    "reject": ("不予立案", "not filed"), "merge": ("合并", "merged"),
    "dispatch": ("派遣", "dispatched"), "accept": ("签收", "accepted by the unit"),
    "resolve": ("处置反馈", "handled"), "check_pass": ("核查通过", "inspection passed"),
    "check_fail": ("核查未通过，返工", "inspection failed, rework"),
    "close": ("结案", "closed"), "close_with_parent": ("随主案结案", "closed with the parent"),
    "suspend": ("挂账", "suspended"), "resume": ("恢复处置", "resumed"),
    "verify_false": ("核实不属实", "not confirmed on site"), "void": ("作废", "voided"),
    "self_handle": ("自行处置，已结案", "fixed on the spot and closed"),
    "approve_suspension": ("挂账", "suspended"),
}
_REASON_PUBLIC = {"reject"}  # the one reason written for the reporter


def _pick(lang: str, pair: tuple[str, str]) -> str:
    return pair[1] if lang == "en" else pair[0]


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def status_of(case: Case) -> str:
    return "closed" if case.state in TERMINAL_STATES else "open"


# ------------------------------------------------------------------ discovery and services

def discovery(base_url: str) -> dict:
    return {"changeset": "2026-12-01T00:00:00+08:00",
            "contact": "网格化管理中心 grid management centre",
            "key_service": "gridroute apikey add NAME (ask the operator of this server)",
            "endpoints": [{"specification": SPECIFICATION, "url": base_url.rstrip("/"),
                           "changeset": "2026-12-01T00:00:00+08:00", "type": "production",
                           "formats": ["text/xml", "application/json"]}]}


def services(ctx: AppContext, lang: str) -> list[dict]:
    reference = reference_data(ctx)
    result = []
    for code in sorted(reference.categories):
        c = reference.categories[code]
        name = c.minor_name_en if lang == "en" and c.minor_name_en else c.minor_name_zh
        group = c.major_name_en if lang == "en" and c.major_name_en else c.major_name_zh
        kind = ("部件", "component") if c.kind == "component" else ("事件", "event")
        result.append({"service_code": code, "service_name": name,
                       "description": f"{_pick(lang, kind)} · {group} · {name}",
                       "metadata": True, "type": "realtime",
                       "keywords": ",".join(k for k in dict.fromkeys(
                           (c.minor_name_zh, c.minor_name_en, c.major_name_zh)) if k),
                       "group": group})
    return result


def service_definition(ctx: AppContext, code: str, lang: str) -> dict:
    reference = reference_data(ctx)
    if code not in reference.categories:
        raise NotFound(f"no service {code!r}", field="service_code")
    attributes = []
    rows = reference.standards_for(code)
    if rows:
        attributes.append({
            "variable": True, "code": "condition", "datatype": "singlevaluelist",
            "required": False, "order": 1,
            "datatype_description": _pick(lang, ("选择最符合现场情况的立案条件",
                                                 "the filing condition that fits best")),
            "description": _pick(lang, ("立案条件", "filing condition")),
            "values": [{"key": s.id, "name": s.filing_condition} for s in rows]})
    attributes.append({
        "variable": True, "code": "urgency", "datatype": "singlevaluelist", "required": False,
        "order": len(attributes) + 1,
        "datatype_description": _pick(lang, ("危及安全时选紧急", "urgent when safety is at risk")),
        "description": _pick(lang, ("紧急程度", "urgency")),
        "values": [{"key": "normal", "name": _pick(lang, ("一般", "normal"))},
                   {"key": "urgent", "name": _pick(lang, ("紧急", "urgent"))}]})
    return {"service_code": code, "attributes": attributes}


# ------------------------------------------------------------------ reading requests

def _parse_date(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ServiceError(f"is not a W3C date-time (e.g. 2026-11-25T09:00:00+08:00): {raw!r}",
                           field=name) from None
    if value.tzinfo is None:
        raise ServiceError(f"must carry a UTC offset (e.g. +08:00): {raw!r}", field=name)
    return value


def _parse_int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ServiceError(f"must be a whole number, got {raw!r}", field=name) from None
    if not low <= value <= high:
        raise ServiceError(f"must be between {low} and {high}, got {value}", field=name)
    return value


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _flag(raw: str | None, name: str) -> bool:
    if raw is None or raw == "":
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ServiceError(f"must be true or false, got {raw!r}", field=name)


def find_requests(ctx: AppContext, args: Mapping[str, str], lang: str) -> list[dict]:
    """GET requests: `service_request_id` (comma separated, overrides the rest) or
    `service_code`, `start_date`, `end_date` (≤ 90 days; default the last 90), `status`,
    and the extensions `page`, `page_size`, `extensions`."""
    extensions = _flag(args.get("extensions"), "extensions")
    ids = _split(args.get("service_request_id"))
    with ctx.uow(read_only=True) as uow:
        if ids:
            if len(ids) > MAX_IDS:
                raise ServiceError(f"{len(ids)} ids; at most {MAX_IDS} at once",
                                   field="service_request_id")
            cases = [c for c in (uow.cases.get_by_public_id(i) for i in ids) if c is not None]
        else:
            query = _search_query(ctx, args)
            cases = uow.public.search(**query)
        return _render(ctx, uow, cases, lang, extensions)


def _search_query(ctx: AppContext, args: Mapping[str, str]) -> dict:
    categories = _split(args.get("service_code"))
    known = reference_data(ctx).categories
    for code in categories:
        if code not in known:
            raise ServiceError(f"unknown service {code!r}", field="service_code")
    statuses = _split(args.get("status"))
    for status in statuses:
        if status not in ("open", "closed"):
            raise ServiceError(f"must be open or closed, got {status!r}", field="status")
    states = [s.value for s in State
              if ("closed" if s in TERMINAL_STATES else "open") in statuses] if statuses else []
    end = _parse_date(args["end_date"], "end_date") if args.get("end_date") else None
    start = _parse_date(args["start_date"], "start_date") if args.get("start_date") else None
    if end is None:
        end = start + MAX_SPAN if start is not None else ctx.now()
    if start is None:
        start = end - MAX_SPAN
    if start > end:
        raise ServiceError(f"is after end_date ({iso(end)})", field="start_date")
    if end - start > MAX_SPAN:
        raise ServiceError(f"start_date to end_date spans {(end - start).days} days; "
                           "at most 90", field="end_date")
    page = _parse_int(args.get("page"), "page", 1, 1, 1_000_000)
    size = _parse_int(args.get("page_size"), "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return {"categories": categories, "states": states, "start": start, "end": end,
            "limit": size, "offset": (page - 1) * size}


def get_request(ctx: AppContext, request_id: str, lang: str, args: Mapping[str, str]) -> list[dict]:
    """GET requests/{id}: a one-element list, 404 for an unknown id."""
    extensions = _flag(args.get("extensions"), "extensions")
    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get_by_public_id(request_id)
        if case is None:
            raise NotFound(f"no service request {request_id!r}", field="service_request_id")
        return _render(ctx, uow, [case], lang, extensions)


def token_status(ctx: AppContext, token: str) -> list[dict]:
    """GET tokens/{token}: the service request a POST's token became."""
    case = None
    if _TOKEN.fullmatch(token or ""):
        with ctx.uow(read_only=True) as uow:
            case = uow.cases.get_by_idempotency_key(TOKEN_PREFIX + token)
    if case is None:
        raise NotFound(f"no token {token!r}", field="token")
    return [{"service_request_id": case.public_id, "token": token}]


def _current_light(ctx: AppContext, clocks: list[dict], now: datetime) -> str | None:
    """The light of the clock that runs now (or, when none runs, of the last one)."""
    if not clocks:
        return None
    running = [c for c in clocks if c["state"] in ("running", "paused")]
    chosen = max(running or clocks, key=lambda c: c["started_at"])
    clock = PhaseClock.from_dict(chosen["clock"])
    return light(clock, now, ctx.calendar, escalation_policy(ctx).yellow_share)


def _render(ctx: AppContext, uow, cases: Sequence[Case], lang: str,
            extensions: bool) -> list[dict]:
    ids = [c.id for c in cases]
    clocks = uow.public.clocks(ids)
    history = uow.public.events(ids) if extensions else None
    updated = {} if extensions else uow.public.last_event_times(ids)
    parents = {}
    for case in cases:
        if case.parent_id is not None and case.parent_id not in parents:
            parent = uow.cases.get(case.parent_id)
            parents[case.parent_id] = parent.public_id if parent else None
    reference = reference_data(ctx)
    grid = active_grid(ctx)
    names = grid.names if grid is not None else {}
    now = ctx.now()
    out = []
    for case in cases:
        category = reference.categories.get(case.category_code)
        unit = reference.units.get(case.unit_code) if case.unit_code else None
        handle = next((c for c in clocks.get(case.id, ()) if c["phase"] == "handle"), None)
        events = history.get(case.id, []) if history is not None else None
        last = events[-1].at if events else updated.get(case.id)
        row = {
            "service_request_id": case.public_id,
            "status": status_of(case),
            "status_notes": _status_notes(case, events, parents.get(case.parent_id), lang, uow),
            "service_name": (category.minor_name_en if lang == "en" and category.minor_name_en
                             else category.minor_name_zh) if category else case.category_code,
            "service_code": case.category_code,
            "description": case.description,
            "agency_responsible": ((unit.name_en if lang == "en" and unit.name_en
                                    else unit.name_zh) if unit else None),
            "service_notice": None,
            "requested_datetime": iso(case.reported_at),
            "updated_datetime": iso(last),
            "expected_datetime": iso(handle["deadline"]) if handle else None,
            "address": " ".join(names.get(code, code) for code in (
                case.district_code, case.street_code, case.community_code) if code) or None,
            "address_id": None,
            "zipcode": None,
            "lat": case.lat,
            "long": case.lon,
            "media_url": None,  # photos are shown only to those who may see the case
        }
        if extensions:
            row["extended_attributes"] = {
                "cell_code": case.cell_code, "community_code": case.community_code,
                "street_code": case.street_code, "district_code": case.district_code,
                "state": case.state.value,
                "light": _current_light(ctx, clocks.get(case.id, []), now),
                "supervising_level": case.supervising_level,
            }
            row["notes"] = [_note(e, lang) for e in events if e.action in PUBLIC_ACTIONS]
        out.append(row)
    return out


def _status_notes(case: Case, events: list[CaseEvent] | None, parent: str | None,
                  lang: str, uow) -> str:
    note = _pick(lang, STATE_NOTES[case.state])
    if case.state is State.MERGED and parent:
        note += f" → {parent}"
    if case.state is State.REJECTED:
        if events is None:
            events = uow.cases.events(case.id)
        reason = next((e.reason for e in reversed(events) if e.action == "reject"), None)
        if reason:
            note += f": {reason}"
    return note


def _note(event: CaseEvent, lang: str) -> dict:
    """No actor, no role, no payload: a history line as the public may read it."""
    state = event.to_state
    return {"datetime": iso(event.at), "type": event.action,
            "summary": _pick(lang, PUBLIC_ACTIONS[event.action]),
            "status": ("closed" if state in TERMINAL_STATES else "open") if state else None,
            "description": event.reason if event.action in _REASON_PUBLIC else None}


# ------------------------------------------------------------------ posting a request

@dataclass
class PostResult:
    rows: list[dict]
    created: bool
    api_key_id: int = 0
    photos: list[str] = field(default_factory=list)


# Intake's field names → the Open311 parameter that carried the value
_FIELD_NAMES = {"category": "service_code", "lon": "long", "lat": "lat", "lon,lat": "lat,long",
                "crs": "coord_system", "standard": "attribute[condition]",
                "urgency": "attribute[urgency]", "description": "description"}


def post_request(ctx: AppContext, form: Mapping[str, str], media: Sequence[photos.Upload],
                 *, client_key: str | None = None, lang: str = "zh-CN") -> PostResult:
    """POST requests: one report through the one intake path. `client_key` (an
    Idempotency-Key header) makes a retry answer with the first request's case."""
    key = apikeys.authenticate(ctx, form.get("api_key"))
    code = (form.get("service_code") or "").strip()
    if not code:
        raise ServiceError("is required", field="service_code")
    reference = reference_data(ctx)
    if code not in reference.categories:
        raise ServiceError(f"unknown service {code!r}", field="service_code")
    attributes = {k[len("attribute["):-1]: v for k, v in form.items()
                  if k.startswith("attribute[") and k.endswith("]")}
    unknown = sorted(set(attributes) - {"condition", "urgency"})
    if unknown:
        raise ServiceError(f"unknown attribute of service {code}; known: condition, urgency",
                           field=f"attribute[{unknown[0]}]")
    standard_id = attributes.get("condition") or None
    urgency = attributes.get("urgency") or None
    if standard_id is not None:
        row = reference.standards.get(standard_id)
        if row is None or row.category_code != code:
            raise ServiceError(f"unknown condition {standard_id!r} of service {code}",
                               field="attribute[condition]")
        urgency = urgency or row.urgency
    coord_system = (form.get("coord_system") or "wgs84").strip().lower()
    if coord_system not in COORD_SYSTEMS:
        raise ServiceError(f"must be one of {', '.join(COORD_SYSTEMS)}, got {coord_system!r}",
                           field="coord_system")
    description = form.get("description") or ""
    address = (form.get("address_string") or "").strip()
    if address:  # kept with the description: nothing here geocodes it
        description = (f"{description}\n\n" if description else "") + f"地址 address: {address}"
    if len(description) > MAX_DESCRIPTION:
        raise ServiceError(f"is {len(description)} characters (address_string included); "
                           f"at most {MAX_DESCRIPTION}", field="description")
    lat, lon = form.get("lat"), form.get("long")
    if (lat in (None, "")) != (lon in (None, "")):
        raise ServiceError("lat and long must be given together", field="lat,long")
    if client_key is not None and not _CLIENT_KEY.fullmatch(client_key):
        raise ServiceError("must be 1 to 64 letters, digits or _.:-", field="Idempotency-Key")

    stored = photos.process_all(ctx, media)
    notice = None
    if lat in (None, ""):
        located = next((p.gps for p in stored if p.gps is not None), None)
        if located is None:
            raise ServiceError(
                "required: give lat and long, or attach a photo with GPS data (address_string "
                "and address_id are not geocoded here)", field="lat,long")
        lon, lat = located
        coord_system = "wgs84"  # GNSS positions in EXIF are WGS84 whatever was declared
        notice = _pick(lang, ("位置取自照片的GPS信息", "location taken from the photo's GPS data"))
    token = (hashlib.sha256(f"{key.id}:{client_key}".encode()).hexdigest()[:32]
             if client_key else secrets.token_hex(16))
    report = ReportInput(
        channel="public", category_code=code, lon=lon, lat=lat, crs=coord_system,
        description=description, reporter=_reporter(form),
        photos=[p.name for p in stored], urgency=urgency, standard_id=standard_id,
        idempotency_key=TOKEN_PREFIX + token, idempotency_key_new=client_key is None,
        external_id=None,
        actor=f"open311:{key.name}")
    try:
        result = submit_report(ctx, report)
    except ServiceError as exc:
        raise ServiceError(exc.message, field=_FIELD_NAMES.get(exc.field, exc.field),
                           code=exc.code) from None
    row = {"service_request_id": result.case.public_id, "token": token,
           "service_notice": notice, "account_id": None}
    return PostResult([row], result.created, key.id, [p.name for p in stored])


def _reporter(form: Mapping[str, str]) -> str:
    """Contact details kept with the case for the centre's call-back; never shown publicly."""
    name = " ".join(x for x in ((form.get("first_name") or "").strip(),
                                (form.get("last_name") or "").strip()) if x)
    parts = [name] + [f"{label}: {form.get(key).strip()}" for key, label in (
        ("phone", "phone"), ("email", "email"), ("account_id", "account"),
        ("device_id", "device")) if (form.get(key) or "").strip()]
    return "; ".join(p for p in parts if p)[:500]
