"""领导驾驶舱: the manager dashboard's data — indicators joined to the grid's geometries.

One service feeds the dashboard page, its exports (PNG, CSV, GeoJSON, Excel), the public home
map and the bench, so they all show the same numbers:

- :func:`parse_map_query` checks the filters (period, category, level, measure, classes);
- :func:`map_view` computes the indicators of the chosen level (cell, community, street) inside
  the principal's scope and joins them to the areas' geometries, with class breaks
  (mapclassify) and colours;
- :func:`dashboard_view` adds the scope's totals, the unit and street rankings with grades and
  the weekly trend;
- :func:`map_geojson`, :func:`map_png`, :func:`map_csv`, :func:`map_xlsx` export one view;
- :func:`chronic_view` the chronic-problem cells (高发/顽症) as a layer with their cases;
- :func:`public_street_map` the city's closure rate by street for visitors (aggregates only).

The formulas are those of :mod:`gridroute.reports.indicators`; this module only chooses the
cohort, the grouping and the areas. Case density (案件密度) = filed cases / area in km².
"""
from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Mapping, Sequence

from gridroute.auth.model import Principal, UserRole
from gridroute.reports import maps as cartography
from gridroute.services.context import AppContext
from gridroute.services.errors import Forbidden, NotFound, ServiceError

log = logging.getLogger(__name__)

LEVELS = ("cell", "community", "street")
#: the level a click on an area opens (drill-down street → community → cell)
CHILD_LEVEL = {"street": "community", "community": "cell"}
MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30
TREND_WEEKS_MAX = 26


