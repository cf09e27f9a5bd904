"""GET /api/v1/kpi and /api/v1/kpi/chronic(.geojson) over a database history (SQLite and
PostgreSQL): the numbers of gridroute/reports/indicators.py, managers in their scope, admins
everywhere, other roles 403, bad input 400 naming the field."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.workflow import perform
from helpers_api import api_with_users

pytestmark = pytest.mark.db
SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)   # Wednesday
AS_OF = "2026-11-26T17:00:00+08:00"
STREET_1 = (121.48, 31.23)           # cell 310101001005015
STREET_2 = (121.481671, 31.24577)    # cell 310101002001001
U1, U2 = "310101001-enforcement", "310101002-enforcement"
INSPECTOR = "insp-310101001005"

# Street 310101001: a closed on time (60 working minutes of 4 hours), b open and overdue at
# AS_OF (Wed 09:10 → Thu 17:00), c voided. Street 310101002: d open and overdue.
STREET_1_ROW = {
    "group": "310101001", "reported": 3, "filed": 3, "filing_rate": 1.0, "voided": 1,
    "accurate_filing_rate": 0.6667, "merged": 0, "suspended": 0, "due_to_close": 2,
    "closed": 1, "closure_rate": 0.5, "closed_on_time": 1, "on_time_closure_rate": 0.5,
    "public_share": 0.0, "self_handled": 0, "due_to_handle": 2, "handled": 1,
    "handled_on_time": 1, "handling_rate": 0.5, "on_time_handling_rate": 0.5, "reworked": 0,
    "rework_rate": 0.0, "overdue_open": 1, "overdue_open_rate": 0.5, "extended": 0,
    "extension_rate": 0.0, "avg_handling_working_hours": 1.0, "score": 53.3, "grade": "D"}
STREET_2_ROW = {
    "group": "310101002", "reported": 1, "filed": 1, "filing_rate": 1.0, "voided": 0,
    "accurate_filing_rate": 1.0, "merged": 0, "suspended": 0, "due_to_close": 1,
    "closed": 0, "closure_rate": 0.0, "closed_on_time": 0, "on_time_closure_rate": 0.0,
    "public_share": 0.0, "self_handled": 0, "due_to_handle": 1, "handled": 0,
    "handled_on_time": 0, "handling_rate": 0.0, "on_time_handling_rate": 0.0, "reworked": 0,
    "rework_rate": None, "overdue_open": 1, "overdue_open_rate": 1.0, "extended": 0,
    "extension_rate": 0.0, "avg_handling_working_hours": None, "score": 20.0, "grade": "E"}


def m(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _report(ctx, lonlat) -> int:
    case = submit_report(ctx, ReportInput(channel="inspector", category_code="E0102",
                                          lon=lonlat[0], lat=lonlat[1], description="垃圾",
                                          reported_at=T0)).case
    perform(ctx, case.id, "file", actor="lead", role="shift_lead", at=m(5))
    return case.id


def _dispatch(ctx, case_id, unit):
    perform(ctx, case_id, "dispatch", actor="disp", role="dispatcher",
            payload={"unit_code": unit}, at=m(10))


def build_history(ctx) -> dict[str, int]:
    """The four cases above; answers their ids."""
    a = _report(ctx, STREET_1)
    _dispatch(ctx, a, U1)
    for action, actor, role, minute, payload in (
            ("accept", "u1", "unit", 20, {}),
            ("resolve", "u1", "unit", 70, {"reply": "清理完毕"}),
            ("send_check", "acc", "acceptor", 75, {"inspector": INSPECTOR}),
            ("check_pass", INSPECTOR, "inspector", 90, {}),
            ("close", "lead", "shift_lead", 100, {})):
        perform(ctx, a, action, actor=actor, role=role, payload=payload, at=m(minute))
    b = _report(ctx, STREET_1)
    _dispatch(ctx, b, U1)
    perform(ctx, b, "accept", actor="u1", role="unit", at=m(20))
    c = _report(ctx, STREET_1)
    perform(ctx, c, "void", actor="lead", role="shift_lead", reason="重复", at=m(30))
    d = _report(ctx, STREET_2)
    _dispatch(ctx, d, U2)
    return {"a": a, "b": b, "c": c, "d": d}


USERS = {"mgr1": ("manager", None, "310101001"), "admin": ("admin", None, ""),
         "insp": ("inspector", None, "310101001005"), "disp": ("dispatcher", None, "")}


@pytest.fixture
def api(app_ctx):
    rest = api_with_users(app_ctx, USERS)
    tokens, client = rest.tokens, rest.client
    ids = build_history(app_ctx)

    def call(path, user=None, **query):
        headers = {"Accept-Language": "en"}
        if user:
            headers["Authorization"] = f"Bearer {tokens[user]}"
        return client.get(path, headers=headers, query_string=query)
    call.ids = ids
    call.ctx = app_ctx
    return call


PERIOD = {"from": "2026-11-25", "to": "2026-11-26", "as_of": AS_OF}


def test_admin_reads_every_street(api):
    response = api("/api/v1/kpi", "admin", by="street", **PERIOD)
    assert response.status_code == 200
    body = response.json
    assert (body["from"], body["to"], body["as_of"], body["by"], body["category"]) == (
        "2026-11-25T00:00:00+08:00", "2026-11-26T00:00:00+08:00", AS_OF, "street", None)
    assert body["columns"][:3] == ["group", "reported", "filed"]
    assert body["rows"] == [STREET_1_ROW, STREET_2_ROW]


def test_manager_sees_only_the_own_street(api):
    response = api("/api/v1/kpi", "mgr1", by="street", **PERIOD)
    assert response.status_code == 200
    assert response.json["rows"] == [STREET_1_ROW]
    units = api("/api/v1/kpi", "mgr1", by="unit", **PERIOD).json["rows"]
    assert [(r["group"], r["due_to_handle"], r["handled"], r["overdue_open"]) for r in units] \
        == [(U1, 2, 1, 1)]


def test_by_unit_and_posts(api):
    rows = api("/api/v1/kpi", "admin", by="unit", **PERIOD).json["rows"]
    assert [(r["group"], r["due_to_handle"], r["handled"], r["handled_on_time"],
             r["overdue_open"], r["score"], r["grade"]) for r in rows] == [
        (U1, 2, 1, 1, 1, 60.0, "C"), (U2, 1, 0, 0, 1, 0.0, "E")]
    (disp,) = api("/api/v1/kpi", "admin", by="dispatcher", **PERIOD).json["rows"]
    assert disp == {"group": "disp", "dispatched": 3, "dispatched_on_time": 3,
                    "on_time_dispatch_rate": 1.0, "returned": 0,
                    "accurate_dispatch_rate": 1.0, "score": 100.0, "grade": "A"}
    (lead,) = api("/api/v1/kpi", "admin", by="shift_lead", **PERIOD).json["rows"]
    assert (lead["filed"], lead["filed_on_time"], lead["on_time_filing_rate"]) == (4, 4, 1.0)
    rows = api("/api/v1/kpi", "admin", by="inspector", **PERIOD).json["rows"]
    assert [(r["group"], r["check_tasks"], r["checked_on_time"]) for r in rows] == [
        (INSPECTOR, 1, 1)]


def test_category_filter(api):
    assert api("/api/v1/kpi", "admin", by="street", category="E01", **PERIOD).json["rows"] \
        == [STREET_1_ROW, STREET_2_ROW]
    assert api("/api/v1/kpi", "admin", by="street", category="C01", **PERIOD).json["rows"] \
        == []


def test_other_roles_are_refused(api):
    assert api("/api/v1/kpi", None, **PERIOD).status_code == 401
    for user in ("insp", "disp"):
        response = api("/api/v1/kpi", user, **PERIOD)
        assert response.status_code == 403
        assert response.json["error"]["field"] == "role"


@pytest.mark.parametrize("query, field", [
    ({"from": "yesterday", "to": "2026-11-26"}, "from"),
    ({"from": "2026-11-25", "to": "2026-13-01"}, "to"),
    ({"from": "2026-11-26", "to": "2026-11-25"}, "to"),
    ({"from": "2026-11-25", "to": "2026-11-26", "as_of": "soon"}, "as_of"),
    ({"from": "2026-11-25", "to": "2026-11-26", "by": "planet"}, "by"),
    ({"to": "2026-11-26"}, "from"),
])
def test_bad_input_names_the_field(api, query, field):
    response = api("/api/v1/kpi", "admin", **query)
    assert response.status_code == 400
    assert response.json["error"]["field"] == field


def test_chronic_spots_and_geojson(api):
    ids = api.ids
    # two live E0102 reports in cell 310101001005015 (the voided one does not count)
    none = api("/api/v1/kpi/chronic", "admin", as_of=AS_OF)
    assert none.status_code == 200
    assert none.json == {"as_of": AS_OF, "days": 30, "min_cases": 3, "category": None,
                         "spots": []}
    body = api("/api/v1/kpi/chronic", "admin", as_of=AS_OF, min_cases=2).json
    codes = [f"GR-20261125-{ids[k]:06d}" for k in ("a", "b")]
    assert body["spots"] == [{
        "cell_code": "310101001005015", "community_code": "310101001005",
        "street_code": "310101001", "category_code": "E0102", "count": 2, "cases": codes,
        "first_reported": "2026-11-25T09:00:00+08:00",
        "last_reported": "2026-11-25T09:00:00+08:00"}]
    assert api(f"/api/v1/cases/{codes[0]}", "admin").status_code == 200
    geo = api("/api/v1/kpi/chronic.geojson", "admin", as_of=AS_OF, min_cases=2).json
    assert geo["type"] == "FeatureCollection"
    (feature,) = geo["features"]
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert (feature["properties"]["cell_code"], feature["properties"]["count"]) == (
        "310101001005015", 2)
    # outside the window, outside the scope, refused roles, bad values
    assert api("/api/v1/kpi/chronic", "admin", as_of="2027-02-01T00:00:00+08:00",
               min_cases=2).json["spots"] == []
    mgr2 = api("/api/v1/kpi/chronic", "mgr1", as_of=AS_OF, min_cases=2).json["spots"]
    assert [s["cell_code"] for s in mgr2] == ["310101001005015"]
    assert api("/api/v1/kpi/chronic", "insp").status_code == 403
    bad = api("/api/v1/kpi/chronic", "admin", min_cases=1)
    assert (bad.status_code, bad.json["error"]["field"]) == (400, "min_cases")


def test_openapi_lists_the_kpi_endpoints(api):
    doc = api("/api/v1/openapi.json").json
    for path in ("/api/v1/kpi", "/api/v1/kpi/chronic", "/api/v1/kpi/chronic.geojson"):
        assert "get" in doc["paths"][path], path
    names = [p["name"] for p in doc["paths"]["/api/v1/kpi"]["get"]["parameters"]]
    assert {"from", "to", "as_of", "by", "category"} <= set(names)
