"""The web entry point: /healthz and the grid page, on both databases."""
from gridroute.app import create_app
from gridroute.services.context import build_context


def test_healthz_reports_grid_version_and_database(app_ctx):
    client = create_app(context=app_ctx).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["grid"]["cells"] == 1226
    assert body["grid"]["streets"] == 10
    assert len(body["grid"]["content_hash"]) == 64


def test_healthz_is_503_without_a_grid(engine, db_url):
    from gridroute.config import load_config

    ctx = build_context(load_config(env={}).replace(database={"url": db_url}))
    response = create_app(context=ctx).test_client().get("/healthz")
    assert response.status_code == 503
    assert "no grid loaded: run `gridroute init`" in response.get_json()["warnings"]
    ctx.close()


def test_grid_page_lists_streets_in_chinese_by_default(app_ctx):
    client = create_app(context=app_ctx).test_client()
    html = client.get("/").get_data(as_text=True)
    assert "<h1>已加载网格</h1>" in html
    assert 'data-street="310101001"' in html and "南京东路街道" in html
    assert '<dd id="cell-count">1226</dd>' in html
    assert '<dd id="street-count">10</dd>' in html


def test_grid_page_in_english_on_request_and_remembered(app_ctx):
    client = create_app(context=app_ctx).test_client()
    response = client.get("/?lang=en")
    assert "<h1>Loaded grid</h1>" in response.get_data(as_text=True)
    assert "lang=en" in response.headers["Set-Cookie"]
    assert "<h1>Loaded grid</h1>" in client.get("/").get_data(as_text=True)


def test_healthz_carries_a_dated_calendar_warning_past_the_statutory_data(app_ctx, monkeypatch):
    from datetime import datetime

    monkeypatch.setattr(app_ctx, "now", lambda: datetime(2028, 3, 2, 10, 0, tzinfo=app_ctx.tz))
    body = create_app(context=app_ctx).test_client().get("/healthz").get_json()
    assert ("working calendar has no statutory data for 2028; weekday rule in use since "
            "2028-01-01 — add overrides") in body["warnings"]
    assert body["status"] == "ok"  # a warning, never a failure
