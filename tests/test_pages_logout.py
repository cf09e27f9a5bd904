"""Logging out on a shared phone forgets the pages kept for offline use (the inspector's
service worker cache holds a page rendered for the user who logged out)."""
import pytest

from browser_fixtures import login
from gridroute.services.users import add_user

pytestmark = [pytest.mark.browser, pytest.mark.db]


def test_logout_clears_the_offline_page_cache(public_ctx, live_server, phone):
    page = phone
    add_user(public_ctx, "insp-310101001005", role="inspector", password="correct-horse",
             scope="310101001005")
    login(page, live_server, "insp-310101001005", "correct-horse")
    page.wait_for_selector("#report-form[data-ready=true]")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()  # the navigation now goes through the worker, which keeps the page
    page.wait_for_selector("#report-form[data-ready=true]")
    page.wait_for_function(
        "caches.open('gridroute-inspector-v1').then(c => c.match('/inspector/report'))"
        ".then(r => !!r)")
    page.click("#logout")
    page.wait_for_url("**/login")
    assert page.evaluate("caches.keys()") == []
    assert page.locator("h1").inner_text() == "登录"
