"""The manager dashboard and the newcomer's map in a real browser (issue 13 points 3, 5, 6):
the map and the rankings change after a case closes; the PNG and Excel exports open and hold
the numbers of the page; hover and click give details and drill down; axe finds nothing
critical or serious. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from browser_fixtures import ARTIFACTS, axe_violations, login, screenshot
from test_maps import STREET_A, STREET_B, T0, city, close_case  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.db]


def open_dashboard(page, base: str, query: str = "level=street") -> None:
    page.goto(f"{base}/dashboard?{query}")
    page.wait_for_selector("#dash-map[data-ready]")


def table(page, selector: str) -> dict[str, dict[str, str]]:
    """{row code: {column key: data-value}} of a table on the page."""
    return page.evaluate("""(sel) => Object.fromEntries([...document.querySelectorAll(sel + ' tbody tr[data-code]')]
        .map((tr) => [tr.dataset.code, Object.fromEntries([...tr.querySelectorAll('td[data-key]')]
        .map((td) => [td.dataset.key, td.dataset.value])) ]))""", selector)


def street_point(ctx, street: str) -> tuple[float, float]:
    """(lon, lat) well inside a street: its representative point, in WGS84."""
    from gridroute.services.maps import areas

    streets = areas(ctx, "street")
    inside = streets[streets.code == street].geometry.representative_point().to_crs("EPSG:4326")
    return inside.iloc[0].x, inside.iloc[0].y


def map_values(page) -> dict[str, str]:
    return json.loads(page.get_attribute("#dash-map", "data-values"))


def test_map_and_rankings_change_after_a_case_closes(live_server, desk, app_ctx, city):
    page = desk
    login(page, live_server, "mgr", "manager-pass")
    assert page.url.endswith("/dashboard")  # a manager lands on the dashboard
    open_dashboard(page, live_server)
    assert page.locator("#total-closure_rate").inner_text() == "33.3%"
    assert map_values(page)[STREET_B] == "0.0%"
    assert table(page, "#areas")[STREET_B]["closure_rate"] == "0.0"
    before = table(page, "#street-ranking")
    assert before[STREET_B]["closure_rate"] == "0.0"
    assert axe_violations(page) == []
    screenshot(page, "dashboard-before-close")

    close_case(app_ctx, city["b1"], T0 + timedelta(hours=3))
    page.reload()
    page.wait_for_selector("#dash-map[data-ready]")
    assert page.locator("#total-closure_rate").inner_text() == "66.7%"
    assert map_values(page)[STREET_B] == "100.0%"
    assert table(page, "#areas")[STREET_B]["closure_rate"] == "1.0"
    after = table(page, "#street-ranking")
    assert after[STREET_B]["closure_rate"] == "1.0"
    assert float(after[STREET_B]["score"]) > float(before[STREET_B]["score"])
    first = page.locator("#street-ranking tbody tr").first.get_attribute("data-code")
    assert first == STREET_B  # all closed now: B ranks first
    screenshot(page, "dashboard-after-close")


def test_hover_and_click_give_details_and_drill_down(live_server, desk, app_ctx, city):
    page = desk
    login(page, live_server, "mgr", "manager-pass")
    open_dashboard(page, live_server)
    lon, lat = street_point(app_ctx, STREET_A)
    page.locator("#dash-map").scroll_into_view_if_needed()
    box = page.locator("#dash-map").bounding_box()
    x, y = page.evaluate("([lat, lon]) => { const p = document.getElementById('dash-map')"
                         ".leafletMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
                         [lat, lon])
    page.mouse.move(box["x"] + x - 5, box["y"] + y - 5)
    page.mouse.move(box["x"] + x, box["y"] + y, steps=3)
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for()
    assert tip.inner_text() == "南京东路街道: 50.0%"
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "310101001" in popup.inner_text()
    popup.locator("a.drill").click()
    page.wait_for_selector("#dash-map[data-ready]")
    assert "level=community" in page.url and f"within={STREET_A}" in page.url
    codes = list(map_values(page))
    assert codes and all(c.startswith(STREET_A) for c in codes)
    assert page.locator("#crumbs").inner_text().endswith("南京东路街道")
    # the measure changes in place, the export links follow
    page.select_option("#f-measure", "overdue_open")
    page.wait_for_function("() => location.search.includes('measure=overdue_open')")
    assert "measure=overdue_open" in page.get_attribute("#export-png", "href")
    page.wait_for_function("() => document.getElementById('title-measure').textContent"
                           " === '超期待处置数'")
    assert axe_violations(page) == []
    screenshot(page, "dashboard-drill-down")


def test_png_and_excel_exports_hold_the_page_numbers(live_server, desk, city):
    from openpyxl import load_workbook
    from PIL import Image

    page = desk
    login(page, live_server, "mgr", "manager-pass")
    open_dashboard(page, live_server, "level=street&lang=en")
    shown = table(page, "#areas")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).worksheets[0]
    header = [c.value for c in sheet[1]]
    keys = ["code", "name", "filed", "due_to_close", "closed", "closure_rate",
            "closed_on_time", "on_time_closure_rate", "overdue_open", "area_km2", "density"]
    assert header == [page.locator("#areas thead th").nth(i).inner_text()
                      for i in range(len(keys))]
    excel = {row[0]: dict(zip(keys, row)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(excel) == set(shown)
    for code, cells in shown.items():
        for key, value in cells.items():
            got = excel[code][key]
            if value == "":
                assert got is None, (code, key)
            elif isinstance(got, (int, float)):
                assert got == pytest.approx(float(value)), (code, key)
            else:
                assert got == value, (code, key)

    png_url = page.get_attribute("#export-png", "href")
    response = page.request.get(live_server + png_url)
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.body())).convert("RGB")
    assert image.size == (1600, 1200)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dashboard-export.png").write_bytes(response.body())
    # the same export call as GeoJSON: its classes are the PNG's colours and the page's values
    geo = page.request.get(live_server + png_url.replace("export.png", "export.geojson")).json()
    colours = {f["properties"]["colour"] for f in geo["features"]}
    pixels = {"#%02x%02x%02x" % p for _, p in image.getcolors(1 << 20)}
    assert colours <= pixels
    for f in geo["features"]:
        p = f["properties"]
        page_value = shown[p["code"]]["closure_rate"]
        assert p["closure_rate"] == (float(page_value) if page_value else None)
    screenshot(page, "dashboard-exports")


def test_newcomer_sees_the_city_closure_rate_by_street(live_server, phone, city):
    page = phone
    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "全市各街道结案率"
    page.wait_for_selector("#home-map[data-loaded='10']")
    assert json.loads(page.get_attribute("#home-map", "data-values"))[STREET_A] == "50.0%"
    assert page.locator("#login-link").get_attribute("href") == "/login"
    assert axe_violations(page) == []
    screenshot(page, "home-newcomer")
