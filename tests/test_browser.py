"""The grid page in a real browser (Debian's Chromium driven by Playwright)."""
import pytest

from browser_fixtures import axe_violations, screenshot

pytestmark = pytest.mark.browser


def test_grid_page_shows_counts_and_switches_language(live_server, phone):
    page = phone
    page.goto(live_server + "/grid")
    assert page.locator("h1").inner_text() == "已加载网格"
    assert page.locator("#cell-count").inner_text() == "1226"
    assert page.locator("#street-count").inner_text() == "10"
    assert page.locator("tr[data-street='310101002'] td").nth(1).inner_text() == "外滩街道"
    page.click("#lang-en")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Loaded grid"
    total = page.locator("#streets tfoot th").last.inner_text()
    assert total == "1226"
    assert axe_violations(page) == []
    screenshot(page, "grid")


def test_front_end_packages_are_served_by_the_app(live_server, phone):
    response = phone.request.get(live_server + "/assets/leaflet/leaflet.js")
    assert response.status == 200 and "Leaflet" in response.text()[:400]
    assert phone.request.get(live_server + "/assets/leaflet/../package.json").status == 404
    assert phone.request.get(live_server + "/assets/left-pad/index.js").status == 404
