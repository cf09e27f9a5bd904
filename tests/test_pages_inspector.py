"""The inspector's phone pages (issue 12 point 1, with its parts of points 4, 5 and 6): the report
form with the category picker, location, photos shrunk in the browser, the routing preview and
likely duplicates; the offline queue sending each report once; "My reports"; "My tasks".

Browser tests drive Debian's Chromium on a 360×740 phone viewport (marked `browser`); the
Flask test-client tests check the server side (labels, scoping, refusals keeping the input).
"""
from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from PIL import Image

from browser_fixtures import axe_violations, login, screenshot
from gridroute.app import create_app
from gridroute.services.users import add_user

INSPECTOR = "insp-310101001005"  # roster: patrols community 310101001005 (南京东路第5居委)
OTHER = "insp-310101001004"
PASSWORD = "correct-horse"
HERE = (121.48, 31.23)  # cell 310101001005015, 南京东路街道


def _png(width: int, height: int, color=(200, 60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _cases(ctx):
    with ctx.uow(read_only=True) as uow:
        return uow.cases.list()


def _users(ctx):
    add_user(ctx, INSPECTOR, role="inspector", password=PASSWORD, scope="310101001005")
    add_user(ctx, OTHER, role="inspector", password=PASSWORD, scope="310101001004")
    add_user(ctx, "lead", role="shift_lead", password=PASSWORD, scope="310101")


# ------------------------------------------------------------------ browser

@pytest.mark.browser
def test_phone_files_a_report_after_seeing_the_routing_preview(public_ctx, live_server, phone):
    page = phone
    _users(public_ctx)
    # the server would keep up to 4000 px: what arrives at 2048 px was shrunk on the phone
    public_ctx.config = public_ctx.config.replace(
        photos={"dir": public_ctx.config.photos.dir, "max_side_px": 4000})
    login(page, live_server, INSPECTOR, PASSWORD)
    assert page.url == live_server + "/inspector/report"  # the inspector's home
    page.wait_for_selector("#report-form[data-ready=true]")
    assert page.locator("#queue-status").inner_text() == "待发送：0 条"

    # 部件 and 事件 are kept apart; search by pinyin initials, Chinese name and code
    page.click("label[for=kind-component]")
    page.fill("#category-search", "井盖")
    visible = page.eval_on_selector_all("#category option", "os => os.filter(o => !o.hidden && !o.parentElement.hidden).map(o => o.value)")
    assert "C0101" in visible and all(code.startswith("C") for code in visible)
    page.fill("#category-search", "C0101")
    assert page.eval_on_selector("#category", "s => s.value") == "C0101"  # one match: chosen
    page.click("label[for=kind-event]")
    page.fill("#category-search", "bllj")  # 暴露垃圾
    assert page.eval_on_selector("#category", "s => s.value") == "E0102"

    # a tap on the grid map sets the point
    page.wait_for_selector("#report-map[data-ready=true]")
    page.locator("#report-map").click(position={"x": 180, "y": 120})
    assert re.fullmatch(r"1\d\d\.\d{6}", page.input_value("#lon"))
    # a point outside the managed area: the preview says so next to the location
    page.fill("#lon", "120.000000")
    page.fill("#lat", "31.230000")
    page.dispatch_event("#lat", "change")
    page.wait_for_function("document.querySelector('[data-error-for=\"lon,lat\"]').textContent !== ''")
    assert "位置在管辖区域之外" in page.inner_text("[data-error-for='lon,lat']")

    page.fill("#description", "南京东路人行道上有暴露垃圾")
    big = _png(3000, 1500)
    page.set_input_files("#photos", files=[{"name": "rubbish.png", "mimeType": "image/png",
                                            "buffer": big}])
    page.wait_for_selector("#photo-list[data-count='1']")
    # refused: the service's message next to the field it names, nothing typed is lost
    page.click("#submit")
    page.wait_for_function("document.querySelector('[data-error-for=\"lon,lat\"]').textContent.includes('管辖区域')")
    assert page.input_value("#description") == "南京东路人行道上有暴露垃圾"
    assert page.eval_on_selector("#category", "s => s.value") == "E0102"
    assert page.locator("#photo-list li").count() == 1
    assert _cases(public_ctx) == []

    # the phone's position (declared WGS84)
    page.context.grant_permissions(["geolocation"], origin=live_server)
    page.context.set_geolocation({"longitude": HERE[0], "latitude": HERE[1], "accuracy": 8})
    page.click("#locate")
    page.wait_for_selector("#preview-facts:not([hidden])")
    assert (page.input_value("#lon"), page.input_value("#lat")) == ("121.480000", "31.230000")
    assert page.inner_text("#preview-cell") == "310101001005015"
    assert page.inner_text("#preview-street") == "南京东路街道"
    assert page.inner_text("#preview-community") == "南京东路第5居委"
    assert page.inner_text("#preview-unit") == "黄浦区绿化市容管理所"
    assert page.inner_text("#preview-limit") == "4 工作时"
    assert page.inner_text("#preview-deadline") == "2026-11-25 14:00"
    assert page.inner_text("#duplicates-status") == "附近没有同一小类的未结案件。"
    assert page.inner_text("[data-error-for='lon,lat']") == ""
    assert axe_violations(page) == []
    screenshot(page, "inspector-report-preview")

    page.click("#submit")
    page.wait_for_function("document.getElementById('result').textContent.includes('GR-')")
    assert page.inner_text("#result") == "已上报，案卷号 GR-20261125-000001。"
    (case,) = _cases(public_ctx)
    assert (case.cell_code, case.unit_code, case.channel.value, case.reporter) == (
        "310101001005015", "greening", "inspector", INSPECTOR)
    assert case.idempotency_key.startswith("phone-")
    assert case.description == "南京东路人行道上有暴露垃圾"
    (name,) = case.photos
    assert name.endswith(".jpg")  # the PNG was re-encoded as JPEG by the browser's canvas
    # (the server keeps a PNG a PNG)
    from gridroute.services.photos import photo_store

    with Image.open(photo_store(public_ctx).path_of(name)) as stored:
        assert stored.size == (2048, 1024)
    # the form is ready for the next report; the case just filed is now a likely duplicate
    assert page.input_value("#description") == ""
    assert page.locator("#photo-list li").count() == 0
    page.wait_for_selector("#duplicates li[data-public-id='GR-20261125-000001']")
    assert page.inner_text("#duplicates li").startswith("GR-20261125-000001 · 已上报 · 相距 0 米")


@pytest.mark.browser
def test_a_report_filed_offline_is_sent_once_when_the_network_returns(public_ctx, live_server,
                                                                      phone):
    page = phone
    _users(public_ctx)
    login(page, live_server, INSPECTOR, PASSWORD)
    page.wait_for_selector("#report-form[data-ready=true]")
    page.click("label[for=kind-event]")
    page.fill("#category-search", "E0102")
    page.fill("#lon", "121.480000")
    page.fill("#lat", "31.230000")
    page.dispatch_event("#lat", "change")
    page.wait_for_selector("#preview-facts:not([hidden])")
    page.fill("#description", "离线时上报的暴露垃圾")
    page.set_input_files("#photos", files=[{"name": "a.png", "mimeType": "image/png",
                                            "buffer": _png(800, 600)}])
    page.wait_for_selector("#photo-list[data-count='1']")
    # the service worker has put the form and its scripts in the phone's cache
    assert page.evaluate("navigator.serviceWorker.ready.then(() => "
                         "caches.match('/inspector/report')).then(r => r ? r.status : 0)") == 200

    page.context.set_offline(True)
    page.click("#submit")
    page.wait_for_selector("#queue-status[data-count='1']")
    assert page.inner_text("#queue-status") == "待发送：1 条"
    assert page.inner_text("#result") == "无网络：上报已保存在本机，联网后自动发送。"
    assert _cases(public_ctx) == []
    screenshot(page, "inspector-report-offline")
    # still offline, the form opens again from the cache and says what waits
    page.reload()
    page.wait_for_selector("#report-form[data-ready=true]")
    page.wait_for_selector("#queue-status[data-count='1']")
    assert page.inner_text("#queue-status") == "待发送：1 条"

    # the network comes back, but the first answer is lost on the way back: the server filed
    # the case, the phone does not know and keeps the report
    lost = []

    def drop_the_answer(route):
        route.fetch()
        lost.append(route.request.url)
        route.abort()

    page.route("**/inspector/report", drop_the_answer)
    page.context.set_offline(False)
    page.wait_for_function("() => window.navigator.onLine")
    page.wait_for_timeout(50)
    deadline_ms = 10000
    waited = 0
    while not lost and waited < deadline_ms:
        page.wait_for_timeout(100)
        waited += 100
    assert len(lost) == 1
    assert len(_cases(public_ctx)) == 1
    assert page.get_attribute("#queue-status", "data-count") == "1"

    # sent again with the same idempotency key: the server answers the first case
    page.unroute("**/inspector/report")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#queue-status[data-count='0']")
    assert page.inner_text("#result") == "手机上暂存的上报已提交，案卷号 GR-20261125-000001。"
    (case,) = _cases(public_ctx)
    assert case.description == "离线时上报的暴露垃圾" and len(case.photos) == 1
    assert case.idempotency_key.startswith("phone-")

    # My reports shows it with its state in Chinese
    page.click("header nav a[href='/inspector/reports']")
    page.wait_for_selector("#reports")
    row = page.locator("#reports li[data-public-id='GR-20261125-000001']")
    assert row.locator(".state").inner_text() == "已上报"
    assert "离线时上报的暴露垃圾" in row.inner_text()
    assert page.inner_text("#state-counts") == "已上报: 1"
    assert axe_violations(page) == []
    screenshot(page, "inspector-my-reports")



@pytest.mark.browser
def test_a_queued_report_the_service_refuses_goes_back_into_the_form(public_ctx, live_server,
                                                                      phone):
    page = phone
    _users(public_ctx)
    login(page, live_server, INSPECTOR, PASSWORD)
    page.wait_for_selector("#report-form[data-ready=true]")
    page.context.set_offline(True)
    page.click("label[for=kind-event]")
    page.fill("#category-search", "E0102")
    page.fill("#lon", "120.000000")  # outside the managed area: nobody can tell offline
    page.fill("#lat", "31.230000")
    page.fill("#description", "离线写的描述")
    page.click("#submit")
    page.wait_for_selector("#queue-status[data-count='1']")
    page.context.set_offline(False)
    page.wait_for_selector("#queue-list li")
    assert page.inner_text("#queue-status") == "待发送：0 条"
    assert page.inner_text("#queue-list li").startswith(
        "手机上暂存的一条上报被拒绝：字段 lon,lat：位置在管辖区域之外")
    page.click("#queue-list li button")
    # the report leaves the phone's queue (IndexedDB, asynchronous) and goes back into the form
    page.wait_for_selector("#queue-list li", state="detached")
    assert (page.input_value("#description"), page.input_value("#lon")) == (
        "离线写的描述", "120.000000")
    assert page.eval_on_selector("#category", "s => s.value") == "E0102"
    assert "位置在管辖区域之外" in page.inner_text("[data-error-for='lon,lat']")
    page.fill("#lon", "121.480000")
    page.click("#submit")
    page.wait_for_function("document.getElementById('result').textContent.includes('GR-')")
    (case,) = _cases(public_ctx)
    assert (case.description, case.cell_code) == ("离线写的描述", "310101001005015")

# ------------------------------------------------------------------ server side (test client)

class _Fields(HTMLParser):
    """Form controls (id, type) and the `for` of every label on a page."""

    def __init__(self):
        super().__init__()
        self.controls: list[tuple[str, str]] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append((a.get("id") or "", a.get("name") or ""))
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])


