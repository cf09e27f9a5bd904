"""Dispatch-centre pages (issue 12 point 2, 4, 5): the queue (filters, counts, lights, paging,
live rows, shortcuts, bulk dispatch) and the case page (the actions the role allows, refusals
next to their field, a stale version on a second tab). Fast test-client tests first, then the
browser ones (marked `browser`)."""
from __future__ import annotations

import re

import pytest

from browser_fixtures import axe_violations, login, screenshot
from gridroute.services.workflow import perform
from pages_helpers import (IN_STREET_1, IN_STREET_2, PASSWORD, UNIT1, UNIT2, app_with_users,
                           case_of, dispatched, filed, log_in, report)

pytestmark = pytest.mark.db


@pytest.fixture
def app(app_ctx):
    return app_with_users(app_ctx)


def _actions(html: str) -> list[str]:
    return re.findall(r'<form class="action" id="action-([a-z_]+)"', html)


# ------------------------------------------------------------------ test client

def test_queue_needs_a_login_and_a_centre_role(app):
    client = app.test_client()
    response = client.get("/queue")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    log_in(client, "unit1")
    assert client.get("/queue").status_code == 403


def test_queue_lists_filters_and_counts_cases(app, app_ctx):
    one = filed(app_ctx, IN_STREET_1, "南京东路 垃圾")
    two = dispatched(app_ctx, IN_STREET_2, UNIT2, "外滩 垃圾")
    three = report(app_ctx, IN_STREET_1, "新上报").public_id
    client = app.test_client()
    log_in(client, "disp")
    page = client.get("/queue?lang=en")
    assert page.status_code == 200
    assert sorted(re.findall(r'<tr data-ref="([^"]+)"', page.text)) == sorted([one, two, three])
    counts = dict(re.findall(r'<li data-state="(\w+)"><a [^>]+>\w+ <span class="n">(\d+)</span>',
                             page.text))
    assert counts == {"reported": "1", "filed": "1", "dispatched": "1"}
    by_street = client.get("/queue?street=310101002&lang=en").text
    assert re.findall(r'<tr data-ref="([^"]+)"', by_street) == [two]
    by_text = client.get("/queue?q=南京东路").text
    assert re.findall(r'<tr data-ref="([^"]+)"', by_text) == [one]
    by_state = client.get("/queue?state=reported").text
    assert re.findall(r'<tr data-ref="([^"]+)"', by_state) == [three]
    rows = client.get("/queue/rows?state=filed").text
    assert re.findall(r'<tr data-ref="([^"]+)"', rows) == [one] and "<html" not in rows
    # every filter field has its label
    for field in ("f-state", "f-light", "f-category", "f-street", "f-unit", "f-channel", "f-q"):
        assert f'<label for="{field}">' in page.text


def test_queue_shows_a_red_badge_and_the_time_left(app, app_ctx):
    from datetime import timedelta

    now = app_ctx.now()
    late = filed(app_ctx, IN_STREET_1, "早就立案", at=now - timedelta(days=3))
    fresh = filed(app_ctx, IN_STREET_1, "刚立案")
    client = app.test_client()
    log_in(client, "disp")
    html = client.get("/queue").text
    row = re.search(rf'<tr data-ref="{late}".*?</tr>', html, re.S).group(0)
    assert 'class="light-red"' in row and '<span class="badge badge-red">红灯</span>' in row
    assert re.search(r'<td class="left" title="[^"]+">已超时 \d+天\d+时</td>', row), row
    new_row = re.search(rf'<tr data-ref="{fresh}".*?</tr>', html, re.S).group(0)
    assert "badge" not in new_row and re.search(r'>\d+分</td>', new_row), new_row
    # overdue first: sorted by time left
    assert re.findall(r'<tr data-ref="([^"]+)"', html) == [late, fresh]


