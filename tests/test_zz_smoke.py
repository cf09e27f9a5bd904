import sys; sys.path.insert(0, "tests")
import pytest
from pages_helpers import *
from gridroute.app import create_app

pytestmark = pytest.mark.db

def test_smoke(app_ctx):
    add_users(app_ctx)
    ref = dispatched(app_ctx)
    r2 = filed(app_ctx)
    app = create_app(app_ctx.config, context=app_ctx)
    c = app.test_client()
    log_in(c, "disp")
    q = c.get("/queue")
    print(q.status_code, q.text[-3000:])
    p = c.get(f"/cases/{r2}")
    print(p.status_code, p.text[:200])
    assert p.status_code == 200, p.text
    assert q.status_code == 200
    c2 = app.test_client(); log_in(c2, "unit1")
    i = c2.get("/inbox"); assert i.status_code == 200, i.text
    print(i.text[-1500:])
    p = c2.get(f"/cases/{ref}"); assert p.status_code == 200, p.text
