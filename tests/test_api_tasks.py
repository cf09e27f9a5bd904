"""Verify (核实) and check (核查) tasks in the REST API: the inspector's own open tasks in their
cells, the centre's view in its scope, and completing a task through the workflow in one
transaction with optimistic versions (issue 11 point 3)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.workflow import perform
from helpers_api import api_with_users

pytestmark = pytest.mark.db
SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)  # public_ctx's frozen clock
INSP1 = "insp-310101001005"  # patrols community 310101001005 (南京东路街道)
INSP2 = "insp-310101002001"  # patrols community 310101002001 (外滩街道)
USERS = {
    INSP1: ("inspector", None, "310101001005"),
    INSP2: ("inspector", None, "310101002001"),
    "acc": ("acceptor", None, ""),
    "lead": ("shift_lead", None, "310101"),
    "mgr2": ("manager", None, "310101002"),
    "unit1": ("unit", "310101001-enforcement", ""),
}
IN_STREET_1 = (121.48, 31.23)          # cell 310101001005015
IN_STREET_2 = (121.481671, 31.24577)   # cell 310101002001001


def _report(ctx, lonlat, description, at=T0):
    return submit_report(ctx, ReportInput(
        channel="public", category_code="E0102", lon=lonlat[0], lat=lonlat[1],
        description=description, reported_at=at)).case


def _send_verify(ctx, case, inspector, at=T0):
    perform(ctx, case.id, "send_verify", actor="acc", role="acceptor",
            payload={"inspector": inspector}, at=at)


def _resolved(ctx, lonlat, description, unit="310101001-enforcement", at=T0):
    """A case the unit has fixed, waiting for its check task."""
    case = _report(ctx, lonlat, description, at)
    _send_verify(ctx, case, INSP1 if lonlat == IN_STREET_1 else INSP2, at)
    perform(ctx, case.id, "verify", actor=INSP1 if lonlat == IN_STREET_1 else INSP2,
            role="inspector", at=at)
    perform(ctx, case.id, "file", actor="lead", role="shift_lead", at=at)
    perform(ctx, case.id, "dispatch", actor="disp", role="dispatcher",
            payload={"unit_code": unit}, at=at)
    perform(ctx, case.id, "accept", actor="unit1", role="unit", at=at)
    perform(ctx, case.id, "resolve", actor="unit1", role="unit", payload={"reply": "清理完毕"},
            at=at)
    return case


@pytest.fixture
def api(public_ctx):
    return api_with_users(public_ctx, USERS)


def _tasks(api, user, query=""):
    response = api.call("GET", f"/api/v1/tasks{query}", user)
    assert response.status_code == 200, response.json
    return response.json["tasks"]


def test_an_inspector_sees_their_open_tasks_with_the_case_summary(api):
    ctx = api.ctx
    r1 = _report(ctx, IN_STREET_1, "路边垃圾堆积")
    _send_verify(ctx, r1, INSP1)
    r2 = _report(ctx, IN_STREET_2, "外滩垃圾")
    _send_verify(ctx, r2, INSP2)
    tasks = _tasks(api, INSP1)
    assert len(tasks) == 1
    task = tasks[0]
    assert {k: task[k] for k in ("kind", "state", "inspector", "sent_by", "sent_at", "due_at",
                                 "outcome", "completed_at", "photos")} == {
        "kind": "verify", "state": "open", "inspector": INSP1, "sent_by": "acc",
        "sent_at": "2026-11-25T09:00:00+08:00", "due_at": "2026-11-25T10:00:00+08:00",
        "outcome": None, "completed_at": None, "photos": []}
    assert task["case"] == {
        "id": r1.id, "public_id": r1.public_id, "version": 2, "state": "verifying",
        "category_code": "E0102", "category_name_zh": "暴露垃圾",
        "category_name_en": task["case"]["category_name_en"], "description": "路边垃圾堆积",
        "lon": 121.48, "lat": 31.23, "address": task["case"]["address"],
        "cell_code": "310101001005015", "community_code": "310101001005",
        "street_code": "310101001", "photos": []}
    assert "南京东路街道" in task["case"]["address"]
    assert [t["case"]["public_id"] for t in _tasks(api, INSP2)] == [r2.public_id]
    one = api.call("GET", f"/api/v1/tasks/{task['id']}", INSP1)
    assert one.status_code == 200 and one.json == task
    # another inspector's task (outside their cells) does not exist for them
    hidden = api.call("GET", f"/api/v1/tasks/{task['id']}", INSP2)
    assert hidden.status_code == 404
    assert hidden.json["error"]["field"] == "task"
    assert api.call("GET", "/api/v1/tasks/999999", INSP1).status_code == 404


def test_open_tasks_come_soonest_due_first_and_the_centre_filters_by_kind_and_cell(api):
    ctx = api.ctx
    checked = _resolved(ctx, IN_STREET_1, "已处置", at=T0 - timedelta(hours=1))
    perform(ctx, checked.id, "send_check", actor="acc", role="acceptor",
            payload={"inspector": INSP1}, at=T0 - timedelta(minutes=30))
    later = _report(ctx, IN_STREET_1, "新报告")
    _send_verify(ctx, later, INSP1)
    outside = _report(ctx, IN_STREET_2, "外滩")
    _send_verify(ctx, outside, INSP2)
    mine = _tasks(api, INSP1)
    # 1 working hour from 08:30 and from 09:00
    assert [(t["kind"], t["due_at"]) for t in mine] == [
        ("check", "2026-11-25T09:30:00+08:00"), ("verify", "2026-11-25T10:00:00+08:00")]
    assert len(_tasks(api, "acc")) == 3
    assert [t["kind"] for t in _tasks(api, "acc", "?kind=check")] == ["check"]
    assert [t["case"]["public_id"] for t in _tasks(api, "acc", "?cell=310101002001001")] == [
        outside.public_id]
    assert [t["inspector"] for t in _tasks(api, "acc", f"?inspector={INSP2}")] == [INSP2]
    assert [t["case"]["public_id"] for t in _tasks(api, "mgr2")] == [outside.public_id]
    assert len(_tasks(api, "lead")) == 3  # the district 310101
    # the verify task sent earlier on `checked` is done; open only by default
    assert [t["kind"] for t in _tasks(api, INSP1, "?state=done")] == ["verify"]
    assert len(_tasks(api, INSP1, "?state=any")) == 3
    assert api.call("GET", "/api/v1/tasks", "unit1").status_code == 403
    bad = api.call("GET", "/api/v1/tasks?kind=inspect&state=later", "acc")
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json["error"]["errors"]} == {"kind", "state"}


def test_verify_true_runs_the_workflow_and_marks_the_task_done(api):
    ctx = api.ctx
    r1 = _report(ctx, IN_STREET_1, "垃圾")
    _send_verify(ctx, r1, INSP1)
    task = _tasks(api, INSP1)[0]
    done = api.call("POST", f"/api/v1/tasks/{task['id']}/complete", INSP1,
                    json={"outcome": True, "note": "现场属实", "version": 2})
    assert done.status_code == 200, done.json
    body = done.json
    assert (body["state"], body["outcome"], body["completed_by"], body["completed_at"],
            body["note"], body["ended_by_action"], body["due_at"]) == (
        "done", True, INSP1, "2026-11-25T09:00:00+08:00", "现场属实", "verify", None)
    assert body["case"]["state"] == "verified" and body["case"]["version"] == 3
    assert _tasks(api, INSP1) == []
    detail = api.call("GET", f"/api/v1/cases/{r1.public_id}", "acc").json
    last = detail["history"][-1]
    assert (last["action"], last["actor"], last["reason"], last["payload"]["task_id"]) == (
        "verify", INSP1, "现场属实", task["id"])
    assert {c["phase"]: c["state"] for c in detail["clocks"]}["verify"] == "done"
    again = api.call("POST", f"/api/v1/tasks/{task['id']}/complete", INSP1,
                     json={"outcome": True, "version": 3})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "task_closed"
    assert again.json["error"]["current_version"] == 3


def test_verify_false_needs_a_note_and_rejects_the_report(api):
    ctx = api.ctx
    r1 = _report(ctx, IN_STREET_1, "垃圾")
    _send_verify(ctx, r1, INSP1)
    task_id = _tasks(api, INSP1)[0]["id"]
    url = f"/api/v1/tasks/{task_id}/complete"
    missing = api.call("POST", url, INSP1, lang="zh-CN", json={"outcome": False})
    assert missing.status_code == 400
    assert missing.json["error"]["field"] == "note"
    assert missing.json["error"]["message"].startswith("字段 note：")
    bad = api.call("POST", url, INSP1, json={"outcome": "maybe"})
    assert bad.status_code == 400 and bad.json["error"]["errors"][0]["field"].startswith(
        "outcome")
    done = api.call("POST", url, INSP1, json={"outcome": False, "note": "现场无垃圾"})
    assert done.status_code == 200, done.json
    assert (done.json["outcome"], done.json["case"]["state"]) == (False, "rejected")


def test_a_stale_version_is_409_and_changes_nothing(api):
    ctx = api.ctx
    r1 = _report(ctx, IN_STREET_1, "垃圾")
    _send_verify(ctx, r1, INSP1)
    task_id = _tasks(api, INSP1)[0]["id"]
    stale = api.call("POST", f"/api/v1/tasks/{task_id}/complete", INSP1,
                     json={"outcome": True, "version": 1})
    assert stale.status_code == 409
    assert (stale.json["error"]["code"], stale.json["error"]["current_version"]) == (
        "stale_version", 2)
    assert _tasks(api, INSP1)[0]["state"] == "open"
    history = api.call("GET", f"/api/v1/cases/{r1.public_id}", "acc").json["history"]
    assert [e["action"] for e in history] == ["report", "send_verify"]


def test_only_the_inspector_completes_and_scope_hides_other_cells(api):
    ctx = api.ctx
    r1 = _report(ctx, IN_STREET_1, "垃圾")
    _send_verify(ctx, r1, INSP1)
    task_id = _tasks(api, INSP1)[0]["id"]
    url = f"/api/v1/tasks/{task_id}/complete"
    body = {"outcome": True}
    acc = api.call("POST", url, "acc", json=body)
    assert acc.status_code == 403 and acc.json["error"]["code"] == "role_not_allowed"
    assert api.call("POST", url, INSP2, json=body).status_code == 404
    assert api.call("POST", url, "mgr2", json=body).status_code == 404
    assert api.call("POST", url, "unit1", json=body).status_code == 403
    assert api.call("POST", url, INSP1, json=body).status_code == 200


def test_check_fail_sends_the_case_back_and_a_new_check_is_a_new_task(api):
    ctx = api.ctx
    case = _resolved(ctx, IN_STREET_1, "井盖")
    perform(ctx, case.id, "send_check", actor="acc", role="acceptor",
            payload={"inspector": INSP1}, at=T0)
    first = _tasks(api, INSP1)[0]
    assert first["kind"] == "check"
    failed = api.call("POST", f"/api/v1/tasks/{first['id']}/complete", INSP1,
                      json={"outcome": "fail", "note": "仍有垃圾",
                            "version": first["case"]["version"]})
    assert failed.status_code == 200, failed.json
    assert (failed.json["outcome"], failed.json["case"]["state"]) == (False, "rework")
    perform(ctx, case.id, "resolve", actor="unit1", role="unit", payload={"reply": "再次清理"},
            at=T0)
    perform(ctx, case.id, "send_check", actor="acc", role="acceptor",
            payload={"inspector": INSP1}, at=T0)
    second = _tasks(api, INSP1)[0]
    assert second["id"] != first["id"]
    passed = api.call("POST", f"/api/v1/tasks/{second['id']}/complete", INSP1,
                      json={"outcome": "pass"})
    assert (passed.json["state"], passed.json["case"]["state"]) == ("done", "checked")
    listing = api.call("GET", f"/api/v1/cases/{case.public_id}/tasks", "acc")
    assert listing.status_code == 200
    assert [(t["kind"], t["state"], t["outcome"]) for t in listing.json["tasks"]] == [
        ("verify", "done", True), ("check", "done", False), ("check", "done", True)]
    assert api.call("GET", f"/api/v1/cases/{case.public_id}/tasks", "mgr2").status_code == 404


def test_photos_taken_on_site_join_the_case_and_the_history(api):
    from PIL import Image

    from gridroute.services.photos import Upload, process

    ctx = api.ctx
    r1 = _report(ctx, IN_STREET_1, "垃圾")
    _send_verify(ctx, r1, INSP1)
    task_id = _tasks(api, INSP1)[0]["id"]
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, format="PNG")
    photo = process(ctx, Upload(buffer.getvalue(), "site.png")).name
    url = f"/api/v1/tasks/{task_id}/complete"
    unknown = api.call("POST", url, INSP1, json={"outcome": True, "photos": ["a" * 64 + ".jpg"]})
    assert unknown.status_code == 400 and unknown.json["error"]["field"] == "photos"
    done = api.call("POST", url, INSP1, json={"outcome": True, "photos": [photo]})
    assert done.status_code == 200, done.json
    assert done.json["photos"] == [photo]
    assert done.json["case"]["photos"] == [photo]
    seen = api.call("GET", f"/photos/{r1.public_id}/{photo}", "acc")
    assert seen.status_code == 200 and seen.mimetype == "image/png"


def test_a_voided_check_is_cancelled_not_done(api):
    ctx = api.ctx
    case = _resolved(ctx, IN_STREET_1, "井盖")
    perform(ctx, case.id, "send_check", actor="acc", role="acceptor",
            payload={"inspector": INSP1}, at=T0)
    perform(ctx, case.id, "void", actor="lead", role="shift_lead", reason="重复立案", at=T0)
    assert _tasks(api, INSP1) == []
    cancelled = _tasks(api, "acc", "?state=cancelled")
    assert [(t["kind"], t["state"], t["outcome"], t["ended_by_action"]) for t in cancelled] == [
        ("check", "cancelled", None, "void")]
    closed = api.call("POST", f"/api/v1/tasks/{cancelled[0]['id']}/complete", INSP1,
                      json={"outcome": "pass"})
    assert closed.status_code == 409 and closed.json["error"]["code"] == "task_closed"


def test_done_tasks_are_read_page_by_page_latest_first(api, monkeypatch):
    import gridroute.services.tasks as tasks

    monkeypatch.setattr(tasks, "_PAGE", 2)  # a long history in small pages
    ctx = api.ctx
    verified = []
    for i in range(3):
        case = _report(ctx, IN_STREET_1, f"垃圾 {i}")
        _send_verify(ctx, case, INSP1)
        perform(ctx, case.id, "verify", actor=INSP1, role="inspector", at=T0)
        verified.append(case.public_id)
    other = _report(ctx, IN_STREET_2, "外滩")
    _send_verify(ctx, other, INSP2)
    perform(ctx, other.id, "verify", actor=INSP2, role="inspector", at=T0)
    mine = _tasks(api, INSP1, "?state=done")
    assert [t["case"]["public_id"] for t in mine] == verified[::-1]
    assert [t["case"]["public_id"] for t in _tasks(api, INSP1, "?state=done&limit=2")] == (
        verified[::-1][:2])
    assert [t["case"]["public_id"] for t in _tasks(api, "acc", f"?state=done&inspector={INSP2}")
            ] == [other.public_id]
    assert len(_tasks(api, "acc", "?state=any")) == 4
