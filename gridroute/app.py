"""Flask app factory: `create_app(config)`. Entrypoints only parse, call a service, render."""
from __future__ import annotations

import logging

from flask import Flask, g, request

from gridroute import i18n
from gridroute.config import Config, load_config
from gridroute.services.context import AppContext, build_context


def create_app(config: Config | None = None, *, context: AppContext | None = None) -> Flask:
    config = config or (context.config if context else load_config())
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config["SECRET_KEY"] = config.app.secret_key
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    ctx = context or build_context(config)
    app.extensions["gridroute"] = ctx

    # Each template message is translated into the language of the request rendering it.
    i18n.install(app.jinja_env, lambda: g.get("lang", config.app.language))

    @app.before_request
    def _choose_language() -> None:
        chosen = request.args.get("lang") or request.cookies.get("lang")
        if not chosen and request.accept_languages:
            chosen = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        g.lang = i18n.normalize_language(chosen, default=config.app.language)

    @app.after_request
    def _remember_language(response):
        if request.args.get("lang"):
            response.set_cookie("lang", g.lang, samesite="Lax")
        return response

    from gridroute.api.health import bp as health_bp
    from gridroute.web.assets import bp as assets_bp
    from gridroute.web.pages import bp as pages_bp

    from gridroute.api import open311
    from gridroute.api.limits import install_limiter

    # whole uploads beyond the photo limits are cut off before they are read
    app.config["MAX_CONTENT_LENGTH"] = (config.photos.max_bytes * config.photos.max_per_case
                                        + 1024 * 1024)
    install_limiter(app, config)
    app.register_blueprint(health_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(assets_bp)
    from gridroute.web import centre, dashboard, inspector, unit

    for module in (inspector, centre, unit, dashboard):
        app.register_blueprint(module.bp)
    open311.install(app)
    from gridroute.api.photos import bp as photos_bp

    app.register_blueprint(photos_bp)
    _register_unavailable_handlers(app)
    # users and sessions (Flask-Login), then the REST API with its JSON error handlers
    from gridroute.api import auth as auth_api
    from gridroute.api import rest as rest_api

    auth_api.init_app(app)
    rest_api.init_app(app)
    from gridroute.api import kpi as kpi_api

    kpi_api.init_app(app)
    logging.getLogger("gridroute").setLevel(logging.INFO)
    return app


def _register_unavailable_handlers(app: Flask) -> None:
    """A busy or unreachable database is 503 with Retry-After, never an HTML 500. Blueprints
    with their own error format (the API, Open311) register handlers that take precedence;
    the driver's error reaches them as the same `Unavailable` service error."""
    from flask import jsonify
    from sqlalchemy.exc import DBAPIError

    from gridroute.services.errors import Unavailable, from_database_error

    @app.errorhandler(Unavailable)
    def _unavailable(exc: Unavailable):
        response = jsonify({"error": exc.to_dict()})
        response.status_code = exc.status
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        translated = from_database_error(exc)
        if translated is None:
            raise exc
        return app.handle_user_exception(translated)
