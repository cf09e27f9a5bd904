"""Pages: managers (领导驾驶舱): indicators, rankings and closure-rate maps.

- ``GET /dashboard`` — the scope's indicators, unit and street rankings with grades, the weekly
  trend, the choropleth with its legend and area table, the chronic-problem cells;
- ``GET /dashboard/map.geojson`` — the choropleth's areas for the page's Leaflet map;
- ``GET /dashboard/export.<png|csv|geojson|xlsx>`` — the same view as a file;
- ``GET /dashboard/chronic.geojson`` — the chronic-problem layer;
- ``GET /public/streets.geojson`` — the city's closure rate by street for the home page of a
  visitor who has not logged in (aggregates only).

Every view takes the same filters (services.maps.parse_map_query); a bad one is 400 naming the
argument. A manager sees only the streets or district of their scope.
"""
from __future__ import annotations

from datetime import timedelta

from flask import (Blueprint, Response, current_app, g, jsonify, redirect, render_template,
                   request, url_for)

from gridroute.auth.model import UserRole
from gridroute.i18n import translations
from gridroute.services import maps
from gridroute.services.errors import Forbidden, ServiceError, Unauthorized

bp = Blueprint("dashboard", __name__)

ALLOWED = (UserRole.MANAGER, UserRole.SHIFT_LEAD, UserRole.ADMIN)
EXPORTS = {"png": "image/png", "csv": "text/csv; charset=utf-8",
           "geojson": "application/geo+json",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
LEVEL_LABELS = {"cell": "by cell", "community": "by community", "street": "by street"}


def _ctx():
    return current_app.extensions["gridroute"]


def _(message: str) -> str:
    return translations(g.lang).gettext(message)


def _principal():
    """The manager looking; Unauthorized / Forbidden otherwise."""
    from gridroute.api.auth import current_principal

    principal = current_principal()
    if principal is None:
        raise Unauthorized("log in to see the dashboard")
    if principal.role not in ALLOWED:
        raise Forbidden(f"role {principal.role.value} has no dashboard; allowed: "
                        + ", ".join(r.value for r in ALLOWED), field="role")
    return principal


def _json_error(exc: ServiceError):
    from gridroute.api.errors import localized

    body = exc.to_dict()
    body["message"] = localized(exc.code, exc.field, exc.message, g.lang)
    body["status"] = exc.status
    response = jsonify({"error": body})
    response.status_code = exc.status
    return response


def period_text(query: maps.MapQuery) -> str:
    """The period as people read it: first and last day, both included."""
    last = query.end - timedelta(days=1)
    return f"{query.start.isoformat()} – {last.isoformat()}"


def view_title(view: maps.MapView, principal) -> str:
    where = view.within_name or maps.scope_label(_ctx(), principal) or _("whole city")
    return f"{_(view.measure.label)} · {_(LEVEL_LABELS[view.query.level])} · {where}"


def view_subtitle(view: maps.MapView) -> str:
    parts = [_("Filed") + " " + period_text(view.query)]
    if view.query.category:
        parts.append(_("Category") + " " + view.query.category)
    parts.append(_(maps_scheme_label(view.query.scheme)))
    return " · ".join(parts)


def maps_scheme_label(scheme: str) -> str:
    return {"quantiles": "Quantiles", "natural_breaks": "Natural breaks",
            "equal_interval": "Equal interval"}[scheme]


@bp.get("/dashboard")
def overview():
    try:
        principal = _principal()
    except Unauthorized:
        return redirect(url_for("auth.login", next=request.full_path))
    except Forbidden as exc:
        return render_template("dashboard/forbidden.html", error=exc.message), 403
    ctx = _ctx()
    categories = maps.category_choices(ctx)
    try:
        query = maps.parse_map_query(ctx, request.args)
        data = maps.dashboard_view(ctx, principal, query, no_data_label=_("no cases due"))
        chronic = maps.chronic_view(ctx, principal, query)
    except ServiceError as exc:
        from gridroute.api.errors import localized

        return render_template(
            "dashboard/overview.html", data=None, query=None, args=request.args,
            categories=categories, error=localized(exc.code, exc.field, exc.message, g.lang),
            error_field=exc.field, measures=maps.MEASURES, levels=maps.LEVELS,
            schemes=maps.cartography.SCHEMES), exc.status
    trend = maps.trend_svg(data.trend, title=_("Weekly closure rate"),
                           closure_label=_("Closure rate"),
                           on_time_label=_("On-time closure rate"))
    return render_template(
        "dashboard/overview.html", data=data, query=query, args=query.args(),
        categories=categories, error=None, error_field=None, measures=maps.MEASURES,
        levels=maps.LEVELS, schemes=maps.cartography.SCHEMES, trend_svg=trend,
        chronic=chronic, period=period_text(query), title=view_title(data.map, principal),
        subtitle=view_subtitle(data.map), principal=principal,
        scope_name=maps.scope_label(ctx, principal),
        columns=maps.TABLE_COLUMNS, column_labels=maps.COLUMN_LABELS,
        rate_columns=maps.RATE_COLUMNS, ranking_keys=maps.RANKING_KEYS,
        total_keys=maps.TOTAL_KEYS, scheme_label=maps_scheme_label,
        labels=maps.INDICATOR_LABELS)


def _view():
    principal = _principal()
    ctx = _ctx()
    query = maps.parse_map_query(ctx, request.args)
    return principal, maps.map_view(ctx, principal, query, no_data_label=_("no cases due"))


@bp.get("/dashboard/map.geojson")
def map_data():
    try:
        _principal_, view = _view()
    except ServiceError as exc:
        return _json_error(exc)
    return _geojson_response(maps.map_geojson(view))


def _geojson_response(data: dict, filename: str | None = None) -> Response:
    response = current_app.response_class(
        current_app.json.dumps(data), mimetype=EXPORTS["geojson"])
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_name(view: maps.MapView, ext: str) -> str:
    q = view.query
    parts = ["gridroute", q.measure, q.level, q.start.isoformat(), q.end.isoformat()]
    if q.within:
        parts.append(q.within)
    if q.category:
        parts.append(q.category)
    return "_".join(parts) + f".{ext}"


@bp.get("/dashboard/export.<fmt>")
def export(fmt: str):
    if fmt not in EXPORTS:
        return _json_error(ServiceError(f"must be one of {', '.join(EXPORTS)}, got {fmt!r}",
                                        field="format"))
    try:
        principal, view = _view()
    except ServiceError as exc:
        return _json_error(exc)
    name = export_name(view, fmt)
    if fmt == "geojson":
        return _geojson_response(maps.map_geojson(view), name)
    if fmt == "csv":
        body: bytes | str = maps.map_csv(view)
    elif fmt == "xlsx":
        body = maps.map_xlsx(view, title=view_title(view, principal),
                             subtitle=view_subtitle(view), labels=_)
    else:
        body = maps.map_png(view, title=view_title(view, principal),
                            subtitle=view_subtitle(view), legend_title=_(view.measure.label))
    response = Response(body, mimetype=EXPORTS[fmt].split(";")[0])
    response.headers["Content-Type"] = EXPORTS[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/dashboard/chronic.geojson")
def chronic_data():
    try:
        principal = _principal()
        ctx = _ctx()
        query = maps.parse_map_query(ctx, request.args)
        data = maps.chronic_view(ctx, principal, query)
    except ServiceError as exc:
        return _json_error(exc)
    for feature in data["features"]:
        props = feature["properties"]
        props["links"] = [case_url(ref) for ref in props.get("cases", [])]
    return _geojson_response(data)


def case_url(ref: str) -> str:
    """The centre's case page (pages-centre: /cases/<ref>)."""
    return f"/cases/{ref}"


@bp.get("/public/streets.geojson")
def public_streets():
    """The home page's map: closure rate by street over the last 30 days, whole city."""
    try:
        view = maps.public_street_map(_ctx(), no_data_label=_("no cases due"))
    except ServiceError as exc:
        return _json_error(exc)
    data = maps.map_geojson(view)
    for feature in data["features"]:  # aggregates only, and only what the home map shows
        props = feature["properties"]
        feature["properties"] = {k: props[k] for k in (
            "code", "name", "filed", "due_to_close", "closed", "closure_rate", "value",
            "value_text", "class", "colour")}
    data["query"] = {k: v for k, v in data["query"].items() if k in ("from", "to")}
    return _geojson_response(data)
