"""Intake (上报受理) through `submit_report`: location, routing, persistence in one transaction,
idempotency, validation messages, coordinate-system hints, duplicates and merge."""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from gridroute.grids.coords import to_working, wgs84_to_gcj02
from gridroute.services.errors import Conflict, ServiceError
from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.workflow import perform
from gridroute.store import tables as t

from helpers_db import run_sql

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)  # Wednesday, a working day
RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "rules" / "huangpu.toml"


def report(**kw) -> ReportInput:
    base = dict(channel="inspector", category_code="E0102", lon=121.48, lat=31.23, crs="wgs84",
                description="暴露垃圾", reported_at=T0)
    base.update(kw)
    return ReportInput(**base)


def counts(ctx) -> dict[str, int]:
    with ctx.uow(read_only=True) as uow:
        return {name: run_sql(uow, sa.select(sa.func.count()).select_from(table)).scalar_one()
                for name, table in (("cases", t.cases), ("events", t.case_events),
                                    ("clocks", t.case_clocks), ("outbox", t.outbox))}


def events_of(ctx, case_id):
    with ctx.uow(read_only=True) as uow:
        return uow.cases.events(case_id)


def refused(ctx, rep) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        submit_report(ctx, rep)
    return info.value


# --------------------------------------------------------------------------- the happy path

def test_report_is_located_routed_and_persisted_with_history_and_outbox(app_ctx):
    result = submit_report(app_ctx, report(reporter="inspector-07"))
    case = result.case
    assert result.created is True
    assert result.duplicates == []
    assert (case.cell_code, case.community_code, case.street_code, case.district_code) == (
        "310101001005015", "310101001005", "310101001", "310101")
    assert case.locate_status == "inside"
    assert case.state.value == "reported"
    assert case.unit_code == "greening"
    assert case.standard_id == "E0102-1"
    assert case.version == 1

    with app_ctx.uow(read_only=True) as uow:
        stored = uow.cases.get(case.id)
        outbox = run_sql(uow, sa.select(t.outbox)).all()
        clocks = run_sql(uow, sa.select(t.case_clocks)).all()
    assert stored.public_id == "GR-20261125-000001"
    assert stored.cell_code == "310101001005015"
    assert stored.unit_code == "greening"
    assert stored.reported_at == T0

    events = events_of(app_ctx, case.id)
    assert [(e.seq, e.action, e.actor, e.role.value, e.from_state, e.to_state.value)
            for e in events] == [(1, "report", "inspector-07", "inspector", None, "reported")]
    assert events[0].payload["routing"]["rule_id"] == "refuse-and-cleaning"

    assert len(outbox) == 1
    assert (outbox[0].topic, outbox[0].case_id, outbox[0].recipient, outbox[0].status) == (
        "case.reported", case.id, "dispatch-centre", "pending")
    assert outbox[0].payload["cell"] == "310101001005015"
    assert outbox[0].payload["unit"] == "greening"

    # the 立案 clock runs from the report: 0.5 natural hours
    assert [(c.phase, c.state) for c in clocks] == [("file", "running")]
    assert clocks[0].deadline == datetime(2026, 11, 25, 9, 30, tzinfo=SH)


def test_failure_mid_transaction_leaves_nothing(app_ctx, monkeypatch):
    from gridroute.store.repository import OutboxRepository

    def broken(self, **kw):
        raise RuntimeError("outbox is down")

    monkeypatch.setattr(OutboxRepository, "add", broken)
    with pytest.raises(RuntimeError, match="outbox is down"):
        submit_report(app_ctx, report())
    assert counts(app_ctx) == {"cases": 0, "events": 0, "clocks": 0, "outbox": 0}

    monkeypatch.undo()
    submit_report(app_ctx, report())
    assert counts(app_ctx) == {"cases": 1, "events": 1, "clocks": 1, "outbox": 1}


