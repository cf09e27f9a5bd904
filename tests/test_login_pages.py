"""Page login with Flask-Login: CSRF-protected form, HttpOnly SameSite cookie, the session
works for the API (with X-CSRFToken for writes), logins and failures audited (issue 11 p. 4, 5)."""
from __future__ import annotations

import re

import pytest

from gridroute.app import create_app
from gridroute.services import audit
from gridroute.services.users import add_user

pytestmark = pytest.mark.db


@pytest.fixture
def client(app_ctx):
    app = create_app(app_ctx.config, context=app_ctx)
    add_user(app_ctx, "lead", role="shift_lead", password="correct-horse", scope="310101")
    return app.test_client()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_login_form_needs_its_csrf_token(client, app_ctx):
    page = client.get("/login?lang=en")
    assert page.status_code == 200
    assert '<label for="name">User name</label>' in page.text
    no_token = client.post("/login", data={"name": "lead", "password": "correct-horse"})
    assert no_token.status_code == 400
    assert "csrf_token" in no_token.text
    assert audit.entries(app_ctx, kind="login") == []


def test_login_sets_an_httponly_samesite_session_usable_by_the_api(client, app_ctx):
    token = _csrf(client.get("/login").text)
    response = client.post("/login?next=/api/v1/me", data={
        "name": "lead", "password": "correct-horse", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/api/v1/me"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json["role"] == "shift_lead"
    # a write riding on the session cookie needs the CSRF header
    write = client.post("/api/v1/cases", json={"category": "E0102", "lon": 121.48,
                                               "lat": 31.23})
    assert write.status_code == 403 and write.json["error"]["field"] == "X-CSRFToken"
    with_header = client.post("/api/v1/cases", json={"category": "E0102", "lon": 121.48,
                                                     "lat": 31.23},
                              headers={"X-CSRFToken": token})
    assert with_header.status_code == 201, with_header.json
    assert [e.kind for e in audit.entries(app_ctx, subject="lead")][:1] == ["login"]
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert client.get("/api/v1/me").status_code == 401
    assert audit.entries(app_ctx, subject="lead")[0].kind == "logout"


def test_wrong_password_shows_the_reason_in_the_page_language(client, app_ctx):
    token = _csrf(client.get("/login").text)
    response = client.post("/login", data={"name": "lead", "password": "wrong-one",
                                           "csrf_token": token},
                           headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert audit.entries(app_ctx, kind="login_failed")[0].subject == "lead"


def test_next_never_leaves_the_site(client):
    token = _csrf(client.get("/login").text)
    response = client.post("/login?next=//evil.example/x", data={
        "name": "lead", "password": "correct-horse", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
