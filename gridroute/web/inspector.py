"""Pages: the inspector's phone pages (上报, 我的上报, 我的任务).

Server-rendered; the JavaScript on the report form (static/js/inspector_report.js) adds the map,
the photo picker that shrinks pictures before upload, the routing preview and the offline queue.
Every page works through the same services as the API: filing goes through the one intake path
(`services.inspector_views.file_patrol_report` → `services.intake.submit_report`), tasks
through `services.tasks`.

Write endpoints answer JSON when the request asks for it (the page's fetch) and re-render the
page with the message next to the field otherwise, keeping everything the user typed.
"""
from __future__ import annotations

import functools
import uuid

from flask import (Blueprint, abort, current_app, g, jsonify, redirect, render_template,
                   request, url_for)

from gridroute.auth.model import UserRole
from gridroute.services.errors import Forbidden, ServiceError

bp = Blueprint("inspector", __name__, url_prefix="/inspector")

#: the fields of the report form, in the order the page shows them
REPORT_FIELDS = ("category", "description", "lon", "lat", "crs", "urgency", "idempotency_key")
#: case states in the order a report travels (for the counts on "My reports")
STATE_ORDER = ("reported", "verifying", "verified", "filed", "dispatched", "accepted",
               "returned", "resolved", "reviewed", "checking", "rework", "checked",
               "suspended", "closed", "rejected", "merged", "voided")
#: state → English message id of its label (zh-CN in translations/…/inspector.po)
STATE_LABELS = {
    "reported": "Reported", "verifying": "Being verified", "verified": "Verified",
    "filed": "Filed", "dispatched": "Dispatched", "accepted": "Accepted by the unit",
    "returned": "Returned by the unit", "resolved": "Handled, awaiting check",
    "reviewed": "Reply reviewed", "checking": "Being checked", "rework": "Rework",
    "checked": "Check passed", "suspended": "Suspended", "closed": "Closed",
    "rejected": "Not filed", "merged": "Merged", "voided": "Voided"}


def state_label(state) -> str:
    """The state's label in the request's language (我的上报 shows zh-CN by default)."""
    from gridroute.i18n import translations

    value = getattr(state, "value", state)
    return translations(g.lang).gettext(STATE_LABELS.get(value, value))


@bp.app_template_filter("inspector_time")
def _format_time(value) -> str:
    """A time in the city's zone as `2026-11-25 14:00` (what the phone pages show)."""
    if value is None:
        return ""
    return value.astimezone(_ctx().tz).strftime("%Y-%m-%d %H:%M")


@bp.context_processor
def _helpers():
    return {"state_label": state_label,
            "state_labels": {state: state_label(state) for state in STATE_LABELS}}


def _ctx():
    return current_app.extensions["gridroute"]


