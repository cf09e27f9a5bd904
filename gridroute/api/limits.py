"""Abuse limits (Flask-Limiter): counters per client address, in memory unless
`limits.storage_uri` names a shared store. A refused request gets 429 with Retry-After."""
from __future__ import annotations

import math
import time

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from gridroute.config import Config


def install_limiter(app: Flask, config: Config) -> Limiter:
    # Flask-Limiter's own headers would put a Retry-After on every answer of a limited
    # endpoint (successes too) and override a 503's; only a refusal gets one here.
    limiter = Limiter(get_remote_address, app=app, storage_uri=config.limits.storage_uri,
                      headers_enabled=False, default_limits=[], strategy="fixed-window",
                      key_prefix="gridroute")
    app.extensions["gridroute_limiter"] = limiter

    @app.after_request
    def _retry_after(response):
        if response.status_code == 429 and "Retry-After" not in response.headers:
            breached = limiter.current_limit
            wait = breached.reset_at - time.time() if breached is not None else 60
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    return limiter


def limit_endpoint(app: Flask, endpoint: str, limit: str, *, methods: list[str] | None = None,
                   scope: str | None = None) -> None:
    """Rate-limit the view registered as `endpoint` (after its blueprint is registered).
    Endpoints sharing a `scope` share one counter per client."""
    limiter: Limiter = app.extensions["gridroute_limiter"]
    view = app.view_functions[endpoint]
    if scope is None:
        wrapped = limiter.limit(limit, methods=methods)(view)
    else:
        wrapped = limiter.shared_limit(limit, scope=scope, methods=methods)(view)
    app.view_functions[endpoint] = wrapped
