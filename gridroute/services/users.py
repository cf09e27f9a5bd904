"""Users, logins and bearer tokens. Every change writes its audit row in the same transaction.

Passwords are hashed with argon2 (argon2-cffi's defaults, rehashed on login when they change);
bearer tokens are random 32-byte strings shown once, stored as their SHA-256.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gridroute.auth.model import Principal, UserRole, parse_role, parse_scope, scope_error
from gridroute.services import audit
from gridroute.services.context import AppContext
from gridroute.services.errors import (Conflict, NotFound, ServiceError, TooManyAttempts,
                                       Unauthorized)
from gridroute.store.users import UserRecord

_HASHER = PasswordHasher()
# Verified against when the user name is unknown, so that a wrong name costs as long as a
# wrong password (no user enumeration by timing).
_DUMMY_HASH = _HASHER.hash("gridroute-no-such-user")
TOKEN_PREFIX = "grt_"


def principal_of(user: UserRecord) -> Principal:
    return Principal(name=user.name, role=UserRole(user.role), unit_code=user.unit_code,
                     scope=parse_scope(user.scope), user_id=user.id)


def grid_levels(ctx: AppContext) -> dict[str, str]:
    """Every code of the active grid with its level: cell, community, street, district."""
    from gridroute.services.grids import active_grid, code_scheme

    grid = active_grid(ctx)
    if grid is None:
        return {}
    scheme = code_scheme(ctx)
    levels: dict[str, str] = {}
    for cell in grid.cell_tags:
        levels[cell] = "cell"
        levels.setdefault(scheme.community(cell), "community")
        levels.setdefault(scheme.street(cell), "street")
        levels.setdefault(scheme.district(cell), "district")
    return levels


def _check_assignment(ctx: AppContext, role: UserRole, unit_code: str | None,
                      scope: tuple[str, ...]) -> None:
    from gridroute.services.reference import reference_data

    if unit_code and unit_code not in reference_data(ctx).units:
        raise ServiceError(f"unknown unit {unit_code!r}", field="unit")
    levels = grid_levels(ctx) if scope else {}
    if scope and not levels:
        raise ServiceError("no grid is loaded to check the scope against; run gridroute init",
                           field="scope")
    problem = scope_error(role, unit_code, scope, levels)
    if problem:
        raise ServiceError(problem[1], field=problem[0])


def _check_password(ctx: AppContext, password: str) -> None:
    minimum = ctx.config.auth.min_password_length
    if not isinstance(password, str) or len(password) < minimum:
        raise ServiceError(f"password must have at least {minimum} characters",
                           field="password")


def add_user(ctx: AppContext, name: str, *, role: str, password: str,
             unit_code: str | None = None, scope: str | None = None,
             actor: str = "cli") -> Principal:
    name = (name or "").strip()
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        raise ServiceError("a user name is 1-64 characters without spaces", field="name")
    try:
        role_value = parse_role(role)
    except ValueError as exc:
        raise ServiceError(str(exc), field="role") from None
    codes = parse_scope(scope)
    unit_code = (unit_code or "").strip() or None
    _check_assignment(ctx, role_value, unit_code, codes)
    _check_password(ctx, password)
    at = ctx.now()
    with ctx.uow() as uow:
        if uow.users.get_by_name(name) is not None:
            raise Conflict(f"user {name!r} exists already", field="name", code="exists")
        user = uow.users.add(name=name, password_hash=_HASHER.hash(password),
                             role=role_value.value, unit_code=unit_code,
                             scope=",".join(codes), at=at)
        audit.record(uow, "user_added", actor, {"role": role_value.value, "unit": unit_code,
                                                "scope": list(codes)}, subject=name, at=at)
        uow.commit()
    return principal_of(user)


def change_user(ctx: AppContext, name: str, *, actor: str, role: str | None = None,
                unit_code: str | None = None, scope: str | None = None,
                password: str | None = None, active: bool | None = None) -> Principal:
    """Change role, unit, scope, password or active flag. A role change or deactivation
    revokes the user's bearer tokens (they carried the old rights)."""
    at = ctx.now()
    with ctx.uow() as uow:
        user = uow.users.get_by_name(name)
        if user is None:
            raise NotFound(f"no user {name!r}", field="name")
        old = principal_of(user)
        try:
            new_role = parse_role(role) if role is not None else old.role
        except ValueError as exc:
            raise ServiceError(str(exc), field="role") from None
        new_unit = ((unit_code or "").strip() or None) if unit_code is not None else (
            None if new_role is not UserRole.UNIT else old.unit_code)
        new_scope = parse_scope(scope) if scope is not None else (
            old.scope if new_role is old.role else ())
        _check_assignment(ctx, new_role, new_unit, new_scope)
        values: dict = {"role": new_role.value, "unit_code": new_unit,
                        "scope": ",".join(new_scope)}
        changes = {k: v for k, v in (("role", new_role.value), ("unit", new_unit),
                                     ("scope", list(new_scope)))
                   if v != {"role": old.role.value, "unit": old.unit_code,
                            "scope": list(old.scope)}[k]}
        if password is not None:
            _check_password(ctx, password)
            values["password_hash"] = _HASHER.hash(password)
            changes["password"] = "changed"
        if active is not None and active != user.active:
            values["active"] = active
            changes["active"] = active
        uow.users.update(user.id, at=at, **values)
        revoked = 0
        if "role" in changes or changes.get("active") is False:
            revoked = uow.tokens.revoke_all(user.id, at)
        kind = "user_deactivated" if changes.get("active") is False else "user_changed"
        audit.record(uow, kind, actor, {"changes": changes, "tokens_revoked": revoked,
                                        "previous": old.to_dict()}, subject=name, at=at)
        uow.commit()
        return principal_of(uow.users.get(user.id))


