"""Manager dashboard (issue 13 points 3, 4, 6, 7): the maps service and its pages through the
Flask test client — values joined to the areas, class breaks, scope, exports' content types and
columns, bad filters → 400 naming the argument, the newcomer's home map.

The history is made through the intake and workflow services: three cases filed on Mon
2026-11-23 in two streets of the sample grid, one of them closed; the clock reads Wed
2026-11-25 09:00."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridroute.app import create_app
from gridroute.reports import maps as cartography
from gridroute.services import maps
from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.users import add_user
from gridroute.services.workflow import perform

pytestmark = pytest.mark.db

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
STREET_A, STREET_B = "310101001", "310101002"
PERIOD = "from=2026-11-01&to=2026-11-26"


# ------------------------------------------------------------------ history through services

def point_in(ctx, street: str) -> tuple[float, float, str]:
    """(lon, lat) inside the street's first cell, and that cell's community."""
    from gridroute.services.grid_views import cell_frame

    _, cells = cell_frame(ctx)
    row = cells[cells.street_code == street].sort_values("cell_code").iloc[0]
    p = cells[cells.cell_code == row.cell_code].to_crs("EPSG:4326").geometry.iloc[0]
    p = p.representative_point()
    return p.x, p.y, row.community_code


def file_and_dispatch(ctx, street: str, at: datetime, category: str = "E0101") -> str:
    lon, lat, _community = point_in(ctx, street)
    case = submit_report(ctx, ReportInput(channel="inspector", category_code=category, lon=lon,
                                          lat=lat, reporter="insp", reported_at=at),
                         now=at).case
    perform(ctx, case.id, "file", actor="lead-1", role="shift_lead", at=at + timedelta(minutes=5))
    perform(ctx, case.id, "dispatch", actor="disp-1", role="dispatcher",
            at=at + timedelta(minutes=10))
    return case.public_id


def close_case(ctx, ref: str, at: datetime) -> None:
    """Accept, reply, check and close: the rest of the loop, one step a minute from `at`."""
    from gridroute.services.workflow import find_case

    with ctx.uow(read_only=True) as uow:
        case = find_case(uow, ref)
    inspector = f"insp-{case.community_code}"
    steps = [("accept", "squad", "unit", {}), ("resolve", "squad", "unit", {"reply": "已处理"}),
             ("send_check", "acc-1", "acceptor", {"inspector": inspector}),
             ("check_pass", inspector, "inspector", {}), ("close", "lead-1", "shift_lead", {})]
    for i, (action, actor, role, payload) in enumerate(steps):
        perform(ctx, case.id, action, actor=actor, role=role, payload=payload,
                at=at + timedelta(minutes=i))


@pytest.fixture
def city(app_ctx, monkeypatch):
    """Two cases in street A (one closed), one open in street B; a district manager, a street
    manager of B, an inspector."""
    monkeypatch.setattr(app_ctx, "now", lambda: NOW)
    a1 = file_and_dispatch(app_ctx, STREET_A, T0)
    a2 = file_and_dispatch(app_ctx, STREET_A, T0 + timedelta(minutes=30))
    b1 = file_and_dispatch(app_ctx, STREET_B, T0 + timedelta(hours=1))
    close_case(app_ctx, a1, T0 + timedelta(hours=2))
    add_user(app_ctx, "mgr", role="manager", password="manager-pass", scope="310101")
    add_user(app_ctx, "mgr-b", role="manager", password="manager-pass", scope=STREET_B)
    add_user(app_ctx, "insp", role="inspector", password="inspector-pass",
             scope="310101001001")
    return {"a1": a1, "a2": a2, "b1": b1}


def login(client, name: str, password: str = "manager-pass") -> None:
    html = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"name": name, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302


@pytest.fixture
def client(app_ctx, city):
    return create_app(app_ctx.config, context=app_ctx).test_client()


def features(data) -> dict[str, dict]:
    return {f["properties"]["code"]: f["properties"] for f in data["features"]}


# ------------------------------------------------------------------ pure cartography

def test_class_breaks_by_each_scheme():
    values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, None]
    assert cartography.class_breaks(values, "equal_interval", 3) == pytest.approx([0.4, 0.7, 1.0])
    assert cartography.class_breaks(values, "quantiles", 2) == pytest.approx([0.55, 1.0])
    jenks = cartography.class_breaks([1, 1, 2, 2, 10, 11, 12, 30, 31], "natural_breaks", 3)
    assert jenks == [2.0, 12.0, 31.0]
    # fewer distinct values than classes: one class per value; none: no class
    assert cartography.class_breaks([0.5, 0.5, 1.0], "quantiles", 5) == [0.5, 1.0]
    assert cartography.class_breaks([None, None], "quantiles", 5) == []
    assert cartography.classify([0.5, 0.7, 1.0, None], [0.5, 1.0]) == [0, 1, 1, None]
    with pytest.raises(ValueError, match="scheme must be one of"):
        cartography.class_breaks(values, "jenks", 3)


def test_palette_runs_from_the_bad_end_to_the_good_end():
    assert cartography.palette(2) == ["#d73027", "#1a9850"]
    assert cartography.palette(2, higher_is_better=False) == ["#1a9850", "#d73027"]
    assert len(cartography.palette(7)) == 7


def test_png_has_the_asked_size():
    import shapely
    from PIL import Image

    boxes = shapely.box([0, 100], [0, 0], [100, 200], [100, 100])
    png = cartography.render_png(boxes, ["#d73027", "#1a9850"], title="t", subtitle="s",
                                 legend=[], legend_title="l", width_px=800, height_px=600,
                                 dpi=100)
    assert Image.open(io.BytesIO(png)).size == (800, 600)
    assert cartography.nice_scale_length(1850) == 200.0
    assert cartography.nice_scale_length(12_000) == 2000.0


# ------------------------------------------------------------------ the service

def test_street_values_come_from_the_history(app_ctx, city):
    query = maps.parse_map_query(app_ctx, {"from": "2026-11-01", "to": "2026-11-26"})
    view = maps.map_view(app_ctx, None, query)
    rows = {r["code"]: r for r in view.rows}
    assert len(rows) == 10  # every street of the sample grid, with or without cases
    assert (rows[STREET_A]["filed"], rows[STREET_A]["due_to_close"],
            rows[STREET_A]["closed"], rows[STREET_A]["closure_rate"]) == (2, 2, 1, 0.5)
    assert (rows[STREET_B]["filed"], rows[STREET_B]["closed"],
            rows[STREET_B]["closure_rate"]) == (1, 0, 0.0)
    assert rows["310101003"]["closure_rate"] is None and rows["310101003"]["class"] is None
    assert view.breaks == [0.0, 0.5]
    assert rows[STREET_A]["density"] == round(2 / rows[STREET_A]["area_km2"], 2)
    # the legend counts the areas of each class and those with no case due
    assert [(e.label, e.count) for e in view.legend] == [
        ("≤ 0.0%", 1), ("0.0% – 50.0%", 1), ("no cases due", 8)]


def test_dashboard_totals_rankings_and_trend(app_ctx, city):
    query = maps.parse_map_query(app_ctx, {"from": "2026-11-16", "to": "2026-11-26"})
    data = maps.dashboard_view(app_ctx, None, query)
    assert (data.totals["filed"], data.totals["closed"], data.totals["closure_rate"]) == \
        (3, 1, 0.3333)
    assert [r["group"] for r in data.streets] == [STREET_A, STREET_B]  # best score first
    assert [r["rank"] for r in data.streets] == [1, 2]
    assert data.streets[0]["grade"] in "ABCDE"
    assert data.units and all(r["name"] for r in data.units)
    assert [(w["start"].isoformat(), w["end"].isoformat(), w["filed"], w["closed"])
            for w in data.trend] == [("2026-11-16", "2026-11-23", 0, 0),
                                     ("2026-11-23", "2026-11-26", 3, 1)]
    svg = maps.trend_svg(data.trend, title="t", closure_label="c", on_time_label="o")
    assert svg.startswith("<svg") and "33.3%" in svg


def test_drill_down_street_to_community_to_cell(app_ctx, city):
    query = maps.parse_map_query(app_ctx, {"level": "community", "within": STREET_A})
    view = maps.map_view(app_ctx, None, query)
    assert view.rows and all(r["code"].startswith(STREET_A) for r in view.rows)
    assert all(r["child"] == "cell" for r in view.rows)
    assert [c["level"] for c in view.path] == ["street"]
    community = view.rows[0]["code"]
    cells = maps.map_view(app_ctx, None, maps.parse_map_query(
        app_ctx, {"level": "cell", "within": community}))
    assert all(r["code"].startswith(community) and r["child"] is None for r in cells.rows)
    assert [c["code"] for c in cells.path] == [STREET_A, community]
    assert sum(r["filed"] for r in cells.rows) == 2  # both of street A's cases


@pytest.mark.parametrize("args, field, message", [
    ({"from": "2026-13-01"}, "from", "must be a date YYYY-MM-DD, got '2026-13-01'"),
    ({"from": "2026-11-10", "to": "2026-11-10"}, "to", "must be after from (2026-11-10)"),
    ({"from": "2025-01-01", "to": "2026-11-10"}, "to", "at most 366"),
    ({"level": "district"}, "level", "must be one of cell, community, street, got 'district'"),
    ({"measure": "speed"}, "measure", "must be one of closure_rate"),
    ({"scheme": "jenks"}, "scheme", "must be one of quantiles, natural_breaks, equal_interval"),
    ({"k": "9"}, "k", "must be between 2 and 7, got 9"),
    ({"k": "many"}, "k", "must be a whole number, got 'many'"),
    ({"category": "Z99"}, "category", "no category or category group 'Z99'"),
    ({"within": "31010100"}, "within", "must be a street or community code"),
    ({"within": STREET_A, "level": "street"}, "level", "are community or cell, not street"),
])
def test_bad_filters_name_the_argument(app_ctx, args, field, message):
    from gridroute.services.errors import ServiceError

    with pytest.raises(ServiceError) as caught:
        maps.parse_map_query(app_ctx, args)
    assert caught.value.field == field
    assert message in caught.value.message


# ------------------------------------------------------------------ pages and exports

def test_dashboard_needs_a_login_and_a_manager_role(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/dashboard/map.geojson").status_code == 401
    login(client, "insp", "inspector-pass")
    assert client.get("/dashboard").status_code == 403
    denied = client.get("/dashboard/export.csv")
    assert denied.status_code == 403 and denied.json["error"]["field"] == "role"


def test_a_manager_lands_on_the_dashboard_and_sees_the_figures(client, city):
    login(client, "mgr")
    assert client.get("/").headers["Location"] == "/dashboard"
    page = client.get(f"/dashboard?{PERIOD}&lang=en")
    assert page.status_code == 200
    html = page.text
    assert 'id="total-closure_rate" data-value="0.3333">33.3%</dd>' in html
    assert '<tr data-code="310101001">' in html and 'id="unit-ranking"' in html
    assert 'id="street-ranking"' in html and "<svg" in html
    for tag in re.findall(r"<(?:input|select)[^>]*>", html):  # every field is labelled
        if 'type="hidden"' in tag:
            continue
        field_id = re.search(r'id="([^"]+)"', tag).group(1)
        assert f'for="{field_id}"' in html, tag


def test_a_street_manager_sees_only_the_street(client, city):
    login(client, "mgr-b")
    data = client.get(f"/dashboard/map.geojson?{PERIOD}").json
    assert list(features(data)) == [STREET_B]
    cells = client.get(f"/dashboard/map.geojson?{PERIOD}&level=cell").json
    assert cells["features"] and all(c.startswith(STREET_B) for c in features(cells))
    page = client.get(f"/dashboard?{PERIOD}").text
    assert 'id="total-filed" data-value="1">1</dd>' in page
    assert STREET_A not in re.search(r'id="street-ranking".*?</table>', page, re.S).group(0)
    other = client.get(f"/dashboard/map.geojson?{PERIOD}&level=community&within={STREET_A}")
    assert other.status_code == 404 and other.json["error"]["field"] == "within"


def test_bad_filter_is_400_naming_the_field(client):
    login(client, "mgr")
    response = client.get("/dashboard/map.geojson?k=1&lang=en")
    assert response.status_code == 400
    assert response.json["error"]["field"] == "k"
    assert response.json["error"]["message"] == "k: must be between 2 and 7, got 1"
    page = client.get("/dashboard?from=yesterday&lang=en")
    assert page.status_code == 400
    assert "from: must be a date YYYY-MM-DD, got &#39;yesterday&#39;" in page.text
    assert client.get("/dashboard/export.pdf").json["error"]["field"] == "format"


def test_exports_hold_the_view(client, city):
    from openpyxl import load_workbook
    from PIL import Image

    login(client, "mgr")
    base = f"/dashboard/export.%s?{PERIOD}&level=street&lang=en"
    geo = client.get(base % "geojson")
    assert geo.headers["Content-Type"] == "application/geo+json"
    assert "attachment" in geo.headers["Content-Disposition"]
    props = features(geo.get_json(force=True))
    assert props[STREET_A]["closure_rate"] == 0.5 and props[STREET_A]["colour"].startswith("#")

    body = client.get(base % "csv")
    assert body.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(body.data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == maps.TABLE_COLUMNS
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code[STREET_A][:6] == [STREET_A, "南京东路街道", "2", "2", "1", "0.5"]
    assert len(rows) == 11

    xlsx = client.get(base % "xlsx")
    assert xlsx.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(xlsx.data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["Code", "Name", "Filed", "Due to close", "Closed", "Closure rate"]
    excel = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert excel[STREET_A][:6] == (STREET_A, "南京东路街道", 2, 2, 1, 0.5)
    assert excel["310101003"][5] is None

    png = client.get(base % "png")
    assert png.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.data)).size == (1600, 1200)


def test_category_filter_keeps_its_cases(client, app_ctx, city):
    file_and_dispatch(app_ctx, STREET_B, T0 + timedelta(hours=3), category="C0101")
    login(client, "mgr")
    everything = features(client.get(f"/dashboard/map.geojson?{PERIOD}").json)
    assert everything[STREET_B]["filed"] == 2
    only = features(client.get(f"/dashboard/map.geojson?{PERIOD}&category=C0101").json)
    assert only[STREET_B]["filed"] == 1 and only[STREET_A]["filed"] == 0
    group = features(client.get(f"/dashboard/map.geojson?{PERIOD}&category=E01").json)
    assert group[STREET_B]["filed"] == 1 and group[STREET_A]["filed"] == 2


def test_chronic_cells_are_listed_with_their_cases(client, app_ctx, city):
    refs = [city["a1"], city["a2"]]
    refs.append(file_and_dispatch(app_ctx, STREET_A, T0 + timedelta(hours=4)))
    login(client, "mgr")
    data = client.get(f"/dashboard/chronic.geojson?{PERIOD}").json
    assert len(data["features"]) == 1
    spot = data["features"][0]["properties"]
    assert spot["category_code"] == "E0101" and spot["count"] == 3
    assert sorted(spot["cases"]) == sorted(refs)
    assert spot["links"] == [f"/cases/{ref}" for ref in spot["cases"]]
    assert data["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    page = client.get(f"/dashboard?{PERIOD}").text
    for ref in refs:
        assert f'href="/cases/{ref}"' in page
    # the street manager of B has none
    other = client.application.test_client()
    login(other, "mgr-b")
    assert other.get(f"/dashboard/chronic.geojson?{PERIOD}").json["features"] == []


def test_newcomer_home_shows_the_city_closure_rate_by_street(client, city):
    page = client.get("/?lang=en")
    assert page.status_code == 200
    assert "<h1>City closure rate by street</h1>" in page.text
    assert 'href="/login"' in page.text
    data = client.get("/public/streets.geojson").json
    props = features(data)
    assert len(props) == 10
    assert props[STREET_A]["closure_rate"] == 0.5
    # aggregates only: no case, no person, nothing else
    allowed = {"code", "name", "filed", "due_to_close", "closed", "closure_rate", "value",
               "value_text", "class", "colour"}
    assert all(set(p) == allowed for p in props.values())
    assert city["a1"] not in page.text and "lead-1" not in page.text


def test_a_shift_lead_sees_the_centre_scope_and_an_admin_the_city(client, app_ctx, city):
    add_user(app_ctx, "lead-a", role="shift_lead", password="lead-pass-1", scope=STREET_A)
    add_user(app_ctx, "root", role="admin", password="admin-pass-1")
    login(client, "lead-a", "lead-pass-1")
    data = client.get(f"/dashboard/map.geojson?{PERIOD}").json
    assert list(features(data)) == [STREET_A]
    assert client.get(f"/dashboard/chronic.geojson?{PERIOD}").status_code == 200
    page = client.get(f"/dashboard?{PERIOD}&lang=en").text
    assert '<p class="scope" id="scope">Scope: 南京东路街道 <small>(310101001)</small></p>' in page
    admin = client.application.test_client()
    login(admin, "root", "admin-pass-1")
    assert len(features(admin.get(f"/dashboard/map.geojson?{PERIOD}").json)) == 10
    assert "Closure rate · by street · whole city" in admin.get(f"/dashboard?{PERIOD}&lang=en").text


def test_every_dashboard_message_has_its_chinese():
    from pathlib import Path

    from gridroute.i18n import translations
    from gridroute.web import dashboard

    web = Path(dashboard.__file__).parent
    texts = [p.read_text(encoding="utf-8") for p in
             [*sorted((web / "templates" / "dashboard").glob("*.html")),
              web / "templates" / "home.html"]]
    ids = {m for t in texts for m in re.findall(r"""_\((?:"([^"]+)"|'([^']+)')""", t)}
    ids = {a or b for a, b in ids} - {"gridroute"}
    ids |= {m.label for m in maps.MEASURES.values()} | set(maps.COLUMN_LABELS.values())
    ids |= set(maps.INDICATOR_LABELS.values()) | set(dashboard.LEVEL_LABELS.values())
    ids |= {dashboard.maps_scheme_label(s) for s in cartography.SCHEMES}
    zh = translations("zh-CN")
    missing = sorted(m for m in ids if zh.gettext(m) == m)
    assert missing == []