@dataclass(frozen=True)
class Measure:
    key: str
    label: str  # English message id; the page translates it
    kind: str  # "rate" | "count" | "density"
    higher_is_better: bool

    def format(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.kind == "rate":
            return f"{value * 100:.1f}%"
        if self.kind == "count":
            return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"
        return f"{value:.1f}"


MEASURES: dict[str, Measure] = {m.key: m for m in (
    Measure("closure_rate", "Closure rate", "rate", True),
    Measure("on_time_closure_rate", "On-time closure rate", "rate", True),
    Measure("overdue_open", "Overdue open cases", "count", False),
    Measure("density", "Case density (cases/km²)", "density", False),
)}

#: the columns of the area table (page, CSV, Excel, GeoJSON properties), in order
TABLE_COLUMNS = ("code", "name", "filed", "due_to_close", "closed", "closure_rate",
                 "closed_on_time", "on_time_closure_rate", "overdue_open", "area_km2", "density")
COLUMN_LABELS = {
    "code": "Code", "name": "Name", "filed": "Filed", "due_to_close": "Due to close",
    "closed": "Closed", "closure_rate": "Closure rate", "closed_on_time": "Closed on time",
    "on_time_closure_rate": "On-time closure rate", "overdue_open": "Overdue open cases",
    "area_km2": "Area (km²)", "density": "Case density (cases/km²)",
}
RATE_COLUMNS = frozenset({"closure_rate", "on_time_closure_rate"})
#: the totals shown at the top of the dashboard (region keys of reports.indicators)
TOTAL_KEYS = ("reported", "filed", "filing_rate", "accurate_filing_rate", "due_to_close",
              "closed", "closure_rate", "closed_on_time", "on_time_closure_rate",
              "public_share", "overdue_open", "rework_rate", "score", "grade")
#: English message ids of the indicator keys (the page translates them)
INDICATOR_LABELS = {
    "reported": "Reports received", "filed": "Filed", "filing_rate": "Filing rate",
    "accurate_filing_rate": "Accurate filing rate", "due_to_close": "Due to close",
    "closed": "Closed", "closure_rate": "Closure rate", "closed_on_time": "Closed on time",
    "on_time_closure_rate": "On-time closure rate", "public_share": "Public report share",
    "overdue_open": "Overdue open cases", "rework_rate": "Rework rate", "score": "Score",
    "grade": "Grade", "due_to_handle": "Due to handle", "handled": "Handled",
    "handling_rate": "Handling rate", "on_time_handling_rate": "On-time handling rate",
}
RANKING_KEYS = {
    "unit": ("due_to_handle", "handled", "handling_rate", "on_time_handling_rate",
             "rework_rate", "overdue_open", "score", "grade"),
    "street": ("filed", "closed", "closure_rate", "on_time_closure_rate", "overdue_open",
               "score", "grade"),
}


# --------------------------------------------------------------------------- the query

@dataclass(frozen=True)
class MapQuery:
    """The dashboard's filters: the period ``[start, end)`` of filing (立案), a 小类 or 大类,
    the level of the areas, the measure, the classification and the area drilled into."""

    start: date
    end: date
    level: str = "street"
    measure: str = "closure_rate"
    scheme: str = "quantiles"
    k: int = 5
    category: str | None = None
    within: str | None = None

    def args(self, **changes: Any) -> dict[str, str]:
        """The query as URL arguments (with ``changes``), defaults included."""
        q = replace(self, **changes) if changes else self
        out = {"from": q.start.isoformat(), "to": q.end.isoformat(), "level": q.level,
               "measure": q.measure, "scheme": q.scheme, "k": str(q.k)}
        if q.category:
            out["category"] = q.category
        if q.within:
            out["within"] = q.within
        return out


def _date(args: Mapping[str, str], name: str, default: date) -> date:
    text = (args.get(name) or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ServiceError(f"must be a date YYYY-MM-DD, got {text!r}", field=name) from None


def _choice(args: Mapping[str, str], name: str, choices: Sequence[str], default: str) -> str:
    text = (args.get(name) or "").strip() or default
    if text not in choices:
        raise ServiceError(f"must be one of {', '.join(choices)}, got {text!r}", field=name)
    return text


def parse_map_query(ctx: AppContext, args: Mapping[str, str], *,
                    default_level: str = "street") -> MapQuery:
    """The filters from URL arguments, each checked (ServiceError naming the argument).

    ``from``/``to``: the period of filing, ``to`` excluded (default: the last 30 days up to
    today included); ``category``: a 小类 code (``E0101``) or a 大类 (``E01``) of the catalogue;
    ``level``: cell, community or street; ``measure``: closure_rate, on_time_closure_rate,
    overdue_open or density; ``scheme``: quantiles, natural_breaks or equal_interval; ``k``:
    2–7 classes; ``within``: the street or community drilled into."""
    today = ctx.now().date()
    end = _date(args, "to", today + timedelta(days=1))
    start = _date(args, "from", end - timedelta(days=DEFAULT_PERIOD_DAYS))
    if not start < end:
        raise ServiceError(f"must be after from ({start.isoformat()}), got {end.isoformat()}",
                           field="to")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ServiceError(f"the period is {(end - start).days} days; at most "
                           f"{MAX_PERIOD_DAYS}", field="to")
    level = _choice(args, "level", LEVELS, default_level)
    measure = _choice(args, "measure", tuple(MEASURES), "closure_rate")
    scheme = _choice(args, "scheme", cartography.SCHEMES, "quantiles")
    k_text = (args.get("k") or "").strip() or "5"
    try:
        k = int(k_text)
    except ValueError:
        raise ServiceError(f"must be a whole number, got {k_text!r}", field="k") from None
    if not cartography.MIN_CLASSES <= k <= cartography.MAX_CLASSES:
        raise ServiceError(f"must be between {cartography.MIN_CLASSES} and "
                           f"{cartography.MAX_CLASSES}, got {k}", field="k")
    category = (args.get("category") or "").strip() or None
    if category is not None:
        known = category_choices(ctx)
        if category not in known["codes"]:
            raise ServiceError(f"no category or category group {category!r}",
                               field="category")
    within = (args.get("within") or "").strip() or None
    if within is not None:
        scheme_ = ctx.code_scheme
        if len(within) == _length(scheme_, "street"):
            allowed = ("community", "cell")
        elif len(within) == _length(scheme_, "community"):
            allowed = ("cell",)
        else:
            raise ServiceError(f"must be a street or community code, got {within!r}",
                               field="within")
        if level not in allowed:
            raise ServiceError(f"the areas inside {within} are {' or '.join(allowed)}, "
                               f"not {level}", field="level")
    return MapQuery(start=start, end=end, level=level, measure=measure, scheme=scheme, k=k,
                    category=category, within=within)


def _length(scheme, level: str) -> int:
    return scheme.digits(level)


def category_choices(ctx: AppContext) -> dict[str, Any]:
    """The 大类 with their 小类 for the category filter, and every accepted code."""
    from gridroute.services.reference import reference_data

    data = reference_data(ctx)
    groups: dict[str, dict[str, Any]] = {}
    for c in sorted(data.categories.values(), key=lambda c: c.code):
        group = groups.setdefault(c.major_key, {"code": c.major_key, "name": c.major_name_zh,
                                                "name_en": c.major_name_en, "kind": c.kind,
                                                "minors": []})
        group["minors"].append({"code": c.code, "name": c.minor_name_zh,
                                "name_en": c.minor_name_en})
    codes = set(groups) | {m["code"] for g in groups.values() for m in g["minors"]}
    return {"groups": list(groups.values()), "codes": codes}


# --------------------------------------------------------------------------- facts

def _aware(day: date, ctx: AppContext) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ctx.tz)


def _scope_of(principal: Principal | None) -> tuple[str, ...] | None:
    """Code prefixes a principal's figures are restricted to; None = the whole city."""
    if principal is None or principal.city_wide:
        return None
    if principal.role is UserRole.UNIT:
        raise Forbidden("a unit operator has no dashboard", field="role")
    return tuple(principal.scope)


def load_facts(ctx: AppContext, query: MapQuery, scope: tuple[str, ...] | None,
               key_columns: tuple[str, ...] | None = None):
    """The region and unit facts of the cases reported or filed in the period (of the
    category, inside the scope), read now (:func:`gridroute.services.kpi.period_facts`). One
    load serves every grouping of the page (areas, units, streets, weeks)."""
    from gridroute.services import kpi

    return kpi.period_facts(ctx, start=_aware(query.start, ctx), end=_aware(query.end, ctx),
                            as_of=ctx.now(), category=query.category, scope=scope,
                            key_columns=key_columns or kpi.GEO_KEY_COLUMNS)


def _frame(ctx: AppContext, facts, query: MapQuery, by: str, *, start: date | None = None,
           end: date | None = None, one_region: bool = False):
    """The indicators table (:func:`gridroute.reports.indicators.compute_frame`'s: one row
    per group, NaN for an undefined rate) of one grouping over the period or a part of it,
    as ``gridroute kpi`` computes it; ``one_region``: the scope's totals in one row."""
    from gridroute.services import kpi

    return kpi.facts_frame(ctx, facts, by=by, start=_aware(start or query.start, ctx),
                           end=_aware(end or query.end, ctx), one_region=one_region)


def _compute(ctx: AppContext, facts, query: MapQuery, by: str, **kw) -> list[dict[str, Any]]:
    """The same as dicts of plain values (None = undefined rate)."""
    from gridroute.reports.indicators import rows_of

    return rows_of(_frame(ctx, facts, query, by, **kw))


def _chronic_cells(ctx: AppContext, query: MapQuery, scope) -> list[dict[str, Any]]:
    """The chronic spots of the ``chronic_days`` before the period's end (config)."""
    from gridroute.services import kpi

    reader = None if not scope else Principal(name="dashboard", role=UserRole.MANAGER,
                                              scope=tuple(scope))
    as_of = min(_aware(query.end, ctx), ctx.now())
    return kpi.chronic_report(ctx, reader, as_of=as_of, category=query.category)["spots"]


# --------------------------------------------------------------------------- areas

def areas(ctx: AppContext, level: str):
    """The areas of a level (GeoDataFrame in the working CRS): code, name, parent codes,
    area_km2, geometry — built once per grid version and kept with the grid."""
    from gridroute.services.grid_views import cell_frame

    version, cells = cell_frame(ctx)
    key = f"maps-areas:{version.id}:{level}"
    cached = ctx.grid_cache.get(key)
    if cached is not None:
        return cached
    import shapely

    if level == "cell":
        frame = cells[["cell_code", "community_code", "street_code", "district_code",
                       "geometry"]].rename(columns={"cell_code": "code"}).copy()
        frame["name"] = frame["code"]
    elif level == "community":
        frame = cells.dissolve(by="community_code", as_index=False, aggfunc="first")[
            ["community_code", "community_name", "street_code", "district_code", "geometry"]]
        frame = frame.rename(columns={"community_code": "code", "community_name": "name"})
    elif level == "street":
        frame = cells.dissolve(by="street_code", as_index=False, aggfunc="first")[
            ["street_code", "street_name", "district_code", "geometry"]]
        frame = frame.rename(columns={"street_code": "code", "street_name": "name"})
    else:
        raise ServiceError(f"must be one of {', '.join(LEVELS)}", field="level")
    frame["name"] = [n or c for n, c in zip(frame["name"], frame["code"])]
    frame = frame.sort_values("code").reset_index(drop=True)
    frame["area_km2"] = (frame.geometry.area / 1e6).round(4)
    ctx.grid_cache[key] = frame
    return frame


def displays(ctx: AppContext, level: str) -> dict[str, dict]:
    """code → the area's outline for web maps: simplified (1 m), WGS84, GeoJSON geometry
    with 6 decimals (~0.1 m). Built on first use per grid version (the PNG never needs it)."""
    import shapely

    from gridroute.services.grid_views import cell_frame

    version, _cells = cell_frame(ctx)
    key = f"maps-displays:{version.id}:{level}"
    cached = ctx.grid_cache.get(key)
    if cached is not None:
        return cached
    frame = areas(ctx, level)
    outline = frame.geometry.simplify(1.0, preserve_topology=True).to_crs("EPSG:4326")
    outline = shapely.set_precision(outline.values, 1e-6)
    out = dict(zip(frame["code"], (json.loads(g) for g in shapely.to_geojson(outline))))
    ctx.grid_cache[key] = out
    return out


# --------------------------------------------------------------------------- the map view

@dataclass
class MapView:
    """One choropleth: the areas with their values, classes and colours, and the legend."""

    query: MapQuery
    measure: Measure
    columns: dict[str, list]  # TABLE_COLUMNS + value, class, colour, child; one per area
    breaks: list[float]
    colours: list[str]
    legend: list[cartography.LegendEntry]
    geometries: Any  # shapely array in the working CRS, aligned with rows
    ctx: AppContext | None = field(default=None, repr=False)
    within_name: str | None = None
    path: list[dict[str, str]] = field(default_factory=list)  # drill-down breadcrumbs

    _rows: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One dict per area (built on first use: the PNG needs only the colours)."""
        if self._rows is None:
            keys = list(self.columns)
            self._rows = [dict(zip(keys, values))
                          for values in zip(*(self.columns[k] for k in keys))]
        return self._rows

    @property
    def values(self) -> list[float | None]:
        return self.columns["value"]


def map_view(ctx: AppContext, principal: Principal | None, query: MapQuery, *,
             facts=None, no_data_label: str = "no cases due") -> MapView:
    """The choropleth of ``query`` inside the principal's scope (None: the whole city)."""
    scope = _scope_of(principal)
    if query.within and scope and not any(query.within.startswith(p) or p.startswith(query.within)
                                          for p in scope):
        raise NotFound(f"no area {query.within!r} in your scope", field="within")
    frame = areas(ctx, query.level)
    keep = [True] * len(frame)
    codes = frame["code"].tolist()
    if scope:
        keep = [any(c.startswith(p) for p in scope) for c in codes]
    if query.within:
        keep = [k and c.startswith(query.within) for k, c in zip(keep, codes)]
    frame = frame[keep].reset_index(drop=True)
    if query.within and frame.empty:
        raise NotFound(f"no area {query.within!r}", field="within")
    if facts is None:
        facts = load_facts(ctx, query, scope, key_columns=(f"{query.level}_code",))
    indicators = _frame(ctx, facts, query, query.level)
    view = build_view(query, frame, indicators, no_data_label=no_data_label, ctx=ctx)
    if query.within:
        view.path = _breadcrumbs(ctx, query.within)
        view.within_name = view.path[-1]["name"] if view.path else query.within
    return view


def build_view(query: MapQuery, frame, indicators, *, no_data_label: str = "no cases due",
               ctx: AppContext | None = None) -> MapView:
    """Join the indicators (a :func:`gridroute.reports.indicators.compute_frame` table: one
    row per area code in ``group``) to the areas of ``frame`` (code, name, area_km2,
    geometry), then classify the measure. An area without a row has no case: zero counts, no
    rate."""
    import numpy as np
    import pandas as pd

    measure = MEASURES[query.measure]
    codes = frame["code"].tolist()
    wanted = [k for k in TABLE_COLUMNS if k not in ("code", "name", "area_km2", "density")]
    if len(indicators):
        joined = indicators.set_index("group").reindex(frame["code"].to_numpy())
    else:
        joined = pd.DataFrame(index=frame["code"].to_numpy(), columns=wanted, dtype="float64")
    columns: dict[str, list] = {"code": codes, "name": frame["name"].tolist()}
    for key in wanted:
        values = joined[key].to_numpy(dtype="float64")
        if key in RATE_COLUMNS:
            columns[key] = np.where(np.isnan(values), None, values).tolist()
        else:
            columns[key] = np.nan_to_num(values).astype("int64").tolist()
    area = frame["area_km2"].to_numpy(dtype="float64")
    columns["area_km2"] = area.tolist()
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.round(np.asarray(columns["filed"], dtype="float64") / area, 2)
    columns["density"] = np.where(area > 0, density, None).tolist()
    columns["value"] = columns[query.measure]
    columns["child"] = [CHILD_LEVEL.get(query.level)] * len(codes)
    values = columns["value"]
    breaks = cartography.class_breaks(values, query.scheme, query.k)
    classes = cartography.classify(values, breaks)
    colours = cartography.palette(len(breaks), higher_is_better=measure.higher_is_better)
    columns["class"] = classes
    columns["colour"] = [cartography.NO_DATA_COLOUR if c is None else colours[c]
                         for c in classes]
    legend = cartography.legend_entries(breaks, classes, colours, measure.format, no_data_label)
    return MapView(query=query, measure=measure, columns=columns, breaks=breaks,
                   colours=colours, legend=legend, geometries=frame.geometry.values, ctx=ctx)


def area_name(ctx: AppContext, code: str) -> str:
    """The grid's name of a district, street or community code (the code when unnamed)."""
    from gridroute.services.grid_views import cell_frame

    _version, cells = cell_frame(ctx)
    for column in ("district", "street", "community"):
        hit = cells[cells[f"{column}_code"] == code]
        if not hit.empty:
            return hit[f"{column}_name"].iloc[0] or code
    return code


def scope_label(ctx: AppContext, principal: Principal | None) -> str | None:
    """The principal's scope by name ("黄浦区", "外滩街道, 南京东路街道"); None = the city."""
    scope = _scope_of(principal)
    if not scope:
        return None
    return ", ".join(area_name(ctx, code) for code in scope)


def _breadcrumbs(ctx: AppContext, within: str) -> list[dict[str, str]]:
    """The street (and community) drilled into, outermost first."""
    streets = areas(ctx, "street")
    out = []
    street_len = _length(ctx.code_scheme, "street")
    street = streets[streets["code"] == within[:street_len]]
    if not street.empty:
        out.append({"level": "street", "code": within[:street_len],
                    "name": street["name"].iloc[0]})
    if len(within) > street_len:
        communities = areas(ctx, "community")
        hit = communities[communities["code"] == within]
        if not hit.empty:
            out.append({"level": "community", "code": within, "name": hit["name"].iloc[0]})
    return out


# --------------------------------------------------------------------------- the dashboard

@dataclass
class DashboardView:
    map: MapView
    totals: dict[str, Any]
    units: list[dict[str, Any]]
    streets: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    categories: dict[str, Any]
    scope: tuple[str, ...] | None


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best score first (no score last), then by code; rank numbers 1, 2, …"""
    rows = sorted(rows, key=lambda r: (r.get("score") is None, -(r.get("score") or 0),
                                       str(r.get("group"))))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def weeks_of(start: date, end: date) -> list[tuple[date, date]]:
    """Monday-to-Monday weeks touching ``[start, end)``, each clipped to the period; at most
    the last TREND_WEEKS_MAX."""
    monday = start - timedelta(days=start.weekday())
    out = []
    while monday < end:
        out.append((max(monday, start), min(monday + timedelta(days=7), end)))
        monday += timedelta(days=7)
    return out[-TREND_WEEKS_MAX:]


def dashboard_view(ctx: AppContext, principal: Principal | None, query: MapQuery,
                   **map_options: Any) -> DashboardView:
    """Everything the manager dashboard shows for these filters, inside the scope."""
    from gridroute.services.reference import reference_data

    scope = _scope_of(principal)
    facts = load_facts(ctx, query, scope)
    view = map_view(ctx, principal, query, facts=facts, **map_options)
    totals_rows = _compute(ctx, facts, query, "district", one_region=True)
    totals = totals_rows[0] if totals_rows else {}
    ref = reference_data(ctx)
    units = _ranked(_compute(ctx, facts, query, "unit"))
    for r in units:
        unit = ref.units.get(r["group"])
        r["name"] = unit.name_zh if unit else r["group"]
    streets_frame = areas(ctx, "street")
    names = dict(zip(streets_frame["code"], streets_frame["name"]))
    streets = _ranked([r for r in _compute(ctx, facts, query, "street")
                       if not scope or any(str(r["group"]).startswith(p) for p in scope)])
    for r in streets:
        r["name"] = names.get(r["group"], r["group"])
    trend = []
    for a, b in weeks_of(query.start, query.end):
        rows = _compute(ctx, facts, query, "district", start=a, end=b, one_region=True)
        row = rows[0] if rows else {}
        trend.append({"start": a, "end": b, "filed": int(row.get("filed") or 0),
                      "closed": int(row.get("closed") or 0),
                      "closure_rate": row.get("closure_rate"),
                      "on_time_closure_rate": row.get("on_time_closure_rate")})
    return DashboardView(map=view, totals=totals, units=units, streets=streets, trend=trend,
                         categories=category_choices(ctx), scope=scope)


def trend_svg(trend: Sequence[Mapping[str, Any]], *, title: str, closure_label: str,
              on_time_label: str, width: int = 640, height: int = 240) -> str:
    """The weekly trend as an inline SVG line chart (no script needed): closure rate and
    on-time closure rate per week, 0–100 %. Each point carries a <title> with its value."""
    from markupsafe import escape

    left, right, top, bottom = 44, 12, 14, 46
    w, h = width - left - right, height - top - bottom
    n = len(trend)

    def x(i: int) -> float:
        return left + (w * (i + 0.5) / n if n else 0)

    def y(v: float) -> float:
        return top + h * (1 - v)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="trend-title" class="trend">'
             f'<title id="trend-title">{escape(title)}</title>']
    for v in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     f'stroke="#d5dbe1"/><text x="{left - 6}" y="{y(v) + 4:.1f}" '
                     f'text-anchor="end" font-size="11" fill="#44505c">{int(v * 100)}%</text>')
    for key, colour, label, dash in (("closure_rate", "#15436b", closure_label, ""),
                                     ("on_time_closure_rate", "#b35806", on_time_label,
                                      ' stroke-dasharray="5 3"')):
        points = [(x(i), y(r[key])) for i, r in enumerate(trend) if r.get(key) is not None]
        if len(points) > 1:
            d = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} '
                         f'points="{d}"/>')
        for i, r in enumerate(trend):
            if r.get(key) is None:
                continue
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(r[key]):.1f}" r="3.5" fill="{colour}">'
                         f'<title>{escape(label)} {r["start"].isoformat()}: '
                         f'{r[key] * 100:.1f}%</title></circle>')
    for i, r in enumerate(trend):
        if n <= 10 or i % max(1, n // 8) == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{top + h + 16}" text-anchor="middle" '
                         f'font-size="11" fill="#44505c">{r["start"].strftime("%m-%d")}</text>')
    parts.append(f'<g font-size="11"><rect x="{left}" y="{height - 9}" width="14" height="3" '
                 f'fill="#15436b"/><text x="{left + 18}" y="{height - 4}">{escape(closure_label)}'
                 f'</text><rect x="{left + 170}" y="{height - 9}" width="14" height="3" '
                 f'fill="#b35806"/><text x="{left + 188}" y="{height - 4}">'
                 f'{escape(on_time_label)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- exports

def map_geojson(view: MapView) -> dict[str, Any]:
    """The view as a GeoJSON FeatureCollection (WGS84): the table's columns, the value, its
    class and colour per area, and the legend."""
    features = []
    outlines = displays(view.ctx, view.query.level)
    for row in view.rows:
        geometry = outlines.get(row["code"])
        props = {k: row[k] for k in TABLE_COLUMNS}
        props.update(value=row["value"], value_text=view.measure.format(row["value"]),
                     **{"class": row["class"], "colour": row["colour"], "child": row["child"]})
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {"type": "FeatureCollection", "features": features,
            "query": view.query.args(), "measure": view.measure.key,
            "breaks": view.breaks, "colours": view.colours,
            "legend": [{"colour": e.colour, "label": e.label, "count": e.count}
                       for e in view.legend]}


def table_rows(view: MapView) -> list[list[Any]]:
    """The area table as rows of values in TABLE_COLUMNS order (what CSV and Excel hold)."""
    return [[r[k] for k in TABLE_COLUMNS] for r in view.rows]


def map_csv(view: MapView) -> str:
    """The area table as CSV (UTF-8 with a byte-order mark, so Excel reads the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TABLE_COLUMNS)
    for row in table_rows(view):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def map_xlsx(view: MapView, *, title: str, subtitle: str,
             labels: Callable[[str], str] = lambda s: s) -> bytes:
    """The area table as an Excel workbook: sheet 1 the table (header row 1, one area per
    row from row 2, rates as numbers formatted as percentages), sheet 2 the title, period,
    filters and class breaks."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append([labels(COLUMN_LABELS[k]) for k in TABLE_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in table_rows(view):
        ws.append(row)
    for i, key in enumerate(TABLE_COLUMNS, 1):
        if key in RATE_COLUMNS:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = "0.0%"
    ws.freeze_panes = "A2"
    for i, width in enumerate((18, 22, 8, 10, 8, 10, 12, 12, 10, 10, 12), 1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = width
    about = wb.create_sheet("about")
    about.append([title])
    about["A1"].font = Font(bold=True, size=14)
    about.append([subtitle])
    for key, value in view.query.args().items():
        about.append([key, value])
    about.append([])
    about.append([labels("Class"), labels("Upper bound"), labels("Areas")])
    for entry, high in zip(view.legend, view.breaks + [None]):
        about.append([entry.label, high, entry.count])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def cjk_fonts() -> list[str]:
    """Installed fonts that hold Chinese (for the PNG's title and legend)."""
    from matplotlib import font_manager

    wanted = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
              "WenQuanYi Zen Hei", "AR PL UMing CN", "SimHei", "Microsoft YaHei")
    have = {f.name for f in font_manager.fontManager.ttflist}
    found = [name for name in wanted if name in have]
    if not found and not _WARNED:
        _WARNED.append(True)
        log.warning("no font with Chinese glyphs is installed (e.g. Debian fonts-wqy-microhei): "
                    "Chinese text in exported PNG maps shows as boxes")
    return found


_WARNED: list[bool] = []


def map_png(view: MapView, *, title: str, subtitle: str, legend_title: str,
            width_px: int = 1600, height_px: int = 1200) -> bytes:
    """The view as a PNG: title, period, legend with the class breaks and a scale bar."""
    return cartography.render_png(
        view.geometries, view.columns["colour"], title=title, subtitle=subtitle,
        legend=view.legend, legend_title=legend_title, width_px=width_px, height_px=height_px,
        font_family=cjk_fonts())


# --------------------------------------------------------------------------- chronic problems

def chronic_view(ctx: AppContext, principal: Principal | None, query: MapQuery
                 ) -> dict[str, Any]:
    """高发/顽症: the cells where one 小类 recurred at least N times in D days (config
    ``[reports]``), inside the scope, each with its cases — as GeoJSON (WGS84) for the map
    layer and a list for the page."""
    scope = _scope_of(principal)
    spots = _chronic_cells(ctx, query, scope)
    from gridroute.services.reference import reference_data

    categories = reference_data(ctx).categories
    geometry = displays(ctx, "cell")
    features = []
    for spot in spots:
        code = spot["cell_code"]
        if scope and not any(code.startswith(p) for p in scope):
            continue
        category = categories.get(spot["category_code"])
        props = dict(spot, category_name=category.minor_name_zh if category else "")
        features.append({"type": "Feature", "geometry": geometry.get(code),
                         "properties": props})
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------- the public map

def public_street_map(ctx: AppContext, *, days: int = DEFAULT_PERIOD_DAYS,
                      no_data_label: str = "no cases due") -> MapView:
    """The whole city's closure rate by street over the last ``days`` days, for visitors who
    have not logged in: counts and rates per street only (no case, no person)."""
    today = ctx.now().date()
    query = MapQuery(start=today + timedelta(days=1 - days), end=today + timedelta(days=1),
                     level="street", measure="closure_rate")
    return map_view(ctx, None, query, no_data_label=no_data_label)
