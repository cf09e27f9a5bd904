"""The grid page in a real browser (Debian's Chromium driven by Playwright)."""
import os
import threading

import pytest
from werkzeug.serving import make_server

from gridroute.app import create_app

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app_ctx):
    server = make_server("127.0.0.1", 0, create_app(context=app_ctx), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone
        yield context.new_page()
        browser.close()


def test_grid_page_shows_counts_and_switches_language(live_server, page, tmp_path):
    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "已加载网格"
    assert page.locator("#cell-count").inner_text() == "1226"
    assert page.locator("#street-count").inner_text() == "10"
    assert page.locator("tr[data-street='310101002'] td").nth(1).inner_text() == "外滩街道"
    page.click("#lang-en")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Loaded grid"
    total = page.locator("#streets tfoot th").last.inner_text()
    assert total == "1226"
    page.screenshot(path=str(tmp_path / "grid.png"), full_page=True)
