"""Pages: a responsible unit's inbox (处置单位): the unit's cases with deadlines and lights.
Each case opens on the shared case page (`centre.case_page`), which offers the unit's actions
(accept, return, resolve, request extension or suspension); the reply with photos is posted
here (multipart) and answers JSON in the API's error format."""
from __future__ import annotations

import functools

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import login_required

from gridroute.auth.model import UserRole

bp = Blueprint("unit", __name__)

# what a unit works on, for the inbox's default view ("all" shows every case of the unit)
OPEN_FOR_UNIT = ("dispatched", "accepted", "rework", "suspended", "returned", "resolved",
                 "checking")


def _ctx():
    return current_app.extensions["gridroute"]


def _principal():
    from gridroute.api.auth import current_principal

    return current_principal()


def unit_required(view):
    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if _principal().role is not UserRole.UNIT:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


@bp.get("/inbox")
@unit_required
def inbox():
    """The unit's cases sorted by time left: open ones by default, ?state=all for every one."""
    from gridroute.api.errors import localized
    from gridroute.services.case_views import CaseQuery
    from gridroute.services.desk import QueuePage, queue_page
    from gridroute.services.errors import ServiceError
    from gridroute.web.centre import PAGE_SIZE, STATE_LABELS, names

    ctx = _ctx()
    chosen = request.args.get("state", "")
    states = [] if chosen == "all" else [chosen] if chosen else list(OPEN_FOR_UNIT)
    error = None
    try:
        page = queue_page(ctx, _principal(), CaseQuery(
            states=states, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None))
    except ServiceError as exc:
        error = localized(exc.code, exc.field, exc.message)
        page = QueuePage([], None, {}, ctx.now())
    return render_template("unit/inbox.html", page=page, names=names(ctx), chosen=chosen,
                           states=list(STATE_LABELS), error=error,
                           unit_name=names(ctx)["units"].get(_principal().unit_code,
                                                             _principal().unit_code))


@bp.post("/inbox/<ref>/resolve")
@login_required
def resolve(ref: str):
    """处置反馈 with photos (multipart: reply, photos, version), JSON like the API."""
    from flask_wtf.csrf import validate_csrf

    from gridroute.api.errors import error_response, service_error_response
    from gridroute.api.rest import _case_out, _event_out
    from gridroute.services.desk import resolve_with_photos
    from gridroute.services.errors import ServiceError
    from gridroute.services.photos import Upload

    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except Exception:  # noqa: BLE001 - any CSRF failure is the same refusal
        return error_response(403, "csrf", "X-CSRFToken",
                              "the session's CSRF token must be sent in X-CSRFToken")
    from flask import g

    g.principal = _principal()
    version = request.form.get("version", "")
    uploads = [Upload(f.read(), f.filename or "") for f in request.files.getlist("photos")
               if f and f.filename]
    try:
        result = resolve_with_photos(_ctx(), _principal(), ref,
                                     reply=request.form.get("reply", ""), uploads=uploads,
                                     expected_version=int(version) if version.isdigit() else None)
    except ServiceError as exc:
        return service_error_response(exc)
    return {"case": _case_out(result.case).model_dump(mode="json"),
            "events": [_event_out(e).model_dump(mode="json") for e in result.events]}
