"""API keys for client systems (Open311 POST): `gridroute apikey add NAME` prints a new key
once; only its SHA-256 is stored, so a lost key is revoked and replaced, never shown again."""
from __future__ import annotations

import hashlib
import re
import secrets
import time

from gridroute.services import audit
from gridroute.services.context import AppContext
from gridroute.services.errors import Conflict, Forbidden, NotFound, ServiceError
from gridroute.store.apikeys import ApiKeyRecord

KEY_PREFIX = "gr_"
# A key found valid is trusted this long without asking the database again (every Open311 POST
# checks one); a revocation reaches other processes within it, this process at once.
RECHECK_S = 2.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise ServiceError("must be 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                           f"letter or digit; got {name!r}", field="name")
    return name


def add_key(ctx: AppContext, name: str, *, actor: str = "cli") -> tuple[ApiKeyRecord, str]:
    """Create a key for the client `name`; returns the record and the key (shown once). The
    audit log gets the name and the key's first characters, never the key."""
    name = _check_name(name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    at = ctx.now()
    with ctx.uow() as uow:
        if uow.api_keys.by_name(name) is not None:
            raise Conflict(f"an API key named {name!r} exists; revoke it or choose another name",
                           field="name")
        record = uow.api_keys.add(name=name, key_hash=_hash(key), key_prefix=key[:10], at=at)
        audit.record(uow, "apikey_created", actor, {"key_id": record.id,
                                                    "key_prefix": record.key_prefix},
                     subject=name, at=at)
        uow.commit()
    return record, key


def revoke_key(ctx: AppContext, name: str, *, actor: str = "cli") -> ApiKeyRecord:
    """Revoke the key `name`: from now on it is refused with 403."""
    with ctx.uow() as uow:
        record = uow.api_keys.by_name((name or "").strip())
        if record is None:
            raise NotFound(f"no API key named {name!r}", field="name")
        if not record.active:
            raise Conflict(f"the API key {name!r} was already revoked at "
                           f"{record.revoked_at.isoformat(timespec='seconds')}", field="name")
        at = ctx.now()
        uow.api_keys.revoke(record.id, at)
        audit.record(uow, "apikey_revoked", actor, {"key_id": record.id,
                                                    "key_prefix": record.key_prefix},
                     subject=record.name, at=at)
        uow.commit()
    ctx.api_key_cache.clear()
    return ApiKeyRecord(record.id, record.name, record.key_prefix, record.created_at, at)


def list_keys(ctx: AppContext) -> list[ApiKeyRecord]:
    with ctx.uow(read_only=True) as uow:
        return uow.api_keys.all()


def authenticate(ctx: AppContext, key: str | None) -> ApiKeyRecord:
    """The active key record for `key`, or Forbidden naming the field `api_key`."""
    if not key:
        raise Forbidden("is required", field="api_key")
    digest = _hash(key.strip())
    cached = ctx.api_key_cache.get(digest)
    if cached is not None and time.monotonic() - cached[1] < RECHECK_S:
        return cached[0]
    with ctx.uow(read_only=True) as uow:
        record = uow.api_keys.by_hash(digest)
    if record is None:
        raise Forbidden("is not a valid API key", field="api_key")
    if not record.active:
        raise Forbidden("was revoked", field="api_key")
    ctx.api_key_cache[digest] = (record, time.monotonic())
    return record
