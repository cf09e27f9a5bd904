"""Browser-test support (Playwright driving Debian's Chromium), loaded by conftest.py.

Fixtures: `live_server` (the app on `app_ctx`, threaded, on a free port), `browser` (one Chromium
per worker), `phone` (a 360×740 zh-CN page) and `desk` (a 1366×900 page).
Helpers: `login(page, base, name, password)`, `axe_violations(page)` (critical and serious
axe-core findings, axe served by the app from npm) and `screenshot(page, name)` into
tests/artifacts/ (ignored by git).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture
def live_server(app_ctx):
    from gridroute.app import create_app

    server = make_server("127.0.0.1", 0, create_app(context=app_ctx), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, **options):
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(15000)
    return context, context.new_page()


@pytest.fixture
def phone(browser):
    """An inspector's phone: 360×740, touch, zh-CN."""
    context, page = _page(browser, viewport={"width": 360, "height": 740}, has_touch=True,
                          is_mobile=True)
    yield page
    context.close()


@pytest.fixture
def desk(browser):
    """A dispatch-centre desk: 1366×900, zh-CN."""
    context, page = _page(browser, viewport={"width": 1366, "height": 900})
    yield page
    context.close()


def login(page, base: str, name: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def axe_violations(page) -> list[dict]:
    """axe-core's critical and serious violations on the page as it is now."""
    page.add_script_tag(url="/assets/axe-core/axe.min.js")
    result = page.evaluate("async () => await axe.run(document)")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("critical", "serious")]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
