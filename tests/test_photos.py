"""Photos: type judged by content, EXIF GPS offered as the location, every EXIF tag stripped,
scaled to the configured side, stored once per content hash, limits from config, and a photo
handed out only for a case the viewer may see."""
from __future__ import annotations

import hashlib
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from gridroute.app import create_app
from gridroute.services import photos
from gridroute.services.apikeys import add_key
from gridroute.services.errors import NotFound, ServiceError

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)
API = "/open311/v2"


def jpeg(size=(3000, 2000), gps=True, orientation=None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"  # Make
    exif[0x0131] = "MIUI 14"  # Software
    if orientation:
        exif[0x0112] = orientation
    if gps:  # 31°13'48" N, 121°28'48" E = (121.48, 31.23), cell 310101001005015
        exif[0x8825] = {1: "N", 2: (31.0, 13.0, 48.0), 3: "E", 4: (121.0, 28.0, 48.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def png(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 255)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def ctx(public_ctx):
    return public_ctx  # frozen at T0


def stored_image(ctx, name) -> Image.Image:
    return Image.open(photos.photo_store(ctx).path_of(name))


def test_photo_is_rotated_scaled_stripped_and_stored_by_hash(ctx, tmp_path):
    result = photos.process(ctx, photos.Upload(jpeg(orientation=6), "IMG_0001.jpg"))
    assert result.gps == pytest.approx((121.48, 31.23))
    assert (result.width, result.height) == (1365, 2048)  # turned upright, longest side 2048
    assert result.media_type == "image/jpeg"
    path = tmp_path / "photos" / result.name[:2] / result.name
    data = path.read_bytes()
    assert result.name == hashlib.sha256(data).hexdigest() + ".jpg"
    image = Image.open(path)
    assert image.size == (1365, 2048)
    assert dict(image.getexif()) == {}
    assert b"Xiaomi" not in data and b"MIUI" not in data and b"Exif" not in data


def test_the_same_photo_is_stored_once(ctx, tmp_path):
    first = photos.process(ctx, photos.Upload(png(), "a.png"))
    second = photos.process(ctx, photos.Upload(png(), "b.png"))
    assert first.name == second.name
    assert len(list((tmp_path / "photos").rglob("*.png"))) == 1


def test_type_comes_from_the_content_not_the_name(ctx):
    result = photos.process(ctx, photos.Upload(png(), "holiday.jpg"))
    assert result.name.endswith(".png") and result.media_type == "image/png"
    assert result.gps is None
    with pytest.raises(ServiceError) as refused:
        photos.process(ctx, photos.Upload(b"<html>not a photo</html>", "evil.jpg"))
    assert str(refused.value) == ("media (evil.jpg): is not a JPEG, PNG or WebP image "
                                  "(judged by its content)")
    gif = io.BytesIO()
    Image.new("P", (10, 10)).save(gif, "GIF")
    with pytest.raises(ServiceError) as refused:
        photos.process(ctx, photos.Upload(gif.getvalue(), "anim.png"))
    assert str(refused.value) == ("media (anim.png): is GIF image content; accepted: JPEG, "
                                  "PNG, WebP")
    with pytest.raises(ServiceError) as refused:
        photos.process(ctx, photos.Upload(jpeg()[:2000], "cut.jpg"))
    assert str(refused.value) == "media (cut.jpg): is a damaged or truncated image"


def test_limits_come_from_config(ctx, monkeypatch):
    monkeypatch.setattr(ctx, "config", ctx.config.replace(
        photos={"max_bytes": 1000, "max_per_case": 2, "max_side_px": 32}))
    data = jpeg(size=(100, 100))
    with pytest.raises(ServiceError) as refused:
        photos.process(ctx, photos.Upload(data, "big.jpg"))
    assert str(refused.value) == (f"media (big.jpg): is {len(data)} bytes; a photo may have at "
                                  "most 1000 bytes")
    with pytest.raises(ServiceError) as refused:
        photos.process_all(ctx, [photos.Upload(png())] * 3)
    assert str(refused.value) == "media: 3 photos; a case carries at most 2"
    assert photos.process(ctx, photos.Upload(png())).width == 32


def test_default_limits_are_10_mb_and_9_photos(app_ctx):
    assert (app_ctx.config.photos.max_bytes, app_ctx.config.photos.max_per_case,
            app_ctx.config.photos.max_side_px) == (10 * 1024 * 1024, 9, 2048)


def post(client, key, files, **fields):
    data = {"api_key": key, "service_code": "E0102", "description": "暴露垃圾", **fields}
    data["media"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(f"{API}/requests.json", data=data, content_type="multipart/form-data")


def test_open311_post_takes_media_and_the_photo_gps_as_location(ctx):
    key = add_key(ctx, "civic-app")[1]
    client = create_app(context=ctx).test_client()
    response = post(client, key, [("IMG_0001.jpg", jpeg()), ("detail.png", png())])
    assert response.status_code == 201, response.get_data(as_text=True)
    [row] = response.get_json()
    assert row["service_notice"] == "位置取自照片的GPS信息"
    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get(1)
    assert case.cell_code == "310101001005015"
    assert case.declared_crs == "wgs84"
    assert len(case.photos) == 2 and case.photos[0].endswith(".jpg")
    assert case.photos[1].endswith(".png")
    for name in case.photos:
        assert photos.photo_store(ctx).exists(name)


def test_open311_post_with_bad_media_writes_nothing(ctx):
    key = add_key(ctx, "civic-app")[1]
    client = create_app(context=ctx).test_client()
    response = post(client, key, [("a.jpg", jpeg())] * 10, lat="31.23", long="121.48")
    assert response.status_code == 400
    assert response.get_json() == [{"code": 400,
                                    "description": "media: 10 photos; a case carries at most 9"}]
    response = post(client, key, [("notes.jpg", b"plain text")], lat="31.23", long="121.48")
    assert response.get_json()[0]["description"] == (
        "media (notes.jpg): is not a JPEG, PNG or WebP image (judged by its content)")
    with ctx.uow(read_only=True) as uow:
        assert uow.cases.count() == 0


def test_a_photo_is_handed_out_only_to_who_may_see_the_case(ctx):
    key = add_key(ctx, "civic-app")[1]
    client = create_app(context=ctx).test_client()
    post(client, key, [("IMG_0001.jpg", jpeg())])
    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get(1)
    name = case.photos[0]
    found = photos.photo_file(ctx, case.public_id, name, may_see=lambda c: True)
    assert found.media_type == "image/jpeg" and found.path.read_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(NotFound):
        photos.photo_file(ctx, case.public_id, name, may_see=lambda c: False)
    with pytest.raises(NotFound):  # a real photo of another case is not this case's
        photos.photo_file(ctx, case.public_id, "0" * 64 + ".jpg", may_see=lambda c: True)
    assert photos.case_photos(case) == [{"name": name, "media_type": "image/jpeg",
                                         "url": f"/photos/{case.public_id}/{name}"}]
    assert photos.photo_store(ctx).path_of("../../etc/passwd") is None


class _Viewer:
    def __init__(self, visible: set[str]):
        self.visible = visible

    def can_see(self, case) -> bool:
        return case.public_id in self.visible


def test_photo_endpoint_serves_only_cases_the_viewer_may_see(ctx):
    key = add_key(ctx, "civic-app")[1]
    app = create_app(context=ctx)
    client = app.test_client()
    post(client, key, [("IMG_0001.jpg", jpeg())])
    post(client, key, [("detail.png", png())], lat="31.23", long="121.48")
    with ctx.uow(read_only=True) as uow:
        first, second = uow.cases.get(1), uow.cases.get(2)
    url = f"/photos/{first.public_id}/{first.photos[0]}"
    assert client.get(url).status_code == 404  # nobody signed in
    app.extensions["gridroute_viewer"] = lambda: _Viewer({first.public_id})
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.data == photos.photo_store(ctx).path_of(first.photos[0]).read_bytes()
    # the other case is out of this viewer's scope; its photo under this case is not this case's
    assert client.get(f"/photos/{second.public_id}/{second.photos[0]}").status_code == 404
    assert client.get(f"/photos/{first.public_id}/{second.photos[0]}").status_code == 404
    assert client.get(f"/photos/{first.public_id}/..%2F..%2Fconfig.toml").status_code == 404
    assert client.get(f"/photos/GR-20261125-999999/{first.photos[0]}").status_code == 404


def test_signed_in_users_get_photos_of_cases_in_their_scope_only(ctx):
    """The sign-in layer is the viewer: a bearer token of a dispatcher (city-wide) or of a
    manager of the case's street gets the photo; a manager of another street gets 404."""
    from gridroute.services.users import add_user, create_token

    key = add_key(ctx, "civic-app")[1]
    client = create_app(context=ctx).test_client()
    post(client, key, [("IMG_0001.jpg", jpeg())])  # EXIF GPS: cell 310101001005015
    with ctx.uow(read_only=True) as uow:
        case = uow.cases.get(1)
    assert case.cell_code == "310101001005015"
    tokens = {}
    for name, role, scope in (("disp", "dispatcher", ""), ("mgr1", "manager", "310101001"),
                              ("mgr2", "manager", "310101002")):
        add_user(ctx, name, role=role, password="correct-horse", scope=scope)
        tokens[name] = create_token(ctx, name, actor="test")[1]
    url = f"/photos/{case.public_id}/{case.photos[0]}"

    def get(user):
        return client.get(url, headers={"Authorization": f"Bearer {tokens[user]}"})

    assert client.get(url).status_code == 404
    for user in ("disp", "mgr1"):
        response = get(user)
        assert response.status_code == 200, user
        assert response.data == photos.photo_store(ctx).path_of(case.photos[0]).read_bytes()
    assert get("mgr2").status_code == 404