def test_queue_bad_filter_names_the_field_in_the_page_language(app):
    client = app.test_client()
    log_in(client, "disp")
    response = client.get("/queue?light=blue", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 400
    assert re.search(r'data-error-for="light" role="alert">字段 light：取值无效'
                     r'（unknown light &#39;blue&#39;; one of green, yellow, red）<', response.text)


def test_queue_pages_by_fifty_with_a_cursor(app, app_ctx):
    refs = [report(app_ctx, IN_STREET_1, f"垃圾 {i}").public_id for i in range(52)]
    client = app.test_client()
    log_in(client, "acc")
    first = client.get("/queue").text
    shown = re.findall(r'<tr data-ref="([^"]+)"', first)
    assert len(shown) == 50
    cursor = re.search(r'href="/queue\?cursor=([^"&]+)" id="next-page"', first)
    assert cursor, re.findall(r"<p class=\"paging\".*?</p>", first, re.S)
    second = client.get(f"/queue?cursor={cursor.group(1)}").text
    rest = re.findall(r'<tr data-ref="([^"]+)"', second)
    assert len(rest) == 2 and sorted(shown + rest) == sorted(refs)
    assert 'id="next-page"' not in second


def test_case_page_offers_exactly_the_actions_of_the_role(app, app_ctx):
    ref = filed(app_ctx)
    seen = {}
    for user in ("acc", "lead", "disp", "mgr"):
        client = app.test_client()
        log_in(client, user)
        page = client.get(f"/cases/{ref}?lang=en")
        assert page.status_code == 200
        seen[user] = _actions(page.text)
    assert seen == {"acc": ["merge"], "lead": ["merge", "void"], "disp": ["dispatch", "merge"],
                    "mgr": []}
    client = app.test_client()
    log_in(client, "disp")
    html = client.get(f"/cases/{ref}?lang=en").text
    # the routed unit is preselected and marked; any other unit may be chosen
    routed = case_of(app_ctx, ref).unit_code
    assert routed
    assert re.search(rf'<option value="{routed}" selected>[^<]+\(suggested\)</option>', html)
    assert len(re.findall(r'<option value="[^"]+" selected>', html)) == 1
    assert f'<option value="{UNIT2}">' in html
    assert '<label for="dispatch-unit_code">Unit</label>' in html
    assert 'Your role has no action' not in html
    mgr = app.test_client()
    log_in(mgr, "mgr")
    assert 'id="no-actions"' in mgr.get(f"/cases/{ref}").text


def test_reported_case_actions_for_acceptor_and_shift_lead(app, app_ctx):
    ref = report(app_ctx).public_id
    forms = {}
    for user in ("acc", "lead"):
        client = app.test_client()
        log_in(client, user)
        forms[user] = _actions(client.get(f"/cases/{ref}").text)
    assert forms == {"acc": ["reject", "self_handle", "merge"],
                     "lead": ["file", "reject", "merge"]}


def test_case_page_shows_timeline_routing_and_duplicates(app, app_ctx):
    first = filed(app_ctx)
    twin = report(app_ctx, description="again").public_id
    client = app.test_client()
    log_in(client, "lead")
    html = client.get(f"/cases/{first}").text
    assert re.findall(r'<span class="step">([^<]+)</span>', html) == ["上报", "立案"]
    assert 'id="routing-rule">' in html
    assert '<dd id="routing-limit">4 工作时</dd>' in html
    twin_page = client.get(f"/cases/{twin}").text
    assert f'<li data-ref="{first}">' in twin_page
    assert f'data-parent="{first}">合并到 {first}</button>' in twin_page
    english = client.get(f"/cases/{first}?lang=en").text
    assert '<dd id="routing-limit">4 working hours</dd>' in english


def test_unknown_case_is_404(app):
    client = app.test_client()
    log_in(client, "disp")
    assert client.get("/cases/GR-19990101-000001").status_code == 404


# ------------------------------------------------------------------ browser

def _open_case(page, base, ref):
    page.goto(f"{base}/cases/{ref}")
    page.wait_for_selector("#case")


@pytest.mark.browser
def test_queue_in_the_browser_filters_shows_new_cases_and_opens_with_keys(
        live_server, desk, app, app_ctx):
    one = dispatched(app_ctx, IN_STREET_1, UNIT1, "南京东路")
    two = filed(app_ctx, IN_STREET_2, "外滩")
    page = desk
    login(page, live_server, "disp", PASSWORD, "/queue")
    assert page.locator("h1").inner_text() == "案卷队列"
    page.select_option("#f-street", "310101002")
    page.click("#apply-filters")
    page.wait_for_load_state()
    assert page.locator("#queue-rows tr[data-ref]").evaluate_all(
        "rows => rows.map(r => r.dataset.ref)") == [two]
    page.click("#clear-filters")
    page.wait_for_load_state()
    # a new report appears without a reload
    three = report(app_ctx, IN_STREET_1, "刚上报").public_id
    page.wait_for_selector(f'#queue-rows tr[data-ref="{three}"]', timeout=20000)
    assert "新案卷" in page.locator("#queue-news").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "centre-queue")
    # j moves, typing in the search box does not, Enter opens
    page.keyboard.press("j")
    first = page.locator("#queue-rows tr.current").get_attribute("data-ref")
    page.click("#f-q")
    page.keyboard.type("jj")
    assert page.locator("#queue-rows tr.current").get_attribute("data-ref") == first
    assert page.input_value("#f-q") == "jj"
    page.locator("#queue-table").click(position={"x": 5, "y": 5})
    page.keyboard.press("Enter")
    page.wait_for_selector("#case")
    assert page.locator("#case-ref").inner_text() == first
    assert {one, two, three} >= {first}


