"""Abuse limits (Flask-Limiter): counters per client address, in memory unless
`limits.storage_uri` names a shared store. A refused request gets 429 with Retry-After."""
from __future__ import annotations

import functools
import math
import threading
import time
import weakref

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage
from werkzeug.exceptions import TooManyRequests

from gridroute.config import Config


class SweptMemoryStorage(MemoryStorage):
    """`limits`' in-memory storage with its expiry sweep on one long-lived thread. The stock
    storage starts a new 10 ms timer thread on nearly every hit at a few hundred requests/s
    (measured: 3 to 5 ms a request on a loaded host). Expired counters are already ignored on
    every read (`MemoryStorage.get`), so the sweep only frees memory; once a second is enough."""

    STORAGE_SCHEME = ["gridroute-memory"]
    _sweeper: threading.Thread | None = None

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the per-hit timer start
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=_sweep, args=(weakref.ref(self),),
                                             name="rate-limit-sweep", daemon=True)
            self._sweeper.start()


def _sweep(storage_ref) -> None:
    while True:
        time.sleep(1.0)
        storage = storage_ref()
        if storage is None:  # the app and its limiter are gone
            return
        storage._MemoryStorage__expire_events()
        del storage


def install_limiter(app: Flask, config: Config) -> Limiter:
    # Flask-Limiter's own headers would put a Retry-After on every answer of a limited
    # endpoint (successes too) and override a 503's; only a refusal gets one here.
    storage_uri = config.limits.storage_uri
    if storage_uri == "memory://":
        storage_uri = "gridroute-memory://"
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri,
                      headers_enabled=False, default_limits=[], strategy="fixed-window",
                      key_prefix="gridroute")
    app.extensions["gridroute_limiter"] = limiter
    # gridroute sets no app-wide or blueprint limits (default_limits=[]) and counts each
    # endpoint's own limit itself (limit_endpoint): Flask-Limiter's request hooks, which look
    # for limits on every request of every page, write its headers and reset its per-request
    # context, would find nothing to do; they are taken off (about 0.2 ms a request).
    _drop_request_hooks(app, limiter)

    @app.after_request
    def _retry_after(response):
        if response.status_code == 429 and "Retry-After" not in response.headers:
            breached = limiter.current_limit
            wait = breached.reset_at - time.time() if breached is not None else 60
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    return limiter


def _drop_request_hooks(app: Flask, limiter: Limiter) -> None:
    def owned(hook) -> bool:
        bound = getattr(hook, "func", hook)  # the header hook is a functools.partial
        return getattr(bound, "__self__", None) is limiter or (
            getattr(hook, "args", ()) and hook.args[0] is limiter)

    for registry in (app.before_request_funcs, app.after_request_funcs,
                     app.teardown_request_funcs):
        hooks = registry.get(None)
        if hooks:
            hooks[:] = [hook for hook in hooks if not owned(hook)]


def limit_endpoint(app: Flask, endpoint: str, limit: str, *, methods: list[str] | None = None,
                   scope: str | None = None) -> None:
    """Rate-limit the view registered as `endpoint` (after its blueprint is registered), per
    client address. Endpoints sharing a `scope` share one counter per client.

    The counters are Flask-Limiter's (its configured storage and fixed-window strategy); the
    check calls its rate limiter directly rather than through `Limiter.limit`, whose per-request
    bookkeeping (exemption scopes, limit resolution, request context) cost more than the
    counting itself on the intake path. A refusal is 429 naming the limit, with Retry-After."""
    limiter: Limiter = app.extensions["gridroute_limiter"]
    items = parse_many(limit)
    name = scope or endpoint
    wanted = frozenset(m.upper() for m in methods) if methods else None
    view = app.view_functions[endpoint]

    @functools.wraps(view)
    def limited(*args, **kwargs):
        if wanted is None or request.method in wanted:
            _hit(limiter, items, name)
        return view(*args, **kwargs)

    app.view_functions[endpoint] = limited


def _hit(limiter: Limiter, items, name: str) -> None:
    if not limiter.enabled:
        return
    key = get_remote_address() or "unknown"
    strategy = limiter.limiter
    for item in items:
        if not strategy.hit(item, "gridroute", name, key):
            stats = strategy.get_window_stats(item, "gridroute", name, key)
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            raise TooManyRequests(description=str(item), retry_after=wait)
