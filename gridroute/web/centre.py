"""Pages: the dispatch centre (受理/立案/派遣): the queue and the case page.

The queue is server-rendered (filters are a GET form) and refreshes its rows in place from
`/queue/rows` (same service, same template part) every few seconds. The case page shows the
actions `case_detail` allows the user's role in the case's state; each action's form is sent by
static/js/centre_case.js to the API's `POST /api/v1/cases/<ref>/actions/<action>` (with the
version the page was rendered from), so pages and API share one business path; a unit's reply
with photos goes to `unit.resolve` (multipart), which stores the photos and then resolves.
"""
from __future__ import annotations

import functools
from datetime import datetime

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_login import login_required

from gridroute.auth.model import UserRole

bp = Blueprint("centre", __name__)

CENTRE_ROLES = (UserRole.ACCEPTOR, UserRole.SHIFT_LEAD, UserRole.DISPATCHER, UserRole.MANAGER,
                UserRole.ADMIN)
PAGE_SIZE = 50
POLL_SECONDS = 5

# English message ids (translated in translations/zh_CN/LC_MESSAGES/centre.po)
STATE_LABELS = {
    "reported": "Reported", "verifying": "Verifying", "verified": "Verified",
    "filed": "Filed", "rejected": "Rejected", "merged": "Merged", "dispatched": "Dispatched",
    "accepted": "Accepted", "returned": "Returned", "resolved": "Resolved",
    "reviewed": "Reviewed", "checking": "Checking", "rework": "Rework", "checked": "Checked",
    "suspended": "Suspended", "closed": "Closed", "voided": "Voided",
}
ACTION_LABELS = {
    "report": "Report received", "send_verify": "Send verify task", "verify": "Verified on site",
    "verify_false": "Not confirmed on site", "file": "File", "reject": "Reject",
    "self_handle": "Self-handled", "merge": "Merge", "dispatch": "Dispatch",
    "accept": "Accept", "return": "Return", "resolve": "Resolve",
    "review_pass": "Review passed", "review_fail": "Review failed",
    "send_check": "Send check task", "check_pass": "Check passed", "check_fail": "Check failed",
    "close": "Close", "void": "Void", "close_with_parent": "Closed with parent",
    "request_extension": "Request extension", "approve_extension": "Approve extension",
    "deny_extension": "Deny extension", "request_suspension": "Request suspension",
    "approve_suspension": "Approve suspension", "deny_suspension": "Deny suspension",
    "suspend": "Suspend", "resume": "Resume", "appeal": "Appeal overdue",
    "approve_appeal": "Approve appeal", "deny_appeal": "Deny appeal", "escalate": "Escalated",
}
CHANNEL_LABELS = {"inspector": "Inspector", "public": "Public", "hotline": "Hotline",
                  "import": "Import"}
LIGHT_LABELS = {"green": "Green", "yellow": "Yellow", "red": "Red"}
# payload fields each action's form asks for (beyond a reason where the table requires one)
FORM_FIELDS = {
    "send_verify": ("inspector",), "send_check": ("inspector",), "dispatch": ("unit_code",),
    "merge": ("parent_id",), "resolve": ("reply", "photos"), "self_handle": ("reply",),
    "request_suspension": ("until",), "suspend": ("until",),
}
# the order actions are offered in on the case page (the rest follow in table order)
PRIMARY = ("file", "dispatch", "accept", "resolve", "send_verify", "send_check", "close")


def _ctx():
    return current_app.extensions["gridroute"]


def _principal():
    from gridroute.api.auth import current_principal

    return current_principal()


def centre_required(view):
    """Logged in (else the login page) with a centre role (else 403)."""
    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if _principal().role not in CENTRE_ROLES:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def remaining_text(seconds: float | None) -> str:
    """Time left as 2d 3h / 3h 20m / 45m; negative: overdue by the same."""
    from gridroute.i18n import translations

    if seconds is None:
        return "—"
    tr = translations(g.lang)
    overdue = seconds < 0
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        text = tr.gettext("%(d)sd %(h)sh") % {"d": days, "h": hours}
    elif hours:
        text = tr.gettext("%(h)sh %(m)sm") % {"h": hours, "m": mins}
    else:
        text = tr.gettext("%(m)sm") % {"m": mins}
    return tr.gettext("overdue %(t)s") % {"t": text} if overdue else text


def local_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(_ctx().tz).strftime("%m-%d %H:%M")


@bp.app_context_processor
def _labels():
    return {"state_label": lambda s: STATE_LABELS.get(getattr(s, "value", s), str(s)),
            "action_label": lambda a: ACTION_LABELS.get(a, a),
            "channel_label": lambda c: CHANNEL_LABELS.get(getattr(c, "value", c), str(c)),
            "light_label": lambda x: LIGHT_LABELS.get(x, x or ""),
            "remaining_text": remaining_text, "local_time": local_time}


