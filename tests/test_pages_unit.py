"""A unit's inbox and its actions on the case page (issue 12 point 3, 4): only the unit's own
cases (another unit's case is 404 on every page), the unit's actions per state, the reply with
photos (stored, shown, served only in scope), refusals naming their field, stale versions."""
from __future__ import annotations

import io
import re

import pytest

from gridroute.services.workflow import perform
from pages_helpers import (IN_STREET_1, IN_STREET_2, UNIT1, UNIT2, app_with_users, case_of,
                           dispatched, log_in, png_bytes)

pytestmark = pytest.mark.db


@pytest.fixture
def app(app_ctx):
    return app_with_users(app_ctx)


def _rows(html):
    return re.findall(r'<tr data-ref="([^"]+)"', html)


def _actions(html):
    return re.findall(r'<form class="action" id="action-([a-z_]+)"', html)


def test_inbox_shows_only_the_units_cases_and_other_cases_are_404(app, app_ctx):
    mine = dispatched(app_ctx, IN_STREET_1, UNIT1, "一")
    theirs = dispatched(app_ctx, IN_STREET_2, UNIT2, "二")
    client = app.test_client()
    log_in(client, "unit1")
    inbox = client.get("/inbox")
    assert inbox.status_code == 200
    assert _rows(inbox.text) == [mine]
    assert "城管执法中队" in re.search(r'id="unit-name">([^<]+)<', inbox.text).group(1)
    assert client.get(f"/cases/{theirs}").status_code == 404
    assert client.get(f"/cases/{mine}").status_code == 200
    assert client.get("/queue").status_code == 403
    other = app.test_client()
    log_in(other, "disp")
    assert other.get("/inbox").status_code == 403


def test_unit_actions_follow_the_case_state(app, app_ctx):
    ref = dispatched(app_ctx)
    client = app.test_client()
    log_in(client, "unit1")
    assert _actions(client.get(f"/cases/{ref}").text) == [
        "accept", "return", "request_suspension", "appeal"]
    perform(app_ctx, ref, "accept", actor="unit1", role="unit")
    page = client.get(f"/cases/{ref}?lang=en").text
    assert _actions(page) == ["resolve", "return", "request_extension", "request_suspension",
                              "appeal"]
    # every field of every form has its label
    for field in re.findall(r'<(?:input|textarea|select) id="([^"]+)"', page):
        assert f'<label for="{field}">' in page, field
    assert '<label for="return-reason">Reason</label>' in page
    assert '<label for="resolve-photos">Photos</label>' in page


def _resolve(client, ref, token, **form):
    data = {"reply": "已清理", **form}
    return client.post(f"/inbox/{ref}/resolve", data=data, content_type="multipart/form-data",
                       headers={"X-CSRFToken": token, "Accept-Language": "zh-CN"})


def test_reply_with_a_photo_is_stored_shown_and_served_in_scope(app, app_ctx, tmp_path,
                                                                monkeypatch):
    monkeypatch.setattr(app_ctx, "config", app_ctx.config.replace(
        photos={"dir": str(tmp_path / "photos")}))
    ref = dispatched(app_ctx)
    perform(app_ctx, ref, "accept", actor="unit1", role="unit")
    client = app.test_client()
    token = log_in(client, "unit1")
    version = case_of(app_ctx, ref).version
    response = _resolve(client, ref, token, version=str(version),
                        photos=(io.BytesIO(png_bytes()), "fixed.png"))
    assert response.status_code == 200, response.json
    assert response.json["case"]["state"] == "resolved"
    page = client.get(f"/cases/{ref}").text
    url = re.search(r'<img src="(/photos/[^"]+)" alt="处置照片 1" class="reply-photo"', page)
    assert url, page
    assert client.get(url.group(1)).status_code == 200
    assert "已清理" in re.search(r'<div class="reply">([^<]+)</div>', page).group(1)
    other = app.test_client()
    log_in(other, "unit2")
    assert other.get(url.group(1)).status_code == 404


def test_reply_refusals_name_the_field_and_a_stale_version_is_409(app, app_ctx):
    ref = dispatched(app_ctx)
    perform(app_ctx, ref, "accept", actor="unit1", role="unit")
    client = app.test_client()
    token = log_in(client, "unit1")
    empty = _resolve(client, ref, token, reply="  ")
    assert empty.status_code == 400
    assert (empty.json["error"]["field"], empty.json["error"]["message"]) == (
        "reply", "字段 reply：必填（resolve requires field reply）")
    bad = _resolve(client, ref, token, photos=(io.BytesIO(b"not a picture"), "x.png"))
    assert bad.status_code == 400 and bad.json["error"]["field"] == "photos (x.png)"
    stale = _resolve(client, ref, token, version="1")
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "stale_version"
    assert stale.json["error"]["current_version"] == case_of(app_ctx, ref).version
    assert stale.json["error"]["message"].startswith("字段 version：案卷已被他人修改")
    no_token = client.post(f"/inbox/{ref}/resolve", data={"reply": "x"})
    assert no_token.status_code == 403 and no_token.json["error"]["field"] == "X-CSRFToken"
    assert case_of(app_ctx, ref).state.value == "accepted"


def test_another_units_reply_is_404(app, app_ctx):
    ref = dispatched(app_ctx)
    perform(app_ctx, ref, "accept", actor="unit1", role="unit")
    client = app.test_client()
    token = log_in(client, "unit2")
    response = _resolve(client, ref, token)
    assert response.status_code == 404 and response.json["error"]["field"] == "case"
