"""The web entry point: the grid page, on both databases (/healthz: test_health.py)."""
from gridroute.app import create_app
from gridroute.services.context import build_context


def test_grid_page_lists_streets_in_chinese_by_default(app_ctx):
    client = create_app(context=app_ctx).test_client()
    html = client.get("/grid").get_data(as_text=True)
    assert "<h1>已加载网格</h1>" in html
    assert 'data-street="310101001"' in html and "南京东路街道" in html
    assert '<dd id="cell-count">1226</dd>' in html
    assert '<dd id="street-count">10</dd>' in html


def test_grid_page_in_english_on_request_and_remembered(app_ctx):
    client = create_app(context=app_ctx).test_client()
    response = client.get("/grid?lang=en")
    assert "<h1>Loaded grid</h1>" in response.get_data(as_text=True)
    assert "lang=en" in response.headers["Set-Cookie"]
    assert "<h1>Loaded grid</h1>" in client.get("/grid").get_data(as_text=True)