@pytest.mark.browser
def test_bulk_dispatch_of_selected_cases(live_server, desk, app, app_ctx):
    refs = [filed(app_ctx, IN_STREET_1, f"垃圾 {i}") for i in range(3)]
    page = desk
    login(page, live_server, "disp", PASSWORD, "/queue")
    for ref in refs[:2]:
        page.check(f"#pick-{ref}")
    assert page.locator("#bulk-count").inner_text() == "2"
    page.click("#bulk-dispatch-button")
    page.wait_for_selector("#bulk-results li:nth-child(2)")
    assert page.locator("#bulk-results li.ok").count() == 2
    page.wait_for_function(
        f"document.querySelector('#queue-rows tr[data-ref=\"{refs[0]}\"]').dataset.state"
        " === 'dispatched'")
    states = {r: page.locator(f'#queue-rows tr[data-ref="{r}"]').get_attribute("data-state")
              for r in refs}
    assert states == {refs[0]: "dispatched", refs[1]: "dispatched", refs[2]: "filed"}
    screenshot(page, "centre-queue-bulk")


@pytest.mark.browser
def test_case_page_dispatches_to_the_suggested_unit_and_shows_refusals(
        live_server, desk, app, app_ctx):
    ref = filed(app_ctx)
    other = report(app_ctx, category="E0101", description="其他类别").public_id
    page = desk
    login(page, live_server, "disp", PASSWORD, f"/cases/{ref}")
    page.wait_for_selector('#case-map[data-shown="cell"][data-point="shown"]')
    routed = case_of(app_ctx, ref).unit_code
    assert page.input_value("#dispatch-unit_code") == routed
    assert axe_violations(page) == []
    screenshot(page, "centre-case")
    # a refused merge names its field, in Chinese, and keeps what was typed
    page.fill("#merge-parent_id", other)
    page.click("#do-merge")
    slot = page.locator('#action-merge [data-error-for="parent_id"]')
    slot.wait_for()
    page.wait_for_function(
        "document.querySelector('#action-merge [data-error-for=\"parent_id\"]').textContent")
    assert slot.inner_text().startswith("字段 parent_id：取值无效")
    assert page.input_value("#merge-parent_id") == other
    # the dispatch shortcut sends it to the preselected unit
    page.locator("h1").click()
    page.keyboard.press("d")
    page.wait_for_selector('#timeline li[data-action="dispatch"]')
    assert page.locator("#case-state").inner_text() == "已派遣"
    assert case_of(app_ctx, ref).unit_code == routed


@pytest.mark.browser
def test_stale_version_on_a_second_tab_keeps_the_entry_and_shows_the_new_state(
        live_server, desk, app, app_ctx):
    ref = dispatched(app_ctx)
    perform(app_ctx, ref, "accept", actor="unit1", role="unit")
    page = desk
    login(page, live_server, "unit1", PASSWORD, f"/cases/{ref}")
    second = page.context.new_page()
    second.goto(f"{live_server}/cases/{ref}")
    # the first tab asks for an extension; the second, still on the old version, resolves
    page.fill("#request_extension-reason", "需要更换设备")
    page.click("#do-request_extension")
    page.wait_for_selector("#extension-pending")
    second.fill("#resolve-reply", "已清理完毕")
    second.click("#do-resolve")
    notice = second.locator("#stale-notice")
    notice.wait_for(state="visible")
    second.wait_for_function("document.querySelector('#stale-notice').dataset.state")
    assert notice.inner_text().startswith("此案卷已被他人修改，当前状态：已签收。您填写的内容已保留")
    assert second.input_value("#resolve-reply") == "已清理完毕"
    assert "案卷已被他人修改" in second.locator('#action-resolve [data-error-for=""]').inner_text()
    screenshot(second, "centre-case-stale")
    # sent again, it goes through with the version the notice fetched
    second.click("#do-resolve")
    second.wait_for_selector('#timeline li[data-action="resolve"]')
    second.close()


@pytest.mark.browser
def test_file_shortcut_on_the_queue(live_server, desk, app, app_ctx):
    ref = report(app_ctx, description="值班长立案").public_id
    page = desk
    login(page, live_server, "lead", PASSWORD, "/queue?state=reported")
    page.keyboard.press("j")
    assert page.locator("#queue-rows tr.current").get_attribute("data-ref") == ref
    page.keyboard.press("f")
    page.wait_for_function("document.querySelector('#queue-news').textContent.includes('已立案')")
    assert case_of(app_ctx, ref).state.value == "filed"
