"""Open311 GeoReport v2: discovery, services, service definitions, POST and GET requests,
tokens, errors as the spec assigns them, privacy of reporters, API keys, rate limits."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gridroute.app import create_app
from gridroute.grids.coords import wgs84_to_gcj02
from gridroute.services.apikeys import add_key, revoke_key
from gridroute.services.workflow import perform
from gridroute.store import tables as t
from helpers_db import run_sql

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)  # Wednesday, a working day
LON, LAT = 121.48, 31.23  # cell 310101001005015 (南京东路街道)
API = "/open311/v2"


@pytest.fixture
def ctx(public_ctx):
    return public_ctx  # frozen at T0


@pytest.fixture
def key(ctx):
    return add_key(ctx, "civic-app")[1]


@pytest.fixture
def client(ctx):
    return create_app(context=ctx).test_client()


def post(client, key, fmt="json", headers=None, **fields):
    data = {"api_key": key, "service_code": "E0102", "lat": str(LAT), "long": str(LON),
            "description": "人行道上有暴露垃圾"}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{API}/requests.{fmt}", data=data, headers=headers or {})


def new_request(client, key, **fields) -> str:
    response = post(client, key, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()[0]["service_request_id"]


def xml(response) -> ET.Element:
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    return ET.fromstring(response.data)


# ------------------------------------------------------------------ discovery and services

def test_discovery_in_xml_and_json(client):
    root = xml(client.get("/open311/discovery.xml"))
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url") == "http://localhost/open311/v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml",
                                                                    "application/json"]
    body = client.get("/open311/discovery.json").get_json()
    assert body["endpoints"][0]["type"] == "production"


def test_services_are_the_minor_categories(client):
    services = client.get(f"{API}/services.json").get_json()
    first = services[0]
    assert first == {"service_code": "C0101", "service_name": "上水井盖",
                     "description": "部件 · 公用设施 · 上水井盖", "metadata": True,
                     "type": "realtime", "keywords": "上水井盖,Water supply manhole cover,公用设施",
                     "group": "公用设施"}
    assert "E0102" in {s["service_code"] for s in services}
    english = client.get(f"{API}/services.json?lang=en").get_json()[0]
    assert (english["service_name"], english["group"]) == ("Water supply manhole cover",
                                                           "Public utilities")
    root = xml(client.get(f"{API}/services.xml"))
    assert root.tag == "services"
    assert root.find("service/service_code").text == "C0101"
    assert root.find("service/metadata").text == "true"


def test_service_definition_lists_conditions_and_urgency(client):
    body = client.get(f"{API}/services/C0101.json").get_json()
    assert body["service_code"] == "C0101"
    condition, urgency = body["attributes"]
    assert (condition["code"], condition["datatype"], condition["required"], condition["order"],
            condition["variable"]) == ("condition", "singlevaluelist", False, 1, True)
    assert condition["values"][0] == {"key": "C0101-1", "name": "井盖缺失、移位，存在安全隐患"}
    assert [v["key"] for v in condition["values"]] == ["C0101-1", "C0101-2", "C0101-3",
                                                       "C0101-4"]
    assert (urgency["code"], urgency["order"]) == ("urgency", 2)
    assert [v["key"] for v in urgency["values"]] == ["normal", "urgent"]
    root = xml(client.get(f"{API}/services/C0101.xml"))
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/values/value/key").text == "C0101-1"


@pytest.mark.parametrize("path", [f"{API}/services/X9999", f"{API}/requests/GR-20261125-999999",
                                  f"{API}/tokens/0123456789abcdef0123456789abcdef",
                                  f"{API}/nothing-here"])
def test_unknown_resources_are_404_with_an_error_list(client, path):
    response = client.get(path + ".json")
    assert response.status_code == 404
    [error] = response.get_json()
    assert error["code"] == 404 and error["description"]
    root = xml(client.get(path + ".xml"))
    assert root.tag == "errors" and root.find("error/code").text == "404"


def test_unknown_format_suffix_is_404(client):
    response = client.get(f"{API}/services.yaml")
    assert response.status_code == 404
    assert xml(response).find("error/description").text == (
        "format: unknown format .yaml; use .xml or .json")


# ------------------------------------------------------------------ POST requests

def test_post_files_a_public_report_and_get_returns_it(ctx, client, key):
    response = post(client, key)
    assert response.status_code == 201
    [row] = response.get_json()
    assert row["service_request_id"] == "GR-20261125-000001"
    assert isinstance(row["service_request_id"], str)
    assert len(row["token"]) == 32
    got = client.get(f"{API}/requests/GR-20261125-000001.json").get_json()
    assert len(got) == 1
    request = got[0]
    assert request == {
        "service_request_id": "GR-20261125-000001", "status": "open",
        "status_notes": "已上报，待核实", "service_name": "暴露垃圾", "service_code": "E0102",
        "description": "人行道上有暴露垃圾", "agency_responsible": "黄浦区绿化市容管理所",
        "service_notice": None, "requested_datetime": "2026-11-25T09:00:00+08:00",
        "updated_datetime": "2026-11-25T09:00:00+08:00", "expected_datetime": None,
        "address": "黄浦区 南京东路街道 南京东路第5居委", "address_id": None, "zipcode": None,
        "lat": LAT, "long": LON, "media_url": None}
    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get(1)
        events = uow.cases.events(1)
    assert case.channel.value == "public" and case.cell_code == "310101001005015"
    assert events[0].actor == "open311:civic-app"
    token = client.get(f"{API}/tokens/{row['token']}.json").get_json()
    assert token == [{"service_request_id": "GR-20261125-000001", "token": row["token"]}]


def test_post_answers_xml_by_suffix(client, key):
    response = post(client, key, fmt="xml")
    assert response.status_code == 201
    root = xml(response)
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text == "GR-20261125-000001"


@pytest.mark.parametrize("api_key, message", [
    (None, "api_key: is required"), ("gr_wrong", "api_key: is not a valid API key")])
def test_post_without_a_valid_key_is_403(ctx, client, key, api_key, message):
    response = post(client, api_key)
    assert response.status_code == 403
    assert response.get_json() == [{"code": 403, "description": message}]
    with ctx.uow(read_only=True) as uow:
        assert uow.cases.count() == 0


def test_a_revoked_key_is_refused(ctx, client, key):
    new_request(client, key)
    revoke_key(ctx, "civic-app")
    response = post(client, key)
    assert response.status_code == 403
    assert response.get_json()[0]["description"] == "api_key: was revoked"


@pytest.mark.parametrize("fields, message", [
    ({"service_code": "X9999"}, "service_code: unknown service 'X9999'"),
    ({"service_code": ""}, "service_code: is required"),
    ({"long": ""}, "lat,long: lat and long must be given together"),
    ({"lat": None, "long": None},
     "lat,long: required: give lat and long, or attach a photo with GPS data (address_string "
     "and address_id are not geocoded here)"),
    ({"lat": "north"}, "lat: must be a number, got 'north'"),
    ({"long": "190"}, "long: must be between -180 and 180, got 190"),
    ({"coord_system": "utm"}, "coord_system: must be one of wgs84, gcj02, bd09, got 'utm'"),
    ({"attribute[colour]": "red"},
     "attribute[colour]: unknown attribute of service E0102; known: condition, urgency"),
    ({"attribute[condition]": "C0101-1"},
     "attribute[condition]: unknown condition 'C0101-1' of service E0102"),
    ({"attribute[urgency]": "asap"}, "attribute[urgency]: must be one of normal, urgent, got 'asap'"),
    ({"description": "垃" * 4001}, "description: is 4001 characters (address_string included); "
                                  "at most 4000"),
])
def test_bad_post_fields_are_400_naming_the_field(ctx, client, key, fields, message):
    response = post(client, key, **fields)
    assert response.status_code == 400
    assert response.get_json() == [{"code": 400, "description": message}]
    with ctx.uow(read_only=True) as uow:
        assert uow.cases.count() == 0


def test_a_point_outside_the_area_names_the_coordinate_system(client, key):
    response = post(client, key, lat="31.0", long="121.0")
    assert response.status_code == 400
    assert response.get_json()[0]["description"].startswith(
        "lat,long: the point (121.000000, 31.000000) declared as wgs84 is outside")


def test_gcj02_coordinates_are_converted_before_locating(ctx, client, key):
    glon, glat = wgs84_to_gcj02(LON, LAT)
    new_request(client, key, lat=f"{glat:.7f}", long=f"{glon:.7f}", coord_system="gcj02")
    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get(1)
    assert case.cell_code == "310101001005015"
    assert case.declared_crs == "gcj02"
    assert abs(case.lon - LON) < 1e-5 and abs(case.lat - LAT) < 1e-5


def test_idempotency_key_retry_returns_the_first_request(ctx, client, key):
    first = post(client, key, headers={"Idempotency-Key": "app-42"})
    again = post(client, key, headers={"Idempotency-Key": "app-42"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json() == again.get_json()
    with ctx.uow(read_only=True) as uow:
        assert uow.cases.count() == 1


def test_condition_attribute_chooses_the_standard_and_its_deadline(ctx, client, key, monkeypatch):
    request_id = new_request(client, key, service_code="C0101",
                             **{"attribute[condition]": "C0101-3"})
    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get_by_public_id(request_id)
    assert (case.standard_id, case.urgency) == ("C0101-3", "normal")
    monkeypatch.setattr(ctx, "now", lambda: T0.replace(minute=30))  # the actions are past
    perform(ctx, request_id, "send_verify", actor="acc-1", role="acceptor",
            payload={"inspector": "insp-310101001005"}, at=T0.replace(minute=3))
    perform(ctx, request_id, "verify", actor="insp-310101001005", role="inspector",
            at=T0.replace(minute=5))
    perform(ctx, request_id, "file", actor="lead-1", role="shift_lead", at=T0.replace(minute=8))
    perform(ctx, request_id, "dispatch", actor="disp-1", role="dispatcher",
            at=T0.replace(minute=10))
    [row] = client.get(f"{API}/requests/{request_id}.json").get_json()
    # 2 工作日 = 16 working hours from Wed 09:10 → Fri 09:10
    assert row["expected_datetime"] == "2026-11-27T09:10:00+08:00"
    assert row["agency_responsible"] == "城投水务供水分公司（上水）"
    assert row["status_notes"] == "已派遣至责任单位"
    assert row["updated_datetime"] == "2026-11-25T09:10:00+08:00"


# ------------------------------------------------------------------ GET requests

def test_reporter_contact_never_appears_in_public_responses(client, key):
    request_id = new_request(client, key, first_name="张", last_name="小明",
                             email="zhang.xm@example.org", phone="13800138000",
                             device_id="dev-9", account_id="acct-7")
    bodies = [client.get(f"{API}/requests/{request_id}.{fmt}?extensions=true").get_data(as_text=True)
              for fmt in ("json", "xml")]
    bodies += [client.get(f"{API}/requests.{fmt}?extensions=true").get_data(as_text=True)
               for fmt in ("json", "xml")]
    for body in bodies:
        assert request_id in body
        for secret in ("小明", "zhang.xm@example.org", "13800138000", "acct-7", "dev-9"):
            assert secret not in body


def test_extensions_carry_codes_state_light_level_and_public_notes(ctx, client, key,
                                                                  monkeypatch):
    request_id = new_request(client, key)
    monkeypatch.setattr(ctx, "now", lambda: T0.replace(minute=20))  # past; 立案+派遣 due 09:30
    perform(ctx, request_id, "send_verify", actor="acc-李", role="acceptor",
            payload={"inspector": "insp-310101001005"}, at=T0.replace(minute=3))
    perform(ctx, request_id, "verify", actor="insp-310101001005", role="inspector",
            at=T0.replace(minute=5))
    perform(ctx, request_id, "file", actor="acc-李", role="shift_lead", at=T0.replace(minute=8))
    [row] = client.get(f"{API}/requests/{request_id}.json?extensions=true").get_json()
    assert row["extended_attributes"] == {
        "cell_code": "310101001005015", "community_code": "310101001005",
        "street_code": "310101001", "district_code": "310101", "state": "filed",
        "light": "green", "supervising_level": 0}
    assert row["notes"] == [
        {"datetime": "2026-11-25T09:00:00+08:00", "type": "report", "summary": "上报",
         "status": "open", "description": None},
        {"datetime": "2026-11-25T09:05:00+08:00", "type": "verify", "summary": "核实",
         "status": "open", "description": None},
        {"datetime": "2026-11-25T09:08:00+08:00", "type": "file", "summary": "立案",
         "status": "open", "description": None}]
    assert "insp-310101001005" not in str(row) and "acc-李" not in str(row)
    plain = client.get(f"{API}/requests/{request_id}.json").get_json()[0]
    assert "extended_attributes" not in plain and "notes" not in plain


def test_rejected_request_is_closed_with_the_reason(ctx, client, key, monkeypatch):
    request_id = new_request(client, key)
    monkeypatch.setattr(ctx, "now", lambda: T0.replace(minute=30))  # the actions are past
    perform(ctx, request_id, "reject", actor="acc-1", role="acceptor", reason="不属于城市管理范围",
            at=T0.replace(minute=20))
    [row] = client.get(f"{API}/requests/{request_id}.json").get_json()
    assert (row["status"], row["status_notes"]) == ("closed", "不予立案: 不属于城市管理范围")
    assert [r["service_request_id"] for r in client.get(
        f"{API}/requests.json?status=closed").get_json()] == [request_id]
    assert client.get(f"{API}/requests.json?status=open").get_json() == []


def test_filters_by_service_code_dates_and_pages(ctx, client, key, monkeypatch):
    ids = []
    for minute, code in ((0, "E0102"), (10, "C0101"), (20, "E0102")):
        monkeypatch.setattr(ctx, "now", lambda m=minute: T0.replace(minute=m))
        ids.append(new_request(client, key, service_code=code))
    listed = lambda q: [r["service_request_id"] for r in client.get(  # noqa: E731
        f"{API}/requests.json?{q}").get_json()]
    assert listed("") == ids[::-1]  # newest first, default window the last 90 days
    assert listed("service_code=E0102") == [ids[2], ids[0]]
    assert listed("service_code=E0102,C0101&page_size=2") == [ids[2], ids[1]]
    assert listed("page_size=2&page=2") == [ids[0]]
    assert listed("page=5") == []
    assert listed("start_date=2026-11-25T09:05:00%2B08:00&end_date=2026-11-25T09:15:00%2B08:00") \
        == [ids[1]]
    assert listed("start_date=2026-11-25T01:05:00Z") == [ids[2], ids[1]]
    assert listed(f"service_request_id={ids[0]},{ids[2]}&service_code=C0101") == [ids[0], ids[2]]
    xml_root = xml(client.get(f"{API}/requests.xml?service_code=C0101"))
    assert [e.text for e in xml_root.findall("request/service_request_id")] == [ids[1]]


def test_an_empty_result_is_200_with_an_empty_list(client):
    response = client.get(f"{API}/requests.json")
    assert (response.status_code, response.get_json()) == (200, [])
    root = xml(client.get(f"{API}/requests.xml"))
    assert root.tag == "service_requests" and len(root) == 0


@pytest.mark.parametrize("query, message", [
    ("start_date=2026-01-01T00:00:00%2B08:00&end_date=2026-11-25T00:00:00%2B08:00",
     "end_date: start_date to end_date spans 328 days; at most 90"),
    ("start_date=2026-11-26T00:00:00%2B08:00&end_date=2026-11-25T00:00:00%2B08:00",
     "start_date: is after end_date (2026-11-25T00:00:00+08:00)"),
    ("start_date=2026-11-20T00:00:00", "start_date: must carry a UTC offset (e.g. +08:00): "
                                       "'2026-11-20T00:00:00'"),
    ("end_date=yesterday", "end_date: is not a W3C date-time (e.g. 2026-11-25T09:00:00+08:00): "
                           "'yesterday'"),
    ("status=pending", "status: must be open or closed, got 'pending'"),
    ("service_code=ZZ", "service_code: unknown service 'ZZ'"),
    ("page=0", "page: must be between 1 and 1000000, got 0"),
    ("page_size=many", "page_size: must be a whole number, got 'many'"),
    ("page_size=201", "page_size: must be between 1 and 200, got 201"),
    ("extensions=yes", "extensions: must be true or false, got 'yes'"),
])
def test_bad_query_parameters_are_400_naming_the_field(client, query, message):
    response = client.get(f"{API}/requests.json?{query}")
    assert response.status_code == 400
    assert response.get_json() == [{"code": 400, "description": message}]


# ------------------------------------------------------------------ keys and limits

def test_apikey_cli_prints_the_key_once_and_stores_its_hash(ctx, seeded_db_url, tmp_path):
    from gridroute.cli import main

    config = tmp_path / "gridroute.toml"
    config.write_text(f'[database]\nurl = "{seeded_db_url}"\n', encoding="utf-8")
    runner = CliRunner()
    added = runner.invoke(main, ["--config", str(config), "apikey", "add", "hotline-12345"])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip()
    assert key.startswith("gr_") and len(key) == 46
    stored = [tuple(r) for r in run_sql(ctx, sa.select(t.api_keys.c.name, t.api_keys.c.key_hash))]
    import hashlib
    assert stored == [("hotline-12345", hashlib.sha256(key.encode()).hexdigest())]
    listed = runner.invoke(main, ["--config", str(config), "apikey", "list"])
    assert listed.stdout.startswith(f"hotline-12345\t{key[:10]}…\t") and key not in listed.stdout
    twice = runner.invoke(main, ["--config", str(config), "apikey", "add", "hotline-12345"])
    assert twice.exit_code == 1
    assert "name: an API key named 'hotline-12345' exists" in twice.output
    revoked = runner.invoke(main, ["--config", str(config), "apikey", "revoke", "hotline-12345"])
    assert revoked.exit_code == 0 and "revoked at" in revoked.stdout
    again = runner.invoke(main, ["--config", str(config), "apikey", "revoke", "hotline-12345"])
    assert again.exit_code == 1 and "already revoked" in again.output
    from gridroute.services.audit import entries

    with ctx.uow(read_only=True) as uow:
        key_id = uow.api_keys.by_name("hotline-12345").id
    detail = {"key_id": key_id, "key_prefix": key[:10]}
    logged = [(e.kind, e.actor, e.subject, e.detail) for e in entries(ctx, subject="hotline-12345")]
    assert logged == [("apikey_revoked", "cli", "hotline-12345", detail),
                      ("apikey_created", "cli", "hotline-12345", detail)]
    assert all(key not in str(e.detail) for e in entries(ctx))
    missing = runner.invoke(main, ["--config", str(config), "apikey", "revoke", "nobody"])
    assert missing.exit_code == 1 and "name: no API key named 'nobody'" in missing.output
    bad = runner.invoke(main, ["--config", str(config), "apikey", "add", "has space"])
    assert bad.exit_code == 1 and "name: must be 1 to 64 letters" in bad.output


def test_public_posts_are_rate_limited_per_client_with_retry_after(ctx, key, monkeypatch):
    monkeypatch.setattr(ctx, "config", ctx.config.replace(limits={"public_post": "2 per minute"}))
    client = create_app(context=ctx).test_client()
    assert post(client, key).status_code == 201
    accepted = post(client, key)
    assert accepted.status_code == 201 and "Retry-After" not in accepted.headers
    refused = post(client, key)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61  # the minute window, whole seconds
    [error] = refused.get_json()
    assert error["code"] == 429 and "2 per 1 minute" in error["description"]
    other = client.post(f"{API}/requests.json", environ_base={"REMOTE_ADDR": "10.0.0.9"},
                        data={"api_key": key, "service_code": "E0102", "lat": str(LAT),
                              "long": str(LON)})
    assert other.status_code == 201  # another client has its own allowance
    assert client.get(f"{API}/requests.json").status_code == 200  # reads are not limited
    with ctx.uow(read_only=True) as uow:
        assert uow.cases.count() == 3


def test_a_busy_database_is_503_with_retry_after_and_nothing_written(ctx, key, monkeypatch):
    from gridroute.services.context import build_context

    busy = build_context(ctx.config.replace(database={"busy_timeout_ms": 200}))
    monkeypatch.setattr(busy, "now", lambda: T0)
    client = create_app(context=busy).test_client()
    holder = ctx.engine.connect()
    holder.begin()  # SQLite: BEGIN IMMEDIATE, another writer holds the lock
    if ctx.engine.dialect.name == "postgresql":
        holder.exec_driver_sql("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE")
    try:
        response = post(client, key)
    finally:
        holder.rollback()
        holder.close()
    busy.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json() == [{"code": 503, "description": "database busy, try again"}]
    with ctx.uow(read_only=True) as uow:
        assert uow.cases.count() == 0


def test_a_key_revoked_by_another_process_is_refused_within_two_seconds(ctx, client, key,
                                                                        monkeypatch):
    from gridroute.services import apikeys
    from gridroute.services.context import build_context

    clock = [1000.0]
    monkeypatch.setattr(apikeys.time, "monotonic", lambda: clock[0])
    assert post(client, key).status_code == 201
    other = build_context(ctx.config)  # e.g. `gridroute apikey revoke` in a shell
    revoke_key(other, "civic-app")
    other.close()
    clock[0] += 1.0
    assert post(client, key).status_code == 201  # still trusted from the last check
    clock[0] += 1.5
    response = post(client, key)
    assert response.status_code == 403
    assert response.get_json()[0]["description"] == "api_key: was revoked"


def test_rate_limit_and_photo_settings_are_checked_at_start_up():
    from gridroute.config import ConfigError, load_config

    with pytest.raises(ConfigError) as bad:
        load_config(env={"GRIDROUTE_LIMITS_PUBLIC_POST": "lots"})
    assert str(bad.value) == ("environment GRIDROUTE_LIMITS_PUBLIC_POST (limits.public_post): not "
                              "a rate limit such as '30 per minute;600 per hour', got 'lots'")
    with pytest.raises(ConfigError) as bad:
        load_config(env={"GRIDROUTE_PHOTOS_MAX_PER_CASE": "0"})
    assert "photos.max_per_case" in str(bad.value)


def test_in_memory_limits_start_no_thread_per_request(ctx, key, monkeypatch):
    import threading

    import limits.storage.memory as memory

    from gridroute.api.limits import SweptMemoryStorage

    client = create_app(context=ctx).test_client()
    assert isinstance(client.application.extensions["gridroute_limiter"].storage,
                      SweptMemoryStorage)
    timers = []
    monkeypatch.setattr(memory.threading, "Timer",
                        lambda *a, **kw: timers.append(a) or threading.Timer(*a, **kw))
    for _ in range(5):
        assert post(client, key).status_code == 201
    assert timers == []  # the stock storage starts one per hit spaced over 10 ms
    sweepers = [t for t in threading.enumerate() if t.name == "rate-limit-sweep"]
    assert sweepers and all(t.daemon for t in sweepers)


def test_open311_answers_carry_no_session_cookie_while_pages_keep_theirs(ctx, key):
    """Open311 is stateless: a client's session cookie is neither read nor renewed there."""
    app = create_app(context=ctx)
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200
    assert "session=" in page.headers.get("Set-Cookie", "")  # the login form's CSRF token
    answer = post(client, key)
    assert answer.status_code == 201
    assert "Set-Cookie" not in answer.headers
    assert "Cookie" not in answer.headers.get("Vary", "")
    listed = client.get(f"{API}/requests.json")
    assert listed.status_code == 200 and "Set-Cookie" not in listed.headers