def list_users(ctx: AppContext) -> list[Principal]:
    with ctx.uow(read_only=True) as uow:
        return [principal_of(u) for u in uow.users.list() if u.active]


def user_by_id(ctx: AppContext, user_id: int) -> Principal | None:
    """For the page session loader: the active user with this id."""
    with ctx.uow(read_only=True) as uow:
        user = uow.users.get(user_id)
    return principal_of(user) if user is not None and user.active else None


def authenticate(ctx: AppContext, name: str, password: str, *,
                 remote_addr: str = "") -> Principal:
    """Check a name and password. Too many failures for the name (or from the address) within
    the window → TooManyAttempts with Retry-After; a wrong name or password → Unauthorized
    (the same message for both). Every outcome is audited."""
    settings = ctx.config.auth
    now = ctx.now()
    since = now - timedelta(seconds=settings.login_window_seconds)
    name = (name or "").strip()[:64]
    with ctx.uow(read_only=True) as uow:
        by_name = uow.audit.count("login_failed", since=since, subject=name)
        by_addr = (uow.audit.count("login_failed", since=since, remote_addr=remote_addr)
                   if remote_addr else 0)
        first = uow.audit.oldest_since("login_failed", since=since, subject=name)
        user = uow.users.get_by_name(name) if name else None
    if by_name >= settings.login_max_failures or by_addr >= 4 * settings.login_max_failures:
        retry = settings.login_window_seconds
        if first is not None and by_name >= settings.login_max_failures:
            retry = int((first + timedelta(seconds=settings.login_window_seconds) - now)
                        .total_seconds()) + 1
        audit.record(ctx, "login_throttled", name or "-", {"failures": by_name},
                     subject=name, remote_addr=remote_addr, at=now)
        raise TooManyAttempts("too many failed logins; try again later", field="password",
                              retry_after=retry)
    hashed = user.password_hash if user is not None and user.active else _DUMMY_HASH
    try:
        _HASHER.verify(hashed, password or "")
        ok = user is not None and user.active
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        audit.record(ctx, "login_failed", name or "-", {"known_user": user is not None},
                     subject=name, remote_addr=remote_addr, at=now)
        raise Unauthorized("wrong user name or password", field="password",
                           code="bad_credentials")
    with ctx.uow() as uow:
        if _HASHER.check_needs_rehash(user.password_hash):
            uow.users.update(user.id, at=now, password_hash=_HASHER.hash(password))
        audit.record(uow, "login", user.name, {}, subject=user.name, remote_addr=remote_addr,
                     at=now)
        uow.commit()
    return principal_of(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(ctx: AppContext, name: str, *, actor: str, label: str = "") -> tuple[int, str]:
    """A new bearer token for user `name`; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    at = ctx.now()
    with ctx.uow() as uow:
        user = uow.users.get_by_name(name)
        if user is None or not user.active:
            raise NotFound(f"no active user {name!r}", field="name")
        token_id = uow.tokens.add(user_id=user.id, token_hash=_token_hash(token),
                                  label=label or "", at=at)
        audit.record(uow, "token_created", actor, {"token_id": token_id, "label": label},
                     subject=name, at=at)
        uow.commit()
    return token_id, token


def revoke_token(ctx: AppContext, token_id: int, *, actor: str,
                 owner: str | None = None) -> None:
    at = ctx.now()
    with ctx.uow() as uow:
        user_id = None
        if owner is not None:
            user = uow.users.get_by_name(owner)
            user_id = user.id if user else -1
        if not uow.tokens.revoke(token_id, user_id=user_id, at=at):
            raise NotFound(f"no active token {token_id}", field="token_id")
        audit.record(uow, "token_revoked", actor, {"token_id": token_id},
                     subject=uow.tokens.owner(token_id) or "", at=at)
        uow.commit()


def principal_for_token(ctx: AppContext, token: str) -> Principal | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with ctx.uow(read_only=True) as uow:
        user = uow.tokens.user_for(_token_hash(token))
    return principal_of(user) if user is not None else None