def names(ctx) -> dict:
    """Display names of categories, units and streets (zh-CN or English)."""
    from gridroute.services.desk import street_names
    from gridroute.services.reference import reference_data

    en = g.lang == "en"
    data = reference_data(ctx)
    categories = {c.code: (c.minor_name_en if en and c.minor_name_en else c.minor_name_zh)
                  for c in list(data.categories.values()) + list(data.retired_categories.values())}
    units = {u.code: (u.name_en if en and u.name_en else u.name_zh) for u in data.units.values()}
    return {"categories": categories, "units": units, "streets": street_names(ctx)}


def _query_from_args(args):
    from gridroute.services.case_views import CaseQuery

    def split(name):
        return [v.strip() for part in args.getlist(name) for v in part.split(",") if v.strip()]

    return CaseQuery(states=split("state"), lights=split("light"),
                     categories=split("category"), units=split("unit"),
                     streets=split("street"), channels=split("channel"),
                     text=(args.get("q") or "").strip() or None, cursor=args.get("cursor") or None,
                     limit=PAGE_SIZE)


def _queue_context():
    from gridroute.api.errors import localized
    from gridroute.services.desk import queue_page
    from gridroute.services.errors import ServiceError

    ctx = _ctx()
    error = None
    try:
        page = queue_page(ctx, _principal(), _query_from_args(request.args))
    except ServiceError as exc:
        from gridroute.services.desk import QueuePage

        error = {"field": exc.field, "message": localized(exc.code, exc.field, exc.message)}
        page = QueuePage([], None, {}, ctx.now())
    filters = {key: request.args.get(key, "") for key in
               ("state", "light", "category", "street", "unit", "channel", "q")}
    args = {k: v for k, v in filters.items() if v}
    return {"page": page, "filters": filters, "error": error, "names": names(ctx),
            "filter_args": args, "paged": bool(request.args.get("cursor")),
            "states": list(STATE_LABELS), "lights": list(LIGHT_LABELS),
            "channels": list(CHANNEL_LABELS)}


@bp.get("/queue")
@centre_required
def queue():
    """派遣中心 case queue: filters, sorted by time left, 50 a page."""
    data = _queue_context()
    status = 400 if data["error"] else 200
    return render_template("centre/queue.html", poll_seconds=POLL_SECONDS,
                           can_dispatch=_principal().role is UserRole.DISPATCHER, **data), status


@bp.get("/queue/rows")
@centre_required
def queue_rows():
    """The queue's live part (counts and rows) for the page's refresh."""
    data = _queue_context()
    return render_template("centre/_live.html", **data), 400 if data["error"] else 200


def _case_context(ref: str) -> dict:
    from gridroute.cases.workflow import TRANSITIONS
    from gridroute.services.case_views import case_detail
    from gridroute.services.desk import inspectors_for, unit_choices
    from gridroute.services.photos import case_photos

    ctx = _ctx()
    principal = _principal()
    detail = case_detail(ctx, principal, ref)
    case = detail.case
    actions = sorted(detail.allowed_actions,
                     key=lambda a: (PRIMARY.index(a) if a in PRIMARY else len(PRIMARY),
                                    list(TRANSITIONS).index(a)))
    forms = [{"action": a, "reason": TRANSITIONS[a].reason_required,
              "fields": FORM_FIELDS.get(a, ())} for a in actions]
    needs = {f for form in forms for f in form["fields"]}
    photos = case_photos(case)
    reply_photos = []
    for event in detail.events:
        for name in (event.payload or {}).get("photos") or []:
            if isinstance(name, str) and name not in case.photos:
                reply_photos.append({"name": name, "url": f"/photos/{case.public_id}/{name}",
                                     "seq": event.seq})
    deadlines = [c for c in detail.clocks if c["state"] == "running" and c["deadline"]]
    return {
        "case": case, "detail": detail, "forms": forms, "names": names(ctx),
        "photos": photos, "reply_photos": reply_photos,
        "units": unit_choices(ctx, case.street_code) if "unit_code" in needs else ([], []),
        "inspectors": inspectors_for(ctx, case.cell_code) if "inspector" in needs else None,
        "next_clock": min(deadlines, key=lambda c: c["deadline"]) if deadlines else None,
        "tz_offset": ctx.now().astimezone(ctx.tz).strftime("%z")[:3] + ":"
                     + ctx.now().astimezone(ctx.tz).strftime("%z")[3:],
        "show_reporter": principal.role in CENTRE_ROLES,
        "back": "unit.inbox" if principal.role is UserRole.UNIT else "centre.queue",
        "state_labels_translated": translated_states(),
    }


def translated_states() -> dict[str, str]:
    from gridroute.i18n import translations

    tr = translations(g.lang)
    return {state: tr.gettext(label) for state, label in STATE_LABELS.items()}


@bp.get("/cases/<ref>")
@login_required
def case_page(ref: str):
    """One case: map, photos, timeline, routing, duplicates and the actions allowed now. A case
    outside the user's scope is 404, exactly like one that does not exist."""
    return render_template("centre/case.html", **_case_context(ref))
