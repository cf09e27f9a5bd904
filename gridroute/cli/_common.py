"""Helpers shared by the CLI modules."""
from __future__ import annotations

from datetime import datetime, tzinfo

import click

from gridroute.config import load_config


def cli_config(ctx: click.Context | None = None):
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().obj is not None:
        return ctx.find_root().obj.config
    return load_config()


def cli_context(ctx: click.Context | None = None):
    """The AppContext for this command (built once per invocation)."""
    from gridroute.services.context import build_context

    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    state = root.obj
    existing = getattr(state, "app_context", None)
    if existing is None:
        existing = build_context(cli_config(ctx))
        if state is not None:
            state.app_context = existing
        ctx.call_on_close(existing.close)
    return existing


def parse_iso(text: str, option: str, tz: tzinfo) -> datetime:
    """An ISO 8601 instant; without an offset it is taken in the city's zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 date-time: {text!r}", param_hint=option) from None
    return value if value.tzinfo else value.replace(tzinfo=tz)
