"""A deployment on 14-digit cell codes (CJ/T 213-2005: 6 district + 3 street + 3 community +
2 cell) with its own grid, reference data and rules: the configured code scheme reaches the
grid, the reference loading (unit cells), the rules (a 14-digit cell condition), intake and
the escalation tick."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from gridroute.cases import workflow
from gridroute.config import load_config
from gridroute.services.context import build_context
from gridroute.services.escalation import tick
from gridroute.services.grids import load_grid_file
from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.reference import load_reference_files
from gridroute.services.workflow import perform
from gridroute.store import tables as t

SH = ZoneInfo("Asia/Shanghai")
STREET = "310101001"
# two communities of two cells each, west → east: 0.001° of longitude per cell
CELLS = {f"{STREET}{community}{cell}": (121.480 + 0.001 * i, 31.230)
         for i, (community, cell) in enumerate([("001", "01"), ("001", "02"),
                                                ("002", "01"), ("002", "02")])}


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def _grid(tmp_path) -> str:
    features = [{"type": "Feature",
                 "properties": {"cell_code": code, "community_name": f"居委{code[9:12]}",
                                "street_name": "南京东路街道", "district_name": "黄浦区",
                                "tags": ""},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [x, y], [x + 0.001, y], [x + 0.001, y + 0.002], [x, y + 0.002], [x, y]]]}}
                for code, (x, y) in CELLS.items()]
    return _write(tmp_path / "cells.geojson", json.dumps(
        {"type": "FeatureCollection", "features": features}))


@pytest.fixture
def ctx(db_url, tmp_path):
    reference = {
        "categories": _write(tmp_path / "categories.csv",
                             "code,kind,major_code,major_name_zh,major_name_en,minor_code,"
                             "minor_name_zh,minor_name_en,duplicate_radius_m,duplicate_window_h\n"
                             "E0102,event,01,市容环境,City appearance,02,暴露垃圾,"
                             "Exposed rubbish,,\n"),
        "standards": _write(tmp_path / "standards.csv",
                            "id,category_code,seq,filing_condition,urgency,limit,"
                            "closing_condition,handling_unit_hint,supervising_dept\n"
                            "E0102-1,E0102,1,暴露垃圾,normal,4 working_hours,清理完毕,,\n"),
        "units": _write(tmp_path / "units.csv",
                        "code,name_zh,name_en,unit_type,parent_code,streets,cells,"
                        "contact_phone,contact_email,webhook_url\n"
                        "city-centre,市中心,City centre,city_centre,,,,,,\n"
                        "310101-centre,区中心,District centre,district_centre,city-centre,,,,,\n"
                        f"{STREET}-gridcentre,街道网格中心,Street grid centre,grid_centre,"
                        f"310101-centre,{STREET},,,,\n"
                        f"cleaning-a,保洁一队,Cleaning team A,greening,,,"
                        f"{STREET}00101;{STREET}00102,,,\n"),
        "components": "",
    }
    rules = _write(tmp_path / "rules.toml", f'''version = 1

[[rules]]
id = "first-cell"
when = {{ category = "E0102", cell = "{STREET}00101" }}
then = {{ assign = "cleaning-a" }}

[[rules]]
id = "street-centre"
when = {{ category = "E0102", street = "{STREET}" }}
then = {{ assign = "{{street}}-gridcentre" }}
''')
    config = load_config(env={}).replace(
        database={"url": db_url}, rules={"path": rules}, reference=reference,
        grid={"path": _grid(tmp_path), "street_names": "", "code_scheme": "CJT213"})
    context = build_context(config)
    load_grid_file(context)
    load_reference_files(context)
    yield context
    context.close()


def _role(action: str) -> str:
    return workflow.TRANSITIONS[action].roles[0].value


def test_a_14_digit_grid_routes_files_and_escalates_end_to_end(ctx):
    assert (ctx.code_scheme.name, ctx.code_scheme.total_len) == ("CJT213", 14)
    assert ctx.rules.current().scheme == ctx.code_scheme

    reported = datetime(2026, 11, 25, 9, 0, tzinfo=SH)
    first = submit_report(ctx, ReportInput(
        channel="inspector", category_code="E0102", lon=121.4805, lat=31.231,
        reporter="insp-1", reported_at=reported), now=reported).case
    assert (first.cell_code, first.community_code, first.street_code, first.district_code) == (
        "31010100100101", "310101001001", STREET, "310101")
    assert (first.unit_code, first.routing["rule_id"]) == ("cleaning-a", "first-cell")

    other = submit_report(ctx, ReportInput(
        channel="inspector", category_code="E0102", lon=121.4835, lat=31.231,
        reporter="insp-1", reported_at=reported), now=reported).case
    assert (other.cell_code, other.unit_code, other.routing["rule_id"]) == (
        "31010100100202", f"{STREET}-gridcentre", "street-centre")

    # filed 09:20, dispatched 09:30: 4 working hours end Wednesday 14:30; level 2 is due
    # 2 working hours later (16:30), level 3 4 working hours later (Thursday 09:30)
    perform(ctx, first.id, "file", actor="lead-1", role=_role("file"),
            at=datetime(2026, 11, 25, 9, 20, tzinfo=SH))
    perform(ctx, first.id, "dispatch", actor="disp-1", role="dispatcher",
            at=datetime(2026, 11, 25, 9, 30, tzinfo=SH))
    perform(ctx, first.id, "accept", actor="team-a", role="unit",
            at=datetime(2026, 11, 25, 9, 40, tzinfo=SH))
    result = tick(ctx, datetime(2026, 11, 26, 10, 0, tzinfo=SH))
    assert result.errors == 0, result.error_messages

    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get(first.id)
        levels = [e.payload["level"] for e in uow.cases.events(first.id)
                  if e.action == "escalate"]
        handle = uow.clocks.load(first.id)["handle"].clock
    assert handle.deadline == datetime(2026, 11, 25, 14, 30, tzinfo=SH)
    assert (case.supervising_level, levels) == (3, [1, 2, 3])

    with ctx.engine.connect() as conn:
        notes = conn.execute(sa.select(t.outbox.c.recipient, t.outbox.c.payload).where(
            t.outbox.c.topic == "sla.escalate", t.outbox.c.case_id == first.id)).all()
    # the highest level passed goes to the district centre (matched by its 6-digit code)
    assert [(r.recipient, r.payload["level"], r.payload["target"], r.payload["level_label"])
            for r in notes] == [("310101-centre", 3, "district_centre", "区网格化管理中心督办")]


def test_codes_of_the_default_length_are_refused_under_the_14_digit_scheme(ctx, tmp_path):
    from gridroute.reference.loaders import ReferenceDataError, load_units_csv
    from gridroute.rules.parse import check_ruleset

    units = _write(tmp_path / "units15.csv",
                   "code,name_zh,name_en,unit_type,parent_code,streets,cells,contact_phone,"
                   "contact_email,webhook_url\n"
                   f"cleaning-b,保洁二队,Cleaning team B,greening,,,{STREET}001001,,,\n")
    with pytest.raises(ReferenceDataError) as refused:
        load_units_csv(units, scheme=ctx.code_scheme)
    assert refused.value.errors == [
        f"{units}:2: cells: '{STREET}001001' is not a 14-digit code"]

    rules = _write(tmp_path / "rules15.toml", f'''version = 1

[[rules]]
id = "fifteen"
when = {{ category = "E0102", cell = "{STREET}001001" }}
then = {{ assign = "cleaning-a" }}
''')
    errors, _ = check_ruleset(rules, known_units={"cleaning-a"}, known_categories={"E0102"},
                              scheme=ctx.code_scheme)
    assert errors == [f"{rules}:5: rules[1] 'fifteen': when.cell: '{STREET}001001' is not a "
                      f"14-digit cell code or a prefix ending in '*'"]
