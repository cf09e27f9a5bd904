"""Verify/check tasks, centre limits, 自行处置 through the services; every history event carries
time, actor, role and unit, and replaying the events rebuilds the case."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from gridroute.cases.history import rebuild
from gridroute.cli import main
from gridroute.config import ConfigError, load_config
from gridroute.services.errors import ServiceError
from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.workflow import perform

SH = ZoneInfo("Asia/Shanghai")
INSPECTOR = "insp-310101001005"  # patrols community 310101001005 (cell 310101001005015)


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def report(ctx, *, channel="public", category="E0102", when=None, **kw):
    return submit_report(ctx, ReportInput(
        channel=channel, category_code=category, lon=121.48, lat=31.23, crs="wgs84",
        description="暴露垃圾", reporter="r-1", reported_at=when or at(25, 9), **kw)).case


def act(ctx, case, action, role, when, actor=None, reason=None, **payload):
    return perform(ctx, case.id, action, actor=actor or f"{role}-1", role=role, reason=reason,
                   payload=payload, at=when).case


def clocks(ctx, case_id):
    with ctx.uow(read_only=True) as uow:
        return {c.phase: c for c in uow.clocks.load(case_id).values()} \
            if hasattr(uow.clocks.load(case_id), "values") else None


def stored(ctx, case_id):
    with ctx.uow(read_only=True) as uow:
        return uow.cases.get(case_id), uow.cases.events(case_id)


def deadline(ctx, case_id, phase):
    import sqlalchemy as sa
    from gridroute.store import tables as t

    with ctx.engine.connect() as conn:
        row = conn.execute(sa.select(t.case_clocks.c.deadline, t.case_clocks.c.state).where(
            t.case_clocks.c.case_id == case_id, t.case_clocks.c.phase == phase)).first()
    return (row.deadline.astimezone(SH), row.state) if row else None


def test_full_loop_events_carry_time_actor_role_unit_and_replay_to_the_case(app_ctx):
    case = report(app_ctx)
    steps = [
        ("send_verify", "acceptor", at(25, 9, 5), None, {"inspector": INSPECTOR}),
        ("verify", "inspector", at(25, 9, 40), None, {}),
        ("file", "shift_lead", at(25, 9, 45), None, {}),
        ("dispatch", "dispatcher", at(25, 9, 50), None, {}),
        ("accept", "unit", at(25, 10), None, {}),
        ("request_suspension", "unit", at(25, 10, 30), "待资金", {"until": at(28, 9)}),
        ("deny_suspension", "shift_lead", at(25, 10, 40), "小修即可", {}),
        ("resolve", "unit", at(25, 11), None, {"reply": "已清运"}),
        ("send_check", "acceptor", at(25, 11, 10), None, {"inspector": INSPECTOR}),
        ("check_fail", "inspector", at(25, 11, 30), "仍有垃圾", {}),
        ("return", "unit", at(25, 12), "误派：属街道", {}),
        ("dispatch", "dispatcher", at(25, 12, 10), None, {"unit_code": "310101001-gridcentre"}),
        ("accept", "unit", at(25, 13), None, {}),
        ("resolve", "unit", at(25, 14), None, {"reply": "已彻底清运"}),
        ("send_check", "acceptor", at(25, 14, 10), None, {"inspector": INSPECTOR}),
        ("check_pass", "inspector", at(25, 14, 30), None, {}),
        ("close", "shift_lead", at(25, 15), None, {}),
    ]
    for action, role, when, reason, payload in steps:
        actor = INSPECTOR if role == "inspector" else None
        case = act(app_ctx, case, action, role, when, actor=actor, reason=reason, **payload)
    case, events = stored(app_ctx, case.id)
    assert case.state.value == "closed" and case.version == len(steps) + 1
    assert all(isinstance(e.at, datetime) and e.at.tzinfo and e.actor and e.role
               for e in events)
    assert [(e.action, e.unit_code) for e in events][10:14] == [
        ("check_fail", "greening"), ("return", "greening"),
        ("dispatch", "310101001-gridcentre"), ("accept", "310101001-gridcentre")]
    history = rebuild(events)
    for name in ("version", "unit_code", "returns", "reworks", "extensions",
                 "supervising_level", "inspector", "self_handled", "filed_at",
                 "dispatched_at", "accepted_at", "resolved_at", "checked_at", "closed_at"):
        assert getattr(history, name) == getattr(case, name), name
    assert history.state is case.state
    assert (history.returns, history.reworks) == (1, 1)


def test_rebuild_refuses_a_history_with_a_gap(app_ctx):
    case = report(app_ctx, channel="inspector")
    case = act(app_ctx, case, "file", "shift_lead", at(25, 9, 10))
    _, events = stored(app_ctx, case.id)
    with pytest.raises(ValueError, match="event 1 is missing"):
        rebuild(events[1:])


def test_verify_task_goes_to_an_inspector_of_the_cell_with_its_own_clock(app_ctx):
    case = report(app_ctx)
    with pytest.raises(ServiceError) as info:
        act(app_ctx, case, "send_verify", "acceptor", at(25, 9, 5), inspector="insp-310101002001")
    assert (info.value.field, info.value.message) == (
        "inspector", "inspector insp-310101002001 does not patrol cell 310101001005015")
    with pytest.raises(ServiceError) as info:
        act(app_ctx, case, "send_verify", "acceptor", at(25, 9, 5), inspector="nobody")
    assert info.value.message == "unknown inspector 'nobody'"
    act(app_ctx, case, "send_verify", "acceptor", at(25, 9, 5), inspector=INSPECTOR)
    # 核实 within 1 working hour (sla.verify_limit)
    assert deadline(app_ctx, case.id, "verify") == (at(25, 10, 5), "running")
    act(app_ctx, case, "verify", "inspector", at(25, 9, 50), actor=INSPECTOR)
    assert deadline(app_ctx, case.id, "verify")[1] == "done"


def test_check_clock_starts_when_the_check_task_is_sent(app_ctx):
    case = report(app_ctx, channel="inspector")
    for action, role, when, payload in [("file", "shift_lead", at(25, 9, 10), {}),
                                        ("dispatch", "dispatcher", at(25, 9, 20), {}),
                                        ("accept", "unit", at(25, 9, 30), {}),
                                        ("resolve", "unit", at(25, 16), {"reply": "ok"})]:
        case = act(app_ctx, case, action, role, when, **payload)
    assert deadline(app_ctx, case.id, "check") is None
    act(app_ctx, case, "send_check", "acceptor", at(25, 17), inspector=INSPECTOR)
    # 17:00 + 1 working hour: 17:30 today, then 08:30-09:00 tomorrow
    assert deadline(app_ctx, case.id, "check") == (at(26, 9), "running")


def test_centre_limit_is_30_minutes_and_10_for_urgent_cases(app_ctx):
    normal = report(app_ctx, channel="inspector")
    assert deadline(app_ctx, normal.id, "file") == (at(25, 9, 30), "running")
    act(app_ctx, normal, "file", "shift_lead", at(25, 9, 20))
    # 立案 + 派遣 within 30 minutes of the report, not 30 more after filing
    assert deadline(app_ctx, normal.id, "dispatch") == (at(25, 9, 30), "running")
    urgent = report(app_ctx, channel="inspector", category="E0401", when=at(25, 10))
    assert urgent.urgency == "urgent"  # 路面塌陷
    assert deadline(app_ctx, urgent.id, "file") == (at(25, 10, 10), "running")
    act(app_ctx, urgent, "file", "shift_lead", at(25, 10, 4))
    assert deadline(app_ctx, urgent.id, "dispatch") == (at(25, 10, 10), "running")


def test_self_handled_report_is_filed_and_closed_at_intake(app_ctx):
    case = report(app_ctx, channel="inspector", self_handled_reply="已当场清理",
                  photos=["after.jpg"])
    assert (case.state.value, case.self_handled, case.unit_code) == ("closed", True, None)
    stored_case, events = stored(app_ctx, case.id)
    assert stored_case.self_handled is True and stored_case.closed_at == at(25, 9)
    assert [(e.action, e.role.value, e.unit_code) for e in events] == [
        ("report", "inspector", "greening"), ("self_handle", "inspector", None)]
    assert events[1].payload["routed_unit_code"] == "greening"
    assert deadline(app_ctx, case.id, "file") is None  # no clock ever ran
    with pytest.raises(ServiceError) as info:
        report(app_ctx, channel="public", self_handled_reply="已处理")
    assert info.value.code == "role_not_allowed"  # a citizen cannot have fixed it himself


def test_bad_role_overrides_stop_start_up(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[workflow]\nroles = "file=boss"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config, env={})
    assert "workflow.roles" in str(info.value) and "unknown role 'boss'" in str(info.value)


# --------------------------------------------------------------------------- calendar CLI

def run_cli(*args, config=None):
    return CliRunner().invoke(main, [*(["--config", str(config)] if config else []), *args])


def test_calendar_show_lists_holidays_and_make_up_days_with_their_source():
    result = run_cli("calendar", "show", "2026")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2026: Asia/Shanghai, working hours 08:30-12:00,13:00-17:30; "
                               "data: chinesecalendar; overrides: ")
    assert "2026-09-20 Sun  workday (调休)   chinesecalendar  National Day" in lines
    assert "2026-10-01 Thu  holiday        chinesecalendar  National Day" in lines
    assert "2026-10-10 Sat  workday (调休)   chinesecalendar  National Day" in lines
    estimate = run_cli("calendar", "show", "2027")
    assert estimate.exit_code == 0
    assert "2027-01-01 Fri  holiday        estimate         New Year's Day" in estimate.stdout
    assert estimate.stderr.count("warning: 2027 has only estimated statutory holidays") == 1


def test_calendar_show_marks_override_days(tmp_path):
    overrides = tmp_path / "o.toml"
    overrides.write_text("holidays = [2027-02-10]\nworkdays = [2027-02-07]\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[sla]\noverrides = "{overrides}"\n', encoding="utf-8")
    lines = run_cli("calendar", "show", "2027", config=config).stdout.splitlines()
    assert "2027-02-07 Sun  workday (调休)   overrides" in lines
    assert "2027-02-10 Wed  holiday        overrides" in lines


def test_calendar_check_fails_60_days_before_a_year_without_official_data(tmp_path):
    ok = run_cli("calendar", "check", "--today", "2026-06-01")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout == "calendar covered from 2026-06-01 to 2026-07-31 (2026: chinesecalendar)\n"
    late = run_cli("calendar", "check", "--today", "2026-11-05")
    assert late.exit_code == 1
    assert "2027: only estimated statutory holidays" in late.stderr
    assert "data/calendar/overrides.toml" in late.stderr
    assert run_cli("calendar", "check", "--today", "2026-10-31").exit_code == 0  # 62 days
    overrides = tmp_path / "o.toml"
    overrides.write_text("holidays = []\nworkdays = []\ncovered_until = 2027-12-31\n",
                         encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[sla]\noverrides = "{overrides}"\n', encoding="utf-8")
    covered = run_cli("calendar", "check", "--today", "2026-11-05", config=config)
    assert covered.exit_code == 0, covered.output
    bad = run_cli("calendar", "check", "--today", "tomorrow")
    assert bad.exit_code == 2 and "--today" in bad.output


def test_shipped_overrides_carry_a_commented_state_council_example():
    from gridroute.config import load_config as load

    text = open(load(env={}).sla.overrides, encoding="utf-8").read()
    assert "国务院" in text and "#   holidays = [2026-10-01" in text
    assert "\nholidays = []\nworkdays = []\n" in text
