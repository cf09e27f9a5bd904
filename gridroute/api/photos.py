"""GET /photos/<case>/<name>: a case's photo, for whoever may see the case.

Who is asking is decided by the sign-in layer: it registers a callable under
`app.extensions["gridroute_viewer"]` that returns the current principal (with `can_see(case)`)
or None. Without one, or for a case the viewer may not see, the answer is 404, so nobody
learns that a hidden case or photo exists."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, send_file

from gridroute.services.errors import NotFound
from gridroute.services.photos import photo_file

bp = Blueprint("photos", __name__)


@bp.get("/photos/<case_ref>/<name>")
def photo(case_ref: str, name: str):
    viewer_of = current_app.extensions.get("gridroute_viewer")
    viewer = viewer_of() if viewer_of is not None else None
    if viewer is None:
        abort(404)
    try:
        found = photo_file(current_app.extensions["gridroute"], case_ref, name, viewer.can_see)
    except NotFound:
        abort(404)
    response = send_file(found.path, mimetype=found.media_type, max_age=0, conditional=True)
    # private: a shared cache must never hand one viewer's photo to another
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
