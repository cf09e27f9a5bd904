"""Who is calling: a page session (Flask-Login; HttpOnly, SameSite=Lax cookie) or an API
client's bearer token (`Authorization: Bearer grt_...`). Entry points ask `current_principal()`
or decorate a view with `login_required_api` (401 JSON) / `roles_required(...)` (403 JSON).

Pages post CSRF-protected forms (Flask-WTF); API calls that ride on the page session (not a
bearer token) must send the session's CSRF token in `X-CSRFToken` for unsafe methods.
"""
from __future__ import annotations

import functools
from datetime import timedelta

from flask import (Blueprint, Flask, current_app, g, redirect, render_template, request,
                   url_for)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from gridroute.auth.model import Principal, UserRole
from gridroute.services.errors import Forbidden, ServiceError, Unauthorized

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class SessionUser(UserMixin):
    """Flask-Login's view of a Principal."""

    def __init__(self, principal: Principal, via_token: bool = False):
        self.principal = principal
        self.via_token = via_token

    def get_id(self) -> str:
        return str(self.principal.user_id)


def _ctx():
    return current_app.extensions["gridroute"]


@login_manager.user_loader
def _load_session_user(user_id: str):
    from gridroute.services.users import user_by_id

    try:
        principal = user_by_id(_ctx(), int(user_id))
    except (TypeError, ValueError):
        return None
    return SessionUser(principal) if principal else None


@login_manager.request_loader
def _load_bearer_user(req):
    from gridroute.services.users import principal_for_token

    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    principal = principal_for_token(_ctx(), token.strip())
    return SessionUser(principal, via_token=True) if principal else None


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        raise Unauthorized("log in or send a valid bearer token")
    return redirect(url_for("auth.login", next=request.full_path))


def init_app(app: Flask) -> None:
    cfg = app.extensions["gridroute"].config
    # Flask's defaults hold these keys already (SameSite None): set them, not setdefault
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=cfg.auth.session_hours),
        WTF_CSRF_TIME_LIMIT=cfg.auth.session_hours * 3600)
    login_manager.init_app(app)
    app.register_blueprint(bp)
    # the photo endpoint asks who is looking through this hook (api/photos.py)
    app.extensions["gridroute_viewer"] = current_principal

    @app.context_processor
    def _inject_user():
        return {"current_principal": current_principal(), "csrf_token": generate_csrf}


def current_principal() -> Principal | None:
    user = current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.principal


def _check_session_csrf() -> None:
    """Unsafe API calls made with the page session cookie carry X-CSRFToken."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if getattr(current_user, "via_token", False):
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except Exception:  # noqa: BLE001 - any CSRF failure is the same refusal
        raise Forbidden("the session's CSRF token must be sent in X-CSRFToken",
                        field="X-CSRFToken", code="csrf") from None


def _require(allowed: tuple[UserRole, ...] | None) -> Principal:
    """The caller, else 401; a role outside `allowed` (when given) 403; CSRF for session
    writes. The principal is kept in `g.principal` for the view."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized("log in or send a valid bearer token")
    if allowed is not None and principal.role not in allowed:
        raise Forbidden(f"role {principal.role.value} may not do this; allowed: "
                        + ", ".join(r.value for r in allowed), field="role")
    _check_session_csrf()
    g.principal = principal
    return principal


def login_required_api(view):
    """401 (JSON) without a session or token."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        _require(None)
        return view(*args, **kwargs)
    return wrapper


def roles_required(*roles: UserRole):
    """login_required_api + the role must be one of `roles` (403 otherwise)."""
    allowed = tuple(roles)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            _require(allowed)
            return view(*args, **kwargs)
        return wrapper
    return decorate


# ------------------------------------------------------------------ page login (forms)

class LoginForm(FlaskForm):
    name = StringField("name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=1024)])


def _safe_next(target: str | None) -> str:
    # only same-site paths: never redirect a login to another host
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    from gridroute.services.users import authenticate

    form = LoginForm()
    error = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                principal = authenticate(_ctx(), form.name.data, form.password.data,
                                         remote_addr=request.remote_addr or "")
            except ServiceError as exc:
                from gridroute.api.errors import localized

                error = localized(exc.code, None, exc.message)
                status = exc.status
                response = current_app.make_response(
                    (render_template("login.html", form=form, error=error), status))
                if getattr(exc, "retry_after", None):
                    response.headers["Retry-After"] = str(exc.retry_after)
                return response
            login_user(SessionUser(principal))
            return redirect(_safe_next(request.args.get("next")))
        error = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in form.errors.items())
        status = 400
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    form = FlaskForm()
    if not form.validate_on_submit():
        raise CSRFError("missing or wrong CSRF token")
    principal = current_principal()
    if principal is not None:
        from gridroute.services import audit

        audit.record(_ctx(), "logout", principal.name, {}, subject=principal.name,
                     remote_addr=request.remote_addr or "")
    logout_user()
    return redirect(url_for("auth.login"))
