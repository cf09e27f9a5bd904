"""Browser pages: the home page that sends each role to its own page, and the loaded grid.

The other pages live in their own blueprints: `inspector` (the phone: report, my reports, my
tasks), `centre` (the dispatch centre's queue and case page), `unit` (a unit's inbox) and
`dashboard` (managers). `nav_links` builds the header's links from the pages that exist.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from gridroute.auth.model import Principal, UserRole
from gridroute.services.grids import grid_overview

bp = Blueprint("pages", __name__)

# (endpoint, message id, roles that see it); an endpoint that is not registered is left out
NAV = (
    ("inspector.report_form", "Report", {UserRole.INSPECTOR}),
    ("inspector.my_reports", "My reports", {UserRole.INSPECTOR}),
    ("inspector.my_tasks", "My tasks", {UserRole.INSPECTOR}),
    ("centre.queue", "Queue", {UserRole.ACCEPTOR, UserRole.SHIFT_LEAD, UserRole.DISPATCHER,
                               UserRole.MANAGER, UserRole.ADMIN}),
    ("unit.inbox", "Inbox", {UserRole.UNIT}),
    ("dashboard.overview", "Dashboard", {UserRole.MANAGER, UserRole.SHIFT_LEAD, UserRole.ADMIN}),
    ("pages.grid_page", "Grid", None),
)

# the page each role lands on after logging in
HOME = {
    UserRole.INSPECTOR: "inspector.report_form",
    UserRole.ACCEPTOR: "centre.queue",
    UserRole.SHIFT_LEAD: "centre.queue",
    UserRole.DISPATCHER: "centre.queue",
    UserRole.UNIT: "unit.inbox",
    UserRole.MANAGER: "dashboard.overview",
    UserRole.ADMIN: "centre.queue",
}


def nav_links(principal: Principal | None) -> list[tuple[str, str]]:
    """(url, message id) of the header links this user may follow."""
    links = []
    for endpoint, label, roles in NAV:
        if endpoint not in current_app.view_functions:
            continue
        if roles is not None and (principal is None or principal.role not in roles):
            continue
        links.append((url_for(endpoint), label))
    return links


def lang_url(language: str) -> str:
    """This page again in another language, keeping its other query arguments."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [language]
    return url_for(request.endpoint or "pages.home", **(request.view_args or {}), **args)


@bp.app_context_processor
def _page_helpers():
    web = current_app.extensions["gridroute"].config.web
    return {"nav_links": nav_links, "lang_url": lang_url, "base_map_url": web.base_map_url,
            "base_map_attribution": web.base_map_attribution}


@bp.get("/")
def home():
    from gridroute.api.auth import current_principal

    principal = current_principal()
    if principal is None:
        return newcomer_home()
    endpoint = HOME.get(principal.role, "pages.grid_page")
    if endpoint not in current_app.view_functions:
        endpoint = "pages.grid_page"
    return redirect(url_for(endpoint))


def newcomer_home():
    """A visitor who has not logged in sees the city's closure rate by street over the last
    30 days (aggregates only: no case, no person) and the way to log in."""
    from gridroute.services.errors import ServiceError
    from gridroute.services.maps import public_street_map
    from gridroute.web.dashboard import _, period_text

    try:
        view = public_street_map(current_app.extensions["gridroute"],
                                 no_data_label=_("no cases due"))
    except ServiceError:  # no grid loaded yet: the grid page says how to load one
        return grid_page()
    return render_template("home.html", view=view, period=period_text(view.query),
                           lang=g.lang)


@bp.get("/grid")
def grid_page():
    overview = grid_overview(current_app.extensions["gridroute"])
    return render_template("grid.html", overview=overview, lang=g.lang)