def _unlabelled(html: str) -> list[tuple[str, str]]:
    parser = _Fields()
    parser.feed(html)
    assert parser.controls
    return [c for c in parser.controls if not c[0] or c[0] not in parser.labels]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


@pytest.fixture
def web(public_ctx):
    app = create_app(public_ctx.config, context=public_ctx)
    _users(public_ctx)
    return app


def _client(app, name):
    client = app.test_client()
    token = _csrf(client.get("/login").text)
    response = client.post("/login", data={"name": name, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    return client


def _report(client, **fields):
    page = client.get("/inspector/report")
    data = {"csrf_token": _csrf(page.text), "category": "E0102", "lon": str(HERE[0]),
            "lat": str(HERE[1]), "crs": "wgs84", "description": "暴露垃圾", "kind": "event",
            "idempotency_key": "phone-test-1", **fields}
    return client.post("/inspector/report", data=data, content_type="multipart/form-data",
                       **({"headers": {"Accept": "application/json"}}
                          if fields.pop("_json", False) else {}))


def test_every_field_of_the_inspector_pages_has_a_label(web):
    client = _client(web, INSPECTOR)
    for path in ("/inspector/report", "/inspector/reports", "/inspector/tasks"):
        page = client.get(path)
        assert page.status_code == 200, path
        if path != "/inspector/tasks":  # no open task: no form on the page
            assert _unlabelled(page.text) == [], path
    form = client.get("/inspector/report?lang=en").text
    assert '<label for="category-search">Search by name, pinyin initials or code</label>' in form
    assert '<label for="kind-component">Components (部件)</label>' in form
    # 部件 and 事件 in two groups of the picker
    groups = re.findall(r'<optgroup label="([^"]+)" data-kind="(\w+)">', form)
    assert groups == [("Components (部件)", "component"), ("Events (事件)", "event")]
    assert re.search(r'data-kind="component">.*?value="C0101".*?</optgroup>', form, re.S)
    assert 'data-search="e0102 暴露垃圾 市容环境 exposed refuse city appearance bllj' in form


def test_every_message_of_the_inspector_pages_has_a_chinese_translation():
    from pathlib import Path

    from gridroute.i18n import translations
    from gridroute.web.inspector import OUTCOMES, STATE_LABELS

    folder = Path(__file__).resolve().parent.parent / "gridroute" / "web" / "templates"
    ids = set()
    for path in (folder / "inspector").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        ids |= set(re.findall(r'_\(\s*"([^"]+)"', text)) | set(re.findall(r"_\(\s*'([^']+)'", text))
    ids |= set(STATE_LABELS.values()) | {label for pair in OUTCOMES.values() for _, label in pair}
    zh = translations("zh-CN")
    assert len(ids) > 80
    assert sorted(i for i in ids if zh.gettext(i) == i) == []


def test_pages_are_for_logged_in_inspectors_only(web):
    anonymous = web.test_client().get("/inspector/report")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=/inspector/report")
    lead = _client(web, "lead")
    assert lead.get("/inspector/report").status_code == 403
    assert lead.get("/inspector/reports").status_code == 403
    refused = lead.post("/inspector/report", data={}, headers={"Accept": "application/json"})
    assert refused.status_code == 403 and refused.json["error"]["field"] == "role"


def test_a_report_without_javascript_goes_through_the_intake_path_once(web, public_ctx):
    client = _client(web, INSPECTOR)
    first = _report(client, photos=(io.BytesIO(_png(40, 30)), "a.png"))
    assert first.status_code == 302
    assert first.headers["Location"] == "/inspector/reports?filed=GR-20261125-000001"
    again = _report(client, photos=(io.BytesIO(_png(40, 30)), "a.png"))
    assert again.status_code == 302 and again.headers["Location"].endswith("000001")
    (case,) = _cases(public_ctx)
    assert (case.idempotency_key, case.reporter, case.cell_code, len(case.photos)) == (
        "phone-test-1", INSPECTOR, "310101001005015", 1)
    mine = client.get(first.headers["Location"])
    assert "已上报，案卷号 GR-20261125-000001。" in mine.text
    assert '<span class="state state-reported">已上报</span>' in mine.text


def test_a_refused_report_shows_the_message_next_to_the_field_and_keeps_the_input(web,
                                                                                  public_ctx):
    client = _client(web, INSPECTOR)
    outside = _report(client, lon="120.0", description="我写的描述")
    assert outside.status_code == 400
    slot = re.search(r'data-error-for="lon,lat" id="err-lon-lat">([^<]*)<', outside.text).group(1)
    assert slot.startswith("字段 lon,lat：位置在管辖区域之外")
    assert ">我写的描述</textarea>" in outside.text
    assert 'id="lon" name="lon" inputmode="decimal" autocomplete="off" value="120.0"' in outside.text
    assert '<option value="E0102" data-search=' in outside.text
    assert re.search(r'value="E0102"[^>]*selected', outside.text)
    unknown = _report(client, category="Z9999", _json=True)
    assert unknown.status_code == 400
    assert unknown.json["error"]["field"] == "category"
    assert unknown.json["error"]["message"] == "字段 category：取值无效（unknown category 'Z9999'）"
    not_image = _report(client, idempotency_key="phone-test-2", _json=True,
                        photos=(io.BytesIO(b"not a picture"), "x.jpg"))
    assert not_image.status_code == 400 and not_image.json["error"]["field"] == "photos"
    assert "x.jpg" in not_image.json["error"]["message"]
    ten = [(io.BytesIO(_png(8, 8)), f"{i}.png") for i in range(10)]
    too_many = _report(client, idempotency_key="phone-test-3", _json=True, photos=ten)
    assert too_many.status_code == 400 and too_many.json["error"]["field"] == "photos"
    no_csrf = client.post("/inspector/report", data={"category": "E0102"},
                          headers={"Accept": "application/json"})
    assert no_csrf.status_code == 403 and no_csrf.json["error"]["field"] == "csrf_token"
    assert _cases(public_ctx) == []


def test_the_json_answer_and_the_nearby_duplicates(web, public_ctx):
    client = _client(web, INSPECTOR)
    filed = _report(client, _json=True)
    assert filed.status_code == 201
    assert filed.json["case"]["public_id"] == "GR-20261125-000001"
    assert filed.json["created"] is True
    assert _report(client, _json=True).status_code == 200  # the same key: the first case
    near = client.get("/inspector/nearby?category=E0102&lon=121.4801&lat=31.23")
    assert near.status_code == 200
    (dup,) = near.json["likely_duplicates"]
    assert (dup["public_id"], dup["state"], dup["distance_m"]) == (
        "GR-20261125-000001", "reported", 9.5)
    assert client.get("/inspector/nearby?category=C0101&lon=121.4801&lat=31.23"
                      ).json["likely_duplicates"] == []
    outside = client.get("/inspector/nearby?category=E0102&lon=120&lat=31.23")
    assert outside.status_code == 400 and outside.json["error"]["code"] == "outside_area"
    # an inspector of another community does not see the case in the duplicates
    other = _client(web, OTHER)
    assert other.get("/inspector/nearby?category=E0102&lon=121.4801&lat=31.23"
                     ).json["likely_duplicates"] == []


def test_my_reports_lists_only_the_inspectors_own_reports(web, public_ctx):
    mine, theirs = _client(web, INSPECTOR), _client(web, OTHER)
    _report(mine, description="我的一条")
    _report(theirs, description="别人的一条", idempotency_key="phone-other-1")
    page = mine.get("/inspector/reports").text
    assert "我的一条" in page and "别人的一条" not in page
    assert re.findall(r'data-public-id="(GR-[\d-]+)"', page) == ["GR-20261125-000001"]
    other_page = theirs.get("/inspector/reports").text
    assert re.findall(r'data-public-id="(GR-[\d-]+)"', other_page) == ["GR-20261125-000002"]
    filtered = mine.get("/inspector/reports?state=closed").text
    assert 'id="no-reports"' in filtered
    english = mine.get("/inspector/reports?lang=en").text
    assert '<span class="state state-reported">Reported</span>' in english


# ------------------------------------------------------------------ my tasks

def _resolved_case(ctx, description="路边暴露垃圾", channel="inspector"):
    from gridroute.services.intake import ReportInput, submit_report
    from gridroute.services.workflow import perform

    case = submit_report(ctx, ReportInput(channel=channel, category_code="E0102", lon=HERE[0],
                                          lat=HERE[1], description=description,
                                          reporter="12345")).case
    if channel != "inspector":
        return case
    perform(ctx, case.id, "file", actor="lead", role="shift_lead")
    perform(ctx, case.id, "dispatch", actor="disp", role="dispatcher",
            payload={"unit_code": case.unit_code})
    perform(ctx, case.id, "accept", actor="greening-op", role="unit")
    perform(ctx, case.id, "resolve", actor="greening-op", role="unit",
            payload={"reply": "已清运"})
    return case


def _send(ctx, case, action, inspector=INSPECTOR):
    from gridroute.services.workflow import perform

    return perform(ctx, case.id, action, actor="acc", role="acceptor",
                   payload={"inspector": inspector}).case


def _task_id(html: str, public_id: str) -> int:
    return int(re.search(rf'id="task-(\d+)" data-task="\d+" data-kind="\w+" '
                         rf'data-public-id="{public_id}"', html).group(1))


@pytest.mark.browser
def test_a_check_task_is_passed_from_my_tasks(public_ctx, live_server, phone):
    page = phone
    _users(public_ctx)
    case = _send(public_ctx, _resolved_case(public_ctx), "send_check")
    login(page, live_server, INSPECTOR, PASSWORD)
    page.click("header nav a[href='/inspector/tasks']")
    card = page.locator(f"#tasks li[data-public-id='{case.public_id}']")
    assert card.locator("h2").inner_text() == f"核查任务 · {case.public_id}"
    assert "路边暴露垃圾" in card.inner_text()
    assert card.locator(".reply").inner_text() == "处置单位反馈： 已清运"
    assert card.locator(".due").inner_text() == "2026-11-25 10:00"  # 核查 within 1 h
    assert axe_violations(page) == []
    screenshot(page, "inspector-my-tasks")
    card.locator("label[for$='-fail']").click()
    assert card.locator("label[for$='-fail']").inner_text() == "不通过"
    card.locator("textarea").fill("")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state()
    card = page.locator(f"#tasks li[data-public-id='{case.public_id}']")
    assert card.locator("[data-error-for='note']").inner_text() == (
        "字段 note：取值无效（is required when the outcome is negative (say what was found)）")
    assert card.locator("input[value=fail]").is_checked()  # the choice is kept
    card.locator("label[for$='-pass']").click()
    assert card.locator("label[for$='-pass']").inner_text() == "通过"
    card.locator("textarea").fill("垃圾已清运干净")
    card.locator("input[type=file]").set_input_files(files=[{
        "name": "after.png", "mimeType": "image/png", "buffer": _png(2600, 1300)}])
    card.locator("button[type=submit]").click()
    page.wait_for_selector("#task-notice")
    assert page.inner_text("#task-notice") == f"{case.public_id}：通过，已记录。"
    assert page.locator("#no-tasks").is_visible()
    assert page.inner_text("#done-tasks li").startswith(f"{case.public_id} · 核查任务 · 通过")
    (stored,) = _cases(public_ctx)
    assert stored.state.value == "checked"
    (name,) = stored.photos
    assert name.endswith(".jpg")
    screenshot(page, "inspector-my-tasks-done")


def test_tasks_are_the_inspectors_own_and_refusals_keep_the_input(web, public_ctx):
    case = _send(public_ctx, _resolved_case(public_ctx), "send_check")
    mine, theirs = _client(web, INSPECTOR), _client(web, OTHER)
    page = mine.get("/inspector/tasks").text
    task = _task_id(page, case.public_id)
    assert _unlabelled(page) == []
    assert 'id="no-tasks"' in theirs.get("/inspector/tasks").text
    # another inspector's task does not exist for them
    token = _csrf(page)
    foreign = theirs.post(f"/inspector/tasks/{task}", data={
        "csrf_token": _csrf(theirs.get("/inspector/tasks").text), "outcome": "pass"})
    assert foreign.status_code == 404
    # a failed check needs a note: said next to the note, the outcome stays chosen
    no_note = mine.post(f"/inspector/tasks/{task}", data={
        "csrf_token": token, "outcome": "fail", "version": case.version})
    assert no_note.status_code == 400
    slot = re.search(rf'id="err-{task}-note">([^<]*)<', no_note.text).group(1)
    assert slot.startswith("字段 note：")
    assert re.search(rf'id="outcome-{task}-fail" name="outcome" value="fail" checked',
                     no_note.text)
    # a stale version: someone else changed the case; the page shows its state now
    stale = mine.post(f"/inspector/tasks/{task}", data={
        "csrf_token": token, "outcome": "pass", "note": "好了", "version": case.version - 1})
    assert stale.status_code == 409
    assert f"案卷 {case.public_id} 已被他人修改，当前状态：核查中。" in stale.text
    assert ">好了</textarea>" in stale.text
    done = mine.post(f"/inspector/tasks/{task}", data={
        "csrf_token": token, "outcome": "fail", "note": "仍有垃圾", "version": case.version,
        "photos": (io.BytesIO(_png(60, 40)), "still.png")}, content_type="multipart/form-data")
    assert done.status_code == 302 and done.headers["Location"] == f"/inspector/tasks?done={task}"
    assert f"{case.public_id}：不通过，已记录。" in mine.get(done.headers["Location"]).text
    (stored,) = _cases(public_ctx)
    assert stored.state.value == "rework" and len(stored.photos) == 1


def test_a_verify_task_is_confirmed_true_or_not_true(web, public_ctx):
    first = _send(public_ctx, _resolved_case(public_ctx, "热线：垃圾", "hotline"), "send_verify")
    second = _send(public_ctx, _resolved_case(public_ctx, "热线：又一处", "hotline"),
                   "send_verify")
    mine = _client(web, INSPECTOR)
    page = mine.get("/inspector/tasks?lang=en").text
    assert "Verify task (核实)" in page and "True (属实)" in page and "Not true (不属实)" in page
    token = _csrf(page)
    yes = mine.post(f"/inspector/tasks/{_task_id(page, first.public_id)}",
                    data={"csrf_token": token, "outcome": "true", "version": first.version})
    assert yes.status_code == 302
    no = mine.post(f"/inspector/tasks/{_task_id(page, second.public_id)}",
                   data={"csrf_token": token, "outcome": "false", "note": "现场没有垃圾",
                         "version": second.version})
    assert no.status_code == 302
    states = {c.public_id: c.state.value for c in _cases(public_ctx)}
    assert states == {first.public_id: "verified", second.public_id: "rejected"}
