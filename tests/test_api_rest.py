"""REST API /api/v1: scope on every read and write, workflow actions with optimistic versions,
errors naming the field in the request's language, cursor pages, reference data, grid maps and
the routing preview (issue 11 points 3, 4, 8)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gridroute.app import create_app
from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.users import add_user, create_token
from gridroute.services.workflow import perform
from helpers_api import api_with_users

pytestmark = pytest.mark.db
SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)

# (role, unit, scope)
USERS = {
    "insp": ("inspector", None, "310101001005"),
    "acc": ("acceptor", None, ""),
    "lead": ("shift_lead", None, "310101"),
    "disp": ("dispatcher", None, ""),
    "unit1": ("unit", "310101001-enforcement", ""),
    "unit2": ("unit", "310101002-enforcement", ""),
    "mgr1": ("manager", None, "310101001"),
    "mgr2": ("manager", None, "310101002"),
    "admin": ("admin", None, ""),
}
IN_STREET_1 = (121.48, 31.23)          # cell 310101001005015 (南京东路街道)
IN_STREET_2 = (121.481671, 31.24577)   # cell 310101002001001 (外滩街道)


def _file(ctx, lonlat, unit, description):
    case = submit_report(ctx, ReportInput(
        channel="inspector", category_code="E0102", lon=lonlat[0], lat=lonlat[1],
        description=description, reported_at=T0)).case
    perform(ctx, case.id, "file", actor="lead", role="shift_lead", at=T0)
    perform(ctx, case.id, "dispatch", actor="disp", role="dispatcher",
            payload={"unit_code": unit}, at=T0)
    return case.public_id


@pytest.fixture
def api(app_ctx):
    api = api_with_users(app_ctx, USERS)
    api.cases = {"c1": _file(app_ctx, IN_STREET_1, "310101001-enforcement", "垃圾 一"),
                 "c2": _file(app_ctx, IN_STREET_2, "310101002-enforcement", "垃圾 二")}
    return api


def test_without_credentials_every_endpoint_answers_401_in_the_request_language(api):
    response = api.call("GET", "/api/v1/cases", lang="zh-CN")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="gridroute"'
    assert response.json["error"]["code"] == "unauthorized"
    assert response.json["error"]["message"] == "需要登录或有效的访问令牌"
    english = api.call("GET", "/api/v1/cases", headers={"Authorization": "Bearer grt_forged"})
    assert english.status_code == 401
    assert english.json["error"]["message"] == "log in or send a valid bearer token"


def test_scope_decides_what_each_role_sees_in_the_list(api):
    def seen(user):
        response = api.call("GET", "/api/v1/cases", user)
        assert response.status_code == 200, response.json
        return sorted(c["public_id"] for c in response.json["cases"])

    both = sorted(api.cases.values())
    assert seen("acc") == both and seen("disp") == both and seen("lead") == both
    assert seen("admin") == both
    assert seen("unit1") == [api.cases["c1"]]
    assert seen("unit2") == [api.cases["c2"]]
    assert seen("mgr1") == [api.cases["c1"]]
    assert seen("mgr2") == [api.cases["c2"]]
    assert seen("insp") == [api.cases["c1"]]


def test_a_case_outside_the_scope_is_404_for_reads_and_writes(api):
    c1 = api.cases["c1"]
    for user in ("unit2", "mgr2"):
        response = api.call("GET", f"/api/v1/cases/{c1}", user)
        assert response.status_code == 404
        error = response.json["error"]
        assert (error["code"], error["field"], error["message"], error["detail"]) == (
            "not_found", "case", f"case: no case '{c1}'", f"no case '{c1}'")
    write = api.call("POST", f"/api/v1/cases/{c1}/actions/accept", "unit2", json={})
    assert write.status_code == 404
    own = api.call("GET", f"/api/v1/cases/{c1}", "unit1")
    assert own.status_code == 200
    assert own.json["allowed_actions"] == ["accept", "return", "request_suspension", "appeal"]


def test_case_detail_has_history_clocks_routing_and_duplicates(api):
    c1 = api.cases["c1"]
    twin = submit_report(api.ctx, ReportInput(
        channel="inspector", category_code="E0102", lon=IN_STREET_1[0], lat=IN_STREET_1[1],
        description="again", reported_at=T0)).case
    body = api.call("GET", f"/api/v1/cases/{twin.public_id}", "acc").json
    assert body["case"]["cell_code"] == "310101001005015"
    assert [e["action"] for e in body["history"]] == ["report"]
    assert body["likely_duplicates"][0]["public_id"] == c1
    assert body["likely_duplicates"][0]["distance_m"] == 0.0
    detail = api.call("GET", f"/api/v1/cases/{c1}", "disp").json
    assert [e["action"] for e in detail["history"]] == ["report", "file", "dispatch"]
    assert {c["phase"]: c["state"] for c in detail["clocks"]} == {
        "file": "done", "dispatch": "done", "accept": "running", "handle": "running"}
    assert detail["routing"]["ruleset_hash"]
    assert detail["case"]["reporter"] == ""  # centre roles see the field
    assert api.call("GET", f"/api/v1/cases/{c1}", "unit1").json["case"]["reporter"] is None


def test_workflow_action_with_a_stale_version_is_409_with_the_current_version(api):
    c1 = api.cases["c1"]
    version = api.call("GET", f"/api/v1/cases/{c1}", "unit1").json["case"]["version"]
    ok = api.call("POST", f"/api/v1/cases/{c1}/actions/accept", "unit1",
                  json={"version": version})
    assert ok.status_code == 200
    assert ok.json["case"]["state"] == "accepted"
    assert ok.json["case"]["version"] == version + 1
    assert ok.json["events"][0]["actor"] == "unit1"
    stale = api.call("POST", f"/api/v1/cases/{c1}/actions/resolve", "unit1",
                     json={"version": version, "payload": {"reply": "cleaned"}})
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "stale_version"
    assert stale.json["error"]["current_version"] == version + 1
    history = api.call("GET", f"/api/v1/cases/{c1}", "unit1").json["history"]
    assert [e["action"] for e in history] == ["report", "file", "dispatch", "accept"]


def test_refused_actions_name_the_field_and_reason_in_chinese_by_default(api):
    c1 = api.cases["c1"]
    response = api.call("POST", f"/api/v1/cases/{c1}/actions/return", "unit1", lang="zh-CN",
                        json={})
    assert response.status_code == 400
    assert response.json["error"]["field"] == "reason"
    assert response.json["error"]["message"] == "字段 reason：需要填写原因（return requires a reason）"
    wrong_role = api.call("POST", f"/api/v1/cases/{c1}/actions/close", "unit1", json={})
    assert wrong_role.status_code == 403
    assert wrong_role.json["error"]["message"] == (
        "role: role unit may not close; allowed roles: shift_lead")
    unknown = api.call("POST", f"/api/v1/cases/{c1}/actions/teleport", "unit1", json={})
    assert unknown.status_code == 404
    assert unknown.json["error"]["field"] == "action"
    admin = api.call("POST", f"/api/v1/cases/{c1}/actions/accept", "admin", json={})
    assert admin.status_code == 403
    bad_date = api.call("POST", f"/api/v1/cases/{c1}/actions/suspend", "disp",
                        json={"reason": "works", "payload": {"until": "next week"}})
    assert bad_date.status_code == 400
    assert bad_date.json["error"]["field"] == "payload.until"
    suspended = api.call("POST", f"/api/v1/cases/{c1}/actions/suspend", "disp",
                         json={"reason": "works", "payload": {"until": "2027-01-10T09:00+08:00"}})
    assert suspended.status_code == 200, suspended.json
    assert suspended.json["case"]["suspended_until"] == "2027-01-10T09:00:00+08:00"


def test_malformed_requests_get_400_naming_each_field(api):
    bad = api.call("GET", "/api/v1/cases?limit=0&sort=sideways", "acc")
    assert bad.status_code == 400
    fields = {e["field"] for e in bad.json["error"]["errors"]}
    assert fields == {"limit", "sort"}
    zh = api.call("GET", "/api/v1/cases?limit=abc", "acc", lang="zh-CN")
    assert zh.json["error"]["field"] == "limit"
    assert zh.json["error"]["message"].startswith("字段 limit：应为整数")
    body = api.call("POST", "/api/v1/cases", "insp", json={"category": "E0102", "lon": "x",
                                                           "lat": 31.23, "colour": "red"})
    assert body.status_code == 400
    assert {e["field"] for e in body.json["error"]["errors"]} >= {"lon", "colour"}
    broken = api.call("POST", "/api/v1/cases", "insp", data="{not json",
                      content_type="application/json")
    assert broken.status_code == 400
    naive = api.call("GET", "/api/v1/cases?reported_from=2026-11-25T09:00", "acc")
    assert naive.status_code == 400 and naive.json["error"]["field"] == "reported_from"
    cursor = api.call("GET", "/api/v1/cases?cursor=garbage", "acc")
    assert cursor.status_code == 400 and cursor.json["error"]["field"] == "cursor"


def test_inspector_reports_through_the_one_intake_path_with_idempotency(api):
    payload = {"category": "E0102", "lon": IN_STREET_1[0], "lat": IN_STREET_1[1],
               "description": "新的垃圾", "idempotency_key": "phone-1-0001"}
    first = api.call("POST", "/api/v1/cases", "insp", json=payload)
    assert first.status_code == 201, first.json
    assert first.json["case"]["channel"] == "inspector"
    assert first.json["case"]["cell_code"] == "310101001005015"
    again = api.call("POST", "/api/v1/cases", "insp", json=payload)
    assert again.status_code == 200
    assert again.json["case"]["public_id"] == first.json["case"]["public_id"]
    outside = api.call("POST", "/api/v1/cases", "insp",
                       json={**payload, "lon": 120.0, "idempotency_key": None})
    assert outside.status_code == 400 and outside.json["error"]["field"] == "lon,lat"
    assert api.call("POST", "/api/v1/cases", "unit1", json=payload).status_code == 403


def test_cases_page_through_a_cursor_sorted_by_remaining_time(api):
    for i in range(3):
        submit_report(api.ctx, ReportInput(
            channel="inspector", category_code="E0101", lon=IN_STREET_2[0], lat=IN_STREET_2[1],
            description=f"extra {i}", reported_at=T0))
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/cases?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.call("GET", url, "acc").json
        seen += [(c["next_deadline"], c["id"]) for c in body["cases"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == 5 and len({i for _, i in seen}) == 5
    deadlines = [d for d, _ in seen]
    assert deadlines == sorted(deadlines)
    first = api.call("GET", "/api/v1/cases?limit=2", "acc").json
    # inspector reports wait for the shift lead (workflow.auto_file is off by default)
    assert first["counts"] == {"dispatched": 2, "reported": 3}
    filtered = api.call("GET", "/api/v1/cases?state=reported&q=extra%201", "acc").json
    assert [c["description"] for c in filtered["cases"]] == ["extra 1"]
    by_street = api.call("GET", "/api/v1/cases?street=310101001", "acc").json
    assert [c["public_id"] for c in by_street["cases"]] == [api.cases["c1"]]


def test_categories_search_by_code_chinese_and_pinyin_initials(api):
    def codes(q):
        response = api.call("GET", f"/api/v1/categories?q={q}", "insp")
        assert response.status_code == 200
        return [c["code"] for c in response.json["categories"]]

    assert codes("E0102") == ["E0102"]
    assert codes("暴露垃圾") == ["E0102"]
    assert "E0102" in codes("blljs"[:4])
    assert codes("ssjg")[0] == "C0101"
    one = api.call("GET", "/api/v1/categories/C0101", "insp").json
    assert one["minor_name_zh"] == "上水井盖" and one["standards"]
    assert api.call("GET", "/api/v1/categories/Z9999", "insp").status_code == 404
    kind = api.call("GET", "/api/v1/categories?kind=component&limit=500", "insp").json
    assert kind["categories"] and {c["kind"] for c in kind["categories"]} == {"component"}


def test_units_standards_grid_and_routing_preview(api):
    units = api.call("GET", "/api/v1/units?street=310101001", "disp").json["units"]
    assert "310101001-enforcement" in [u["code"] for u in units]
    assert "310101002-enforcement" not in [u["code"] for u in units]
    assert api.call("GET", "/api/v1/units/nope", "disp").status_code == 404
    standards = api.call("GET", "/api/v1/standards?category=E0102", "disp").json["standards"]
    assert standards and {s["category_code"] for s in standards} == {"E0102"}
    cells = api.call("GET", "/api/v1/grid/cells", "insp").json
    assert cells["type"] == "FeatureCollection" and len(cells["features"]) == 1226
    streets = api.call("GET", "/api/v1/grid/streets", "insp").json
    assert len(streets["features"]) == 10
    assert streets["features"][0]["properties"]["street_name"] == "南京东路街道"
    one_street = api.call("GET", "/api/v1/grid/communities?street=310101001", "insp").json
    assert {f["properties"]["street_code"] for f in one_street["features"]} == {"310101001"}
    preview = api.call("GET", "/api/v1/rules/explain?category=E0102&lon=121.48&lat=31.23"
                       "&at=2026-11-25T09:00:00%2B08:00", "insp")
    assert preview.status_code == 200, preview.json
    assert preview.json["cell_code"] == "310101001005015"
    assert preview.json["street_name"] == "南京东路街道"
    outside = api.call("GET", "/api/v1/rules/explain?category=E0102&lon=120&lat=31.23", "insp")
    assert outside.status_code == 400 and outside.json["error"]["code"] == "outside_area"


def test_token_login_is_rate_limited_with_retry_after(api):
    for _ in range(5):
        wrong = api.call("POST", "/api/v1/auth/token", json={"name": "disp",
                                                             "password": "nope-nope"})
        assert wrong.status_code == 401
    throttled = api.call("POST", "/api/v1/auth/token", json={"name": "disp",
                                                             "password": "correct-horse"})
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 900
    ok = api.call("POST", "/api/v1/auth/token", json={"name": "acc", "password": "correct-horse"})
    assert ok.status_code == 201
    token = ok.json["token"]
    me = api.call("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json == {"name": "acc", "role": "acceptor", "unit_code": None, "scope": []}


def test_openapi_document_describes_every_endpoint(api):
    doc = api.call("GET", "/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/api/v1/auth/token", "/api/v1/me", "/api/v1/cases", "/api/v1/cases/{ref}",
        "/api/v1/actions", "/api/v1/cases/{ref}/actions/{action}", "/api/v1/units",
        "/api/v1/units/{code}", "/api/v1/categories", "/api/v1/categories/{code}",
        "/api/v1/standards", "/api/v1/grid/cells", "/api/v1/grid/communities",
        "/api/v1/grid/streets", "/api/v1/rules/explain", "/api/v1/tasks",
        "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/complete",
        "/api/v1/cases/{ref}/tasks",
        "/api/v1/kpi", "/api/v1/kpi/chronic", "/api/v1/kpi/chronic.geojson"}
    limit = [p for p in doc["paths"]["/api/v1/cases"]["get"]["parameters"]
             if p["name"] == "limit"][0]
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 200


ROLES = list(USERS)
_ALL_OK = {u: 200 for u in ROLES}
_REPORTERS = {u: (201 if USERS[u][0] in ("inspector", "acceptor", "shift_lead") else 403)
              for u in ROLES}
_C1_READ = {**_ALL_OK, "unit2": 404, "mgr2": 404}
_C1_ACCEPT = {**{u: 403 for u in ROLES}, "unit1": 200, "unit2": 404, "mgr2": 404}
_TASKS = {**_ALL_OK, "unit1": 403, "unit2": 403}
_T1_READ = {**_TASKS, "mgr2": 404}
_T1_COMPLETE = {**{u: 403 for u in ROLES}, "insp": 200, "mgr2": 404}
_MANAGERS = {**{u: 403 for u in ROLES}, "mgr1": 200, "mgr2": 200, "admin": 200}

# every endpoint of the API (the OpenAPI test checks that this list is complete)
WALK = [
    ("GET", "/api/v1/me", None, _ALL_OK),
    ("GET", "/api/v1/cases", None, _ALL_OK),
    ("GET", "/api/v1/cases/{c1}", None, _C1_READ),
    ("GET", "/api/v1/actions", None, _ALL_OK),
    ("POST", "/api/v1/cases/{c1}/actions/accept", {}, _C1_ACCEPT),
    ("POST", "/api/v1/cases", {"category": "E0101", "lon": IN_STREET_2[0],
                               "lat": IN_STREET_2[1]}, _REPORTERS),
    ("GET", "/api/v1/units", None, _ALL_OK),
    ("GET", "/api/v1/units/310101001-enforcement", None, _ALL_OK),
    ("GET", "/api/v1/categories?q=垃圾", None, _ALL_OK),
    ("GET", "/api/v1/categories/E0102", None, _ALL_OK),
    ("GET", "/api/v1/standards?category=E0102", None, _ALL_OK),
    ("GET", "/api/v1/grid/cells?street=310101001", None, _ALL_OK),
    ("GET", "/api/v1/grid/communities", None, _ALL_OK),
    ("GET", "/api/v1/grid/streets", None, _ALL_OK),
    ("GET", "/api/v1/rules/explain?category=E0102&lon=121.48&lat=31.23", None, _ALL_OK),
    ("GET", "/api/v1/tasks", None, _TASKS),
    ("GET", "/api/v1/tasks?state=any&kind=verify", None, _TASKS),
    ("GET", "/api/v1/tasks/{t1}", None, _T1_READ),
    ("GET", "/api/v1/cases/{c3}/tasks", None, _T1_READ),
    ("POST", "/api/v1/tasks/{t1}/complete", {"outcome": True, "note": "属实"}, _T1_COMPLETE),
    ("GET", "/api/v1/kpi?from=2026-11-25&to=2026-11-26", None, _MANAGERS),
    ("GET", "/api/v1/kpi/chronic", None, _MANAGERS),
    ("GET", "/api/v1/kpi/chronic.geojson", None, _MANAGERS),
]


@pytest.fixture
def walk(api):
    """`api` with a verify task (t1) on a public report c3 in cell 310101001005015, sent to
    the inspector `insp` (who patrols it; the sample roster does not list test users)."""
    from gridroute.services.workflow import perform_in

    case = submit_report(api.ctx, ReportInput(
        channel="public", category_code="E0102", lon=IN_STREET_1[0], lat=IN_STREET_1[1],
        description="待核实", reported_at=T0)).case
    with api.ctx.uow() as uow:
        result = perform_in(api.ctx, uow, case.id, "send_verify", actor="acc", role="acceptor",
                            payload={"inspector": "insp"}, at=T0, check_roster=False)
        uow.commit()
    assert result.case.state.value == "verifying"
    tasks = api.call("GET", f"/api/v1/cases/{case.public_id}/tasks", "acc").json["tasks"]
    return api, {"c3": case.public_id, "t1": tasks[0]["id"]}


@pytest.mark.parametrize("user", ROLES)
def test_every_endpoint_with_every_role(walk, user):
    api, refs = walk
    for method, path, body, expected in WALK:
        url = path.format(**api.cases, **refs)
        response = api.call(method, url, user, json=body) if body is not None else \
            api.call(method, url, user)
        assert response.status_code == expected[user], (method, url, user, response.json)
        anonymous = api.call(method, url, json=body) if body is not None else \
            api.call(method, url)
        assert anonymous.status_code == 401, (method, url)


def test_the_role_walk_covers_every_documented_operation(api):
    doc = api.call("GET", "/api/v1/openapi.json").json
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    walked = {(m, p.split("?")[0].replace("{c1}", "{ref}").replace(
        "/actions/accept", "/actions/{action}").replace("310101001-enforcement", "{code}")
        .replace("E0102", "{code}").replace("{t1}", "{task_id}").replace("{c3}", "{ref}"))
        for m, p, _, _ in WALK}
    assert documented - walked == {("POST", "/api/v1/auth/token")}  # public: the login itself


def test_a_busy_database_answers_503_with_retry_after_and_writes_nothing(seeded_db_url):
    """SQLite: another writer holds the lock past the busy timeout."""
    if not seeded_db_url.startswith("sqlite"):
        pytest.skip("the write lock is held the SQLite way here")
    import sqlite3

    from gridroute.config import load_config
    from gridroute.services.context import build_context

    ctx = build_context(load_config(env={}).replace(
        database={"url": seeded_db_url, "busy_timeout_ms": 100}))
    app = create_app(ctx.config, context=ctx)
    add_user(ctx, "insp", role="inspector", password="correct-horse", scope="310101001")
    token = create_token(ctx, "insp", actor="test")[1]
    holder = sqlite3.connect(seeded_db_url[len("sqlite:///"):], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = app.test_client().post(
            "/api/v1/cases", json={"category": "E0102", "lon": 121.48, "lat": 31.23},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["error"]["code"] == "database_busy"
    assert response.json["error"]["message"] == "database busy, try again"
    with ctx.uow(read_only=True) as uow:
        assert uow.cases.count() == 0
    ctx.close()