def _wants_json() -> bool:
    """The page's fetch asks for JSON; a plain form post (no JavaScript) gets HTML."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == \
        "application/json"


def inspector_page(view):
    """Logged-in inspectors only: others log in first, or get 403."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from gridroute.api.auth import current_principal

        principal = current_principal()
        if principal is None:
            if _wants_json():
                return _json_error(ServiceError("log in first", code="unauthorized",
                                                field=None), 401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if principal.role is not UserRole.INSPECTOR:
            if _wants_json():
                return _json_error(Forbidden("only inspectors use these pages", field="role",
                                             code="role_not_allowed"))
            abort(403)
        g.principal = principal
        return view(*args, **kwargs)
    return wrapper


def _check_csrf() -> None:
    from flask_wtf.csrf import validate_csrf

    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken", "")
    try:
        validate_csrf(token)
    except Exception:  # noqa: BLE001 - any CSRF failure is the same refusal
        raise Forbidden("the form expired; reload the page", field="csrf_token",
                        code="csrf") from None


def _json_error(exc: ServiceError, status: int | None = None):
    from gridroute.api.errors import service_error_response

    response = service_error_response(exc)
    if status is not None:
        response.status_code = status
    return response


def _message(exc: ServiceError) -> str:
    from gridroute.api.errors import localized

    return localized(exc.code, exc.field, exc.message)


# ------------------------------------------------------------------ report form (上报)

def _categories() -> dict[str, list[dict]]:
    from gridroute.services.catalogue import search_categories

    return {kind: search_categories(_ctx(), None, kind, 1000) for kind in ("component", "event")}


def _scope_streets(principal) -> list[str]:
    """The street codes the inspector's scope lies in (the map loads their cells)."""
    scheme = _ctx().code_scheme
    street_len = scheme.district_len + scheme.street_len
    return sorted({code[:street_len] for code in principal.scope if len(code) >= street_len})


def _render_form(values: dict | None = None, error: ServiceError | None = None,
                 status: int = 200, created=None):
    values = dict(values or {})
    values.setdefault("crs", "wgs84")
    values.setdefault("idempotency_key", "page-" + uuid.uuid4().hex)
    kind = "component" if values.get("category", "").startswith("C") else "event"
    errors = {}
    if error is not None:
        errors[error.field or ""] = _message(error)
    return render_template("inspector/report.html", values=values, errors=errors,
                           categories=_categories(), kind=values.get("kind") or kind,
                           streets=_scope_streets(g.principal), created=created,
                           tz=str(_ctx().tz),
                           max_photos=_ctx().config.photos.max_per_case,
                           max_side=min(2048, _ctx().config.photos.max_side_px)), status


@bp.get("/report")
@inspector_page
def report_form():
    return _render_form()[0]


@bp.post("/report")
@inspector_page
def report_submit():
    from gridroute.services.inspector_views import PatrolReport, file_patrol_report
    from gridroute.services.photos import Upload

    values = {name: request.form.get(name, "") for name in REPORT_FIELDS}
    values["kind"] = request.form.get("kind", "")
    try:
        _check_csrf()
        uploads = [Upload(f.read(), f.filename or "") for f in request.files.getlist("photos")
                   if f and (f.filename or f.content_length)]
        uploads = [u for u in uploads if u.data]
        result = file_patrol_report(_ctx(), g.principal, PatrolReport(
            category=values["category"].strip(), lon=values["lon"].strip(),
            lat=values["lat"].strip(), crs=values["crs"].strip() or "wgs84",
            description=values["description"], urgency=values["urgency"].strip() or None,
            idempotency_key=values["idempotency_key"]), uploads)
    except ServiceError as exc:
        if _wants_json():
            return _json_error(exc)
        return _render_form(values, exc, status=exc.status)
    case = result.case
    if _wants_json():
        return jsonify({"case": {"public_id": case.public_id, "state": case.state.value,
                                 "cell_code": case.cell_code, "unit_code": case.unit_code,
                                 "photos": list(case.photos or [])},
                        "created": result.created,
                        "likely_duplicates": result.duplicates}), (201 if result.created else 200)
    return redirect(url_for("inspector.my_reports", filed=case.public_id))


@bp.get("/sw.js")
def service_worker():
    """The offline service worker, served under /inspector/ so that it controls these pages."""
    response = current_app.send_static_file("js/offline_sw.js")
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/nearby")
@inspector_page
def nearby():
    """Likely duplicates of a report here now (JSON for the report form)."""
    from gridroute.services.inspector_views import nearby_duplicates

    try:
        found = nearby_duplicates(_ctx(), g.principal, category=request.args.get("category", ""),
                                  lon=request.args.get("lon"), lat=request.args.get("lat"),
                                  crs=request.args.get("crs") or "wgs84")
    except ServiceError as exc:
        return _json_error(exc)
    return jsonify({"likely_duplicates": found})


# ------------------------------------------------------------------ my reports (我的上报)

@bp.get("/reports")
@inspector_page
def my_reports():
    from gridroute.services.inspector_views import my_reports as find
    from gridroute.services.reference import reference_data

    state = request.args.get("state", "")
    try:
        listing = find(_ctx(), g.principal, states=[state] if state else [],
                       cursor=request.args.get("cursor") or None)
    except ServiceError as exc:
        return render_template("inspector/reports.html", listing=None, error=_message(exc),
                               state=state, states=STATE_ORDER), exc.status
    return render_template("inspector/reports.html", listing=listing, error=None, state=state,
                           states=STATE_ORDER, categories=reference_data(_ctx()).categories,
                           filed=request.args.get("filed"), tz=_ctx().tz)


# ------------------------------------------------------------------ my tasks (我的任务)

#: task kind → the two outcomes the page offers: (value, English message id)
OUTCOMES = {"verify": (("true", "True (属实)"), ("false", "Not true (不属实)")),
            "check": (("pass", "Passed (通过)"), ("fail", "Not passed (不通过)"))}


def _tasks_page(errors: dict | None = None, values: dict | None = None, notice: str | None = None,
                status: int = 200):
    from gridroute.services.tasks import my_tasks as find

    tasks = find(_ctx(), g.principal)
    done = find(_ctx(), g.principal, states=("done",), limit=10)
    replies = {t.id: _unit_reply(t.case.public_id) for t in tasks if t.kind == "check"}
    return render_template("inspector/tasks.html", tasks=tasks, done=done, errors=errors or {},
                           values=values or {}, notice=notice, outcomes=OUTCOMES,
                           replies=replies,
                           max_photos=_ctx().config.photos.max_per_case,
                           max_side=min(2048, _ctx().config.photos.max_side_px)), status


def _unit_reply(public_id: str) -> str | None:
    """The unit's latest reply (处置反馈) on the case: what a check task is to confirm."""
    from gridroute.services.case_views import case_detail

    try:
        events = case_detail(_ctx(), g.principal, public_id).events
    except ServiceError:
        return None
    replies = [e for e in events if e.action == "resolve"]
    return (replies[-1].payload or {}).get("reply") if replies else None


@bp.get("/tasks")
@inspector_page
def my_tasks():
    notice = None
    done_id = request.args.get("done", type=int)
    if done_id:
        from gridroute.services.tasks import get_task

        try:
            task = get_task(_ctx(), g.principal, done_id)
        except ServiceError:
            task = None
        if task is not None and task.state == "done":
            notice = _task_notice(task)
    return _tasks_page(notice=notice)[0]


def _task_notice(task) -> str:
    from gridroute.i18n import translations

    t = translations(g.lang).gettext
    label = dict(OUTCOMES[task.kind])["true" if task.kind == "verify" and task.outcome else
                                      "false" if task.kind == "verify" else
                                      "pass" if task.outcome else "fail"]
    return t("%(case)s: %(outcome)s, recorded.") % {"case": task.case.public_id,
                                                   "outcome": t(label)}


def _stale_message(task_id: int, exc: ServiceError) -> str:
    """A task whose case changed meanwhile says so and shows the case's state now; any other
    refusal is the service's message."""
    if exc.code not in ("stale_version", "task_closed"):
        return _message(exc)
    from gridroute.i18n import translations
    from gridroute.services.tasks import get_task

    try:
        task = get_task(_ctx(), g.principal, task_id)
    except ServiceError:
        return _message(exc)
    return translations(g.lang).gettext(
        "Someone else changed case %(case)s meanwhile; it is now: %(state)s.") % {
        "case": task.case.public_id, "state": state_label(task.case.state)}


@bp.post("/tasks/<int:task_id>")
@inspector_page
def task_complete(task_id: int):
    """The outcome of one task (属实/不属实, 通过/不通过) with a note and photos."""
    from gridroute.services.inspector_views import complete_my_task
    from gridroute.services.photos import Upload

    values = {"outcome": request.form.get("outcome", ""), "note": request.form.get("note", "")}
    version = request.form.get("version", type=int)
    try:
        _check_csrf()
        if not values["outcome"]:
            raise ServiceError("choose an outcome", field="outcome", code="missing")
        uploads = [Upload(f.read(), f.filename or "") for f in request.files.getlist("photos")
                   if f and f.filename]
        task = complete_my_task(_ctx(), g.principal, task_id, values["outcome"],
                                note=values["note"], version=version,
                                uploads=[u for u in uploads if u.data])
    except ServiceError as exc:
        if _wants_json():
            return _json_error(exc)
        error = {"field": exc.field or "", "message": _stale_message(task_id, exc), "code": exc.code}
        return _tasks_page(errors={task_id: error}, values={task_id: values},
                           status=exc.status)
    if _wants_json():
        return jsonify({"task": {"id": task.id, "state": task.state, "outcome": task.outcome,
                                 "case": task.case.public_id}})
    return redirect(url_for("inspector.my_tasks", done=task.id))
