"""Shared set-up of the page tests (centre, unit, walks): users of every role, cases filed and
dispatched through the services, a logged-in Flask test client."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.users import add_user
from gridroute.services.workflow import perform

SH = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct-horse"
UNIT1 = "310101001-enforcement"
UNIT2 = "310101002-enforcement"
IN_STREET_1 = (121.48, 31.23)          # cell 310101001005015 (南京东路街道)
IN_STREET_2 = (121.481671, 31.24577)   # cell 310101002001001 (外滩街道)
INSPECTOR = "insp-310101001005"        # patrols community 310101001005 (roster code)

USERS = {
    INSPECTOR: ("inspector", None, "310101001005"),
    "acc": ("acceptor", None, ""),
    "lead": ("shift_lead", None, "310101"),
    "disp": ("dispatcher", None, ""),
    "unit1": ("unit", UNIT1, ""),
    "unit2": ("unit", UNIT2, ""),
    "mgr": ("manager", None, "310101"),
}


def add_users(ctx) -> None:
    for name, (role, unit, scope) in USERS.items():
        add_user(ctx, name, role=role, password=PASSWORD, unit_code=unit, scope=scope)


def app_with_users(ctx):
    """The app on `ctx` with the test users added (the pages' test-client fixture)."""
    from gridroute.app import create_app

    add_users(ctx)
    app = create_app(ctx.config, context=ctx)
    app.config["TESTING"] = True
    return app


def report(ctx, lonlat=IN_STREET_1, description="垃圾", category="E0102", at=None):
    return submit_report(ctx, ReportInput(
        channel="inspector", category_code=category, lon=lonlat[0], lat=lonlat[1],
        description=description, reported_at=at, reporter=INSPECTOR)).case


def filed(ctx, lonlat=IN_STREET_1, description="垃圾", at=None):
    case = report(ctx, lonlat, description, at=at)
    perform(ctx, case.id, "file", actor="lead", role="shift_lead", at=at)
    return case.public_id


def dispatched(ctx, lonlat=IN_STREET_1, unit=UNIT1, description="垃圾", at=None):
    ref = filed(ctx, lonlat, description, at=at)
    perform(ctx, ref, "dispatch", actor="disp", role="dispatcher",
            payload={"unit_code": unit}, at=at)
    return ref


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def log_in(client, name: str) -> str:
    """Log `client` in as `name`; answers the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"name": name, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.text
    return csrf_of(client.get("/grid").text)


def case_of(ctx, ref):
    from gridroute.services.workflow import find_case

    with ctx.uow(read_only=True) as uow:
        return find_case(uow, ref)


def png_bytes(color=(200, 60, 60)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "PNG")
    return buffer.getvalue()