def test_failure_after_auto_file_leaves_nothing(app_ctx, monkeypatch):
    from gridroute.store.repository import OutboxRepository

    monkeypatch.setattr(OutboxRepository, "add", lambda self, **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        submit_report(app_ctx, report(category_code="E0101", description="私搭乱建"))
    assert counts(app_ctx) == {"cases": 0, "events": 0, "clocks": 0, "outbox": 0}


def test_idempotency_key_twice_returns_the_same_case(app_ctx):
    first = submit_report(app_ctx, report(idempotency_key="app-42"))
    second = submit_report(app_ctx, report(idempotency_key="app-42"))
    assert first.created is True
    assert second.created is False
    assert second.case.id == first.case.id
    assert second.case.public_id == first.case.public_id
    assert second.case.description == "暴露垃圾"
    assert counts(app_ctx) == {"cases": 1, "events": 1, "clocks": 1, "outbox": 1}
    # the same key with other content is a client's mistake: refused, naming the key
    with pytest.raises(Conflict) as info:
        submit_report(app_ctx, report(idempotency_key="app-42", description="again",
                                      lon=121.4805))
    assert info.value.field == "idempotency_key"
    assert info.value.message == (f"idempotency key 'app-42' was used for "
                                  f"{first.case.public_id} with different content "
                                  f"(description, lon,lat)")
    assert counts(app_ctx) == {"cases": 1, "events": 1, "clocks": 1, "outbox": 1}
    third = submit_report(app_ctx, report(idempotency_key="app-43"))
    assert third.created is True and third.case.id != first.case.id


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("changes, field, message", [
    ({"channel": "fax"}, "channel",
     "unknown channel 'fax'; expected one of inspector, public, hotline, import"),
    ({"category_code": "E9999"}, "category", "unknown category 'E9999'"),
    ({"category_code": ""}, "category", "is required"),
    ({"lon": "abc"}, "lon", "must be a number, got 'abc'"),
    ({"lon": 181}, "lon", "must be between -180 and 180, got 181"),
    ({"lat": float("nan")}, "lat", "must be a finite number, got nan"),
    ({"lat": -91}, "lat", "must be between -90 and 90, got -91"),
    ({"description": "x" * 4001}, "description", "is 4001 characters; at most 4000"),
    ({"urgency": "asap"}, "urgency", "must be one of normal, urgent, got 'asap'"),
    ({"reported_at": datetime(2026, 11, 25, 9, 0)}, "reported_at", "must carry a UTC offset"),
])
def test_validation_errors_name_the_field(app_ctx, changes, field, message):
    error = refused(app_ctx, report(**changes))
    assert error.field == field
    assert error.message == message
    assert error.code == "invalid"
    assert str(error) == f"{field}: {message}"
    assert counts(app_ctx)["cases"] == 0


def test_description_of_exactly_4000_characters_is_accepted(app_ctx):
    assert submit_report(app_ctx, report(description="x" * 4000)).created


def test_unknown_crs_lists_the_accepted_names(app_ctx):
    error = refused(app_ctx, report(crs="mars"))
    assert error.field == "crs"
    assert "unknown coordinate reference system 'mars'" in error.message
    assert "accepted names: wgs84, gcj02, bd09, EPSG:<n>" in error.message


def test_crs_aliases_are_normalised(app_ctx):
    case = submit_report(app_ctx, report(crs="EPSG:4326")).case
    assert case.declared_crs == "wgs84"
    assert case.cell_code == "310101001005015"


# --------------------------------------------------------------------------- coordinates

EDGE_WGS84 = (121.5042, 31.2174)  # inside, near the Huangpu river edge of the district


def test_gcj02_point_declared_as_wgs84_is_refused_with_a_hint(app_ctx):
    inside = submit_report(app_ctx, report(lon=EDGE_WGS84[0], lat=EDGE_WGS84[1]))
    cell = inside.case.cell_code
    assert cell == "310101004005004"
    glon, glat = (float(v) for v in wgs84_to_gcj02(*EDGE_WGS84))
    # the phone SDK's numbers are ~480 m away from the true position
    gx, gy = to_working(glon, glat, "wgs84")
    wx, wy = to_working(*EDGE_WGS84, "wgs84")
    assert 400 < math.hypot(float(gx) - float(wx), float(gy) - float(wy)) < 600

    error = refused(app_ctx, report(lon=glon, lat=glat, crs="wgs84"))
    assert error.field == "lon,lat"
    assert error.code == "outside_area"
    assert error.message.startswith(f"the point ({glon:.6f}, {glat:.6f}) declared as wgs84 is "
                                    f"outside the managed area (no cell within 50 m)")
    assert f"it would fall inside cell {cell} if the coordinates were gcj02" in error.message
    assert error.message.endswith("check the declared coordinate system (crs)")
    assert counts(app_ctx)["cases"] == 1

    # declared correctly the same numbers land where the reporter stood
    fixed = submit_report(app_ctx, report(lon=glon, lat=glat, crs="gcj02")).case
    assert fixed.cell_code == cell
    assert fixed.declared_crs == "gcj02"
    assert abs(fixed.lon - EDGE_WGS84[0]) < 1e-6 and abs(fixed.lat - EDGE_WGS84[1]) < 1e-6


def test_point_far_outside_gets_no_hint(app_ctx):
    error = refused(app_ctx, report(lon=121.30, lat=31.10))
    assert error.code == "outside_area"
    assert error.message == ("the point (121.300000, 31.100000) declared as wgs84 is outside "
                             "the managed area (no cell within 50 m)")


def test_snapped_point_keeps_status_snapped(app_ctx):
    case = submit_report(app_ctx, report(lon=121.46192, lat=31.243)).case
    assert case.locate_status == "snapped"
    assert case.cell_code == "310101001002003"
    assert 0 < case.locate_distance_m <= 50
    with app_ctx.uow(read_only=True) as uow:
        assert uow.cases.get(case.id).locate_status == "snapped"


# --------------------------------------------------------------------------- rules in intake

def test_manhole_near_a_component_goes_to_its_owner(app_ctx):
    # component 3101010101000001 (C0101, owner water-supply) stands at 121.475716, 31.237711
    near = submit_report(app_ctx, report(category_code="C0101", lon=121.475716, lat=31.237711,
                                         description="井盖破损")).case
    assert near.routing["rule_id"] == "utility-component-owner"
    assert near.routing["matched"] == [
        "category C0101 matches C01*",
        "component 3101010101000001 (C0101) within 30 m, owner water-supply"]
    assert near.unit_code == "water-supply"
    assert near.urgency == "normal"


def test_first_matching_rule_wins_in_file_order(app_ctx):
    # keywords make rule #1 match before the plain owner rule #2
    urgent = submit_report(app_ctx, report(category_code="C0101", lon=121.475716,
                                           lat=31.237711, description="井盖塌陷")).case
    assert urgent.routing["rule_id"] == "utility-component-urgent"
    assert urgent.urgency == "urgent"
    assert urgent.routing["limit"] == "2 natural_hours"
    # far from every C0101 component: the category rule further down decides
    far = submit_report(app_ctx, report(category_code="C0101", lon=121.48, lat=31.23,
                                        description="井盖破损")).case
    assert far.routing["rule_id"] == "water-supply-components"
    assert far.routing["matched"] == ["category C0101 matches C0101"]
    assert far.unit_code == "water-supply"


def test_street_template_resolves_to_the_street_squad(app_ctx):
    case = submit_report(app_ctx, report(category_code="E0501", description="占道经营")).case
    assert case.routing["rule_id"] == "street-order"
    assert case.unit_code == "310101001-enforcement"
    assert case.standard_id == "E0501-1"


def test_no_rule_falls_back_to_the_street_grid_centre(app_ctx):
    case = submit_report(app_ctx, report(channel="public", category_code="E0601",
                                         description="其他")).case
    assert case.routing["fallback"] is True
    assert case.routing["rule_id"] is None
    assert case.routing["matched"] == []
    assert case.unit_code == "310101001-gridcentre"
    assert case.routing["explanation"].startswith("No rule matched (28 checked). 属地兜底: "
                                                  "assigned to 310101001-gridcentre")
    assert case.state.value == "reported"


def test_explanation_is_stored_with_the_ruleset_hash(app_ctx):
    case = submit_report(app_ctx, report()).case
    with app_ctx.uow(read_only=True) as uow:
        stored = uow.cases.get(case.id)
    expected_hash = hashlib.sha256(RULES_FILE.read_bytes()).hexdigest()
    assert stored.routing["ruleset_hash"] == expected_hash
    assert stored.routing["rule_id"] == "refuse-and-cleaning"
    assert stored.routing["matched"] == ["category E0102 matches E0102"]
    assert stored.routing["fallback"] is False
    assert f"Rules sha256 {expected_hash[:12]}" in stored.routing["explanation"]


def test_trusted_channel_rule_files_automatically(app_ctx):
    case = submit_report(app_ctx, report(category_code="E0101", description="私搭乱建",
                                         reporter="insp-3")).case
    assert case.routing["rule_id"] == "illegal-construction-inspector"
    assert case.routing["auto_file"] is True
    assert case.state.value == "filed"
    assert case.unit_code == "310101001-enforcement"
    assert case.filed_at == T0
    events = events_of(app_ctx, case.id)
    assert [(e.seq, e.action, e.actor, e.role.value, e.to_state.value) for e in events] == [
        (1, "report", "insp-3", "inspector", "reported"),
        (2, "file", "rules", "system", "filed")]
    with app_ctx.uow(read_only=True) as uow:
        stored = uow.cases.get(case.id)
        clocks = {r.phase: r for r in run_sql(uow, sa.select(t.case_clocks)).all()}
    assert stored.state.value == "filed" and stored.version == 2
    assert clocks["file"].state == "done"
    assert clocks["dispatch"].state == "running"
    assert clocks["dispatch"].deadline == T0 + timedelta(minutes=30)


def test_public_report_of_the_same_category_is_not_auto_filed(app_ctx):
    case = submit_report(app_ctx, report(channel="public", category_code="E0101")).case
    assert case.routing["rule_id"] == "illegal-construction"
    assert case.state.value == "reported"
    assert [e.action for e in events_of(app_ctx, case.id)] == ["report"]


# --------------------------------------------------------------------------- duplicates

def _east(lon: float, lat: float, metres: float) -> tuple[float, float]:
    return lon + metres / (111_320 * math.cos(math.radians(lat))), lat


def test_near_report_of_same_category_lists_the_first_as_duplicate(app_ctx):
    # E0304 施工占道: duplicate radius 50 m, window 72 h
    first = submit_report(app_ctx, report(category_code="E0304", channel="public")).case
    lon, lat = _east(121.48, 31.23, 10)
    second = submit_report(app_ctx, report(category_code="E0304", channel="public", lon=lon,
                                           lat=lat, reported_at=T0 + timedelta(hours=48)))
    assert [d["public_id"] for d in second.duplicates] == [first.public_id]
    assert second.duplicates[0]["case_id"] == first.id
    assert 9.5 < second.duplicates[0]["distance_m"] < 10.5
    [event] = events_of(app_ctx, second.case.id)
    assert event.payload["likely_duplicates"] == second.duplicates


def test_different_category_far_point_or_old_report_is_no_duplicate(app_ctx):
    submit_report(app_ctx, report(category_code="E0304", channel="public"))
    lon, lat = _east(121.48, 31.23, 10)
    other = submit_report(app_ctx, report(category_code="E0303", channel="public", lon=lon,
                                          lat=lat, reported_at=T0 + timedelta(hours=1)))
    assert other.duplicates == []
    lon, lat = _east(121.48, 31.23, 200)
    far = submit_report(app_ctx, report(category_code="E0304", channel="public", lon=lon,
                                        lat=lat, reported_at=T0 + timedelta(hours=1)))
    assert far.duplicates == []
    late = submit_report(app_ctx, report(category_code="E0304", channel="public",
                                         reported_at=T0 + timedelta(hours=73)))
    assert late.duplicates == []  # the first report is 73 h old, the window is 72 h


def test_inspector_duplicate_is_not_auto_filed(app_ctx):
    first = submit_report(app_ctx, report(category_code="E0101")).case
    second = submit_report(app_ctx, report(category_code="E0101",
                                           reported_at=T0 + timedelta(hours=1)))
    assert first.state.value == "filed"
    assert [d["public_id"] for d in second.duplicates] == [first.public_id]
    assert second.case.state.value == "reported"


def test_merge_then_closing_the_parent_closes_the_child(app_ctx):
    parent = submit_report(app_ctx, report(category_code="E0304", channel="public")).case
    lon, lat = _east(121.48, 31.23, 10)
    child = submit_report(app_ctx, report(category_code="E0304", channel="public", lon=lon,
                                          lat=lat, reported_at=T0 + timedelta(hours=1))).case
    at = T0 + timedelta(hours=2)
    merged = perform(app_ctx, child.public_id, "merge", actor="acc-1", role="acceptor",
                     payload={"parent_id": parent.public_id}, at=at).case
    assert merged.state.value == "merged"
    assert merged.parent_id == parent.id

    # a merged case is never offered as a duplicate parent again
    third = submit_report(app_ctx, report(category_code="E0304", channel="public", lon=lon,
                                          lat=lat, reported_at=T0 + timedelta(hours=3)))
    assert [d["case_id"] for d in third.duplicates] == [parent.id]

    steps = [("verify", "insp-1", "inspector", None, {}),
             ("file", "acc-1", "acceptor", None, {}),
             ("dispatch", "disp-1", "dispatcher", None, {}),
             ("accept", "squad", "unit", None, {}),
             ("resolve", "squad", "unit", None, {"reply": "已清理"}),
             ("check_pass", "insp-1", "inspector", None, {}),
             ("close", "acc-1", "acceptor", None, {})]
    for i, (action, actor, role, reason, payload) in enumerate(steps, start=3):
        perform(app_ctx, parent.id, action, actor=actor, role=role, reason=reason,
                payload=payload, at=T0 + timedelta(hours=i))
    close_at = T0 + timedelta(hours=2 + len(steps))

    with app_ctx.uow(read_only=True) as uow:
        stored_child = uow.cases.get(child.id)
        stored_parent = uow.cases.get(parent.id)
    assert stored_parent.state.value == "closed"
    assert stored_child.state.value == "closed"
    assert stored_child.closed_at == close_at
    child_events = events_of(app_ctx, child.id)
    assert [(e.seq, e.action, e.actor, e.role.value, e.to_state.value) for e in child_events] == [
        (1, "report", "public", "public", "reported"),
        (2, "merge", "acc-1", "acceptor", "merged"),
        (3, "close_with_parent", "system", "system", "closed")]
    assert child_events[2].payload == {"parent_id": parent.id,
                                       "parent_public_id": parent.public_id}
    assert child_events[1].payload["parent_id"] == parent.id


def test_merge_refuses_a_parent_of_another_category(app_ctx):
    parent = submit_report(app_ctx, report(category_code="E0303", channel="public")).case
    child = submit_report(app_ctx, report(category_code="E0304", channel="public")).case
    with pytest.raises(ServiceError) as info:
        perform(app_ctx, child.id, "merge", actor="acc-1", role="acceptor",
                payload={"parent_id": parent.id}, at=T0 + timedelta(hours=1))
    assert info.value.field == "parent_id"
    assert info.value.message == f"parent {parent.public_id} has category E0303, not E0304"


def _waiting_on_a_lock(ctx) -> bool:
    with ctx.engine.connect() as conn:
        return bool(conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE NOT granted").scalar())


def test_the_same_key_twice_at_once_creates_one_case_and_both_get_it(app_ctx, monkeypatch):
    """A phone retrying while its first request is still in flight: the second request waits
    for the first (SQLite's write lock, PostgreSQL's unique index) and answers with its case."""
    import threading
    import time

    from gridroute.store.repository import OutboxRepository

    inside, release = threading.Event(), threading.Event()
    original_add = OutboxRepository.add

    def add_then_hold(self, **kw):  # the first request pauses after its writes, before commit
        original_add(self, **kw)
        if not inside.is_set():
            inside.set()
            release.wait(20)

    monkeypatch.setattr(OutboxRepository, "add", add_then_hold)
    results, errors = {}, []

    def submit(name, **kw):
        try:
            results[name] = submit_report(app_ctx, report(idempotency_key="phone-7", **kw))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    first = threading.Thread(target=submit, args=("first",))
    first.start()
    assert inside.wait(20)
    second = threading.Thread(target=submit, args=("second",))  # a retry: the same report
    second.start()
    if app_ctx.engine.dialect.name == "postgresql":
        deadline = time.monotonic() + 20
        while not _waiting_on_a_lock(app_ctx) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waiting_on_a_lock(app_ctx), "the second request never reached the unique index"
    else:
        time.sleep(0.3)  # the second request is waiting for the write lock
    release.set()
    first.join(20)
    second.join(20)
    assert errors == []
    assert results["first"].created is True and results["second"].created is False
    assert results["second"].case.id == results["first"].case.id
    assert results["second"].case.description == "暴露垃圾"
    assert counts(app_ctx) == {"cases": 1, "events": 1, "clocks": 1, "outbox": 1}
