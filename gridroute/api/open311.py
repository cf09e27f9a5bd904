"""Open311 GeoReport v2 under /open311/v2/ and discovery at /open311/discovery.{xml,json}.
Each view parses, calls one service in `gridroute.services.open311`, renders."""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, g, request
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException

from gridroute.api.open311_format import FORMATS, errors, render
from gridroute.services import open311 as service
from gridroute.services.errors import ServiceError, Unavailable, from_database_error
from gridroute.services.photos import Upload

log = logging.getLogger(__name__)
bp = Blueprint("open311", __name__, url_prefix="/open311")
PREFIX = "/open311/"


def _ctx():
    return current_app.extensions["gridroute"]


def _lang() -> str:
    return getattr(g, "lang", "zh-CN")


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ServiceError(f"unknown format .{fmt}; use .xml or .json", field="format",
                           code="not_found_format")
    return fmt


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    fmt = _format(fmt)
    return render(fmt, "discovery", service.discovery(request.url_root + "open311/v2/"))


@bp.get("/v2/services.<fmt>")
def services(fmt: str):
    fmt = _format(fmt)
    return render(fmt, "services", service.services(_ctx(), _lang()))


@bp.get("/v2/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    fmt = _format(fmt)
    return render(fmt, "service_definition", service.service_definition(_ctx(), code, _lang()))


@bp.get("/v2/requests.<fmt>")
def requests_list(fmt: str):
    fmt = _format(fmt)
    rows = service.find_requests(_ctx(), request.args.to_dict(flat=True), _lang())
    return render(fmt, "service_requests", rows)


@bp.post("/v2/requests.<fmt>")
def post_request(fmt: str):
    fmt = _format(fmt)
    form = request.form.to_dict(flat=True)
    if "api_key" not in form and "api_key" in request.args:
        form["api_key"] = request.args["api_key"]
    media = [Upload(f.read(), f.filename or "") for f in request.files.getlist("media")
             if f.filename or f.content_length]
    result = service.post_request(_ctx(), form, media,
                                  client_key=request.headers.get("Idempotency-Key"),
                                  lang=_lang())
    return render(fmt, "service_requests", result.rows, 201 if result.created else 200)


@bp.get("/v2/requests/<request_id>.<fmt>")
def request_one(request_id: str, fmt: str):
    fmt = _format(fmt)
    rows = service.get_request(_ctx(), request_id, _lang(), request.args.to_dict(flat=True))
    return render(fmt, "service_requests", rows)


@bp.get("/v2/tokens/<token>.<fmt>")
def token(token: str, fmt: str):
    fmt = _format(fmt)
    return render(fmt, "service_requests", service.token_status(_ctx(), token))


def _fmt_of_path() -> str:
    return "json" if request.path.endswith(".json") else "xml"


@bp.errorhandler(Unavailable)  # named too: the app's own 503 handler would win otherwise
@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    if isinstance(exc, Unavailable):  # busy or unreachable database: nothing was written
        response = errors(_fmt_of_path(), 503, str(exc))
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    # GeoReport v2: 404 unknown resource, 403 bad or missing key, 400 otherwise
    status = 404 if exc.code.startswith("not_found") else exc.status
    return errors(_fmt_of_path(), status if status in (403, 404) else 400, str(exc))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    """Database trouble becomes 503 + Retry-After; anything else is logged and answered 500
    in the Open311 format, without a trace."""
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    translated = from_database_error(exc, _ctx().config.database.url)
    if translated is not None:
        return _service_error(translated)
    log.exception("Open311 %s %s failed", request.method, request.path)
    return errors(_fmt_of_path(), 500, "internal error; the request was not completed")


def _http_error(exc: HTTPException):
    """Routing errors, 405, 413, 429 under /open311/ in the Open311 error format."""
    if not request.path.startswith(PREFIX):
        return exc
    response = errors(_fmt_of_path(), exc.code or 500, exc.description or exc.name)
    for name in ("Retry-After", "Allow"):
        value = exc.get_response().headers.get(name)
        if value:
            response.headers[name] = value
    return response


class _NoSessionUnder(SessionInterface):
    """Open311 is stateless (the api_key authenticates a POST; reads are public): its
    requests neither read nor write the page session, so its cookie is not opened, verified
    or saved for them. Every other path keeps the app's own session interface."""

    def __init__(self, inner: SessionInterface, prefix: str):
        self.inner = inner
        self.prefix = prefix
        self.null_session_class = inner.null_session_class

    def open_session(self, app, request):
        if request.path.startswith(self.prefix):
            return self.make_null_session(app)
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if self.is_null_session(session):
            return None
        return self.inner.save_session(app, session, response)

    def __getattr__(self, name):  # cookie names and settings as the inner interface has them
        return getattr(self.inner, name)


def install(app: Flask) -> None:
    """Register the blueprint, its error rendering and the public POST's rate limit."""
    from gridroute.api.limits import limit_endpoint

    app.session_interface = _NoSessionUnder(app.session_interface, PREFIX)
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _http_error)
    config = app.extensions["gridroute"].config
    limit_endpoint(app, "open311.post_request", config.limits.public_post, scope="public_post")
