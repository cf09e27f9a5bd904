"""Helpers shared by the CLI modules."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, tzinfo

import click

from gridroute.config import load_config


def cli_config(ctx: click.Context | None = None):
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().obj is not None:
        return ctx.find_root().obj.config
    return load_config()


def cli_context(ctx: click.Context | None = None, *, require_schema: bool = True):
    """The AppContext for this command (built once per invocation). First the schema is checked
    (not initialised, behind or ahead of this code → a one-line refusal, no file created),
    unless the command creates or migrates it (`init`)."""
    from gridroute.services.context import build_context
    from gridroute.services.database import require_current_schema

    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    state = root.obj
    existing = getattr(state, "app_context", None)
    if existing is None:
        config = cli_config(ctx)
        if require_schema:
            require_current_schema(config.database.url)
        existing = build_context(config)
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


@contextmanager
def reference_errors(ctx: click.Context, *, prefix: str | None = None):
    """Reference data and rules refusals as one line per problem and exit status 1 (nothing
    was committed)."""
    from gridroute.reference.loaders import ReferenceDataError
    from gridroute.rules.parse import RulesError
    from gridroute.services.reference import ReferenceRefused

    try:
        yield
    except ReferenceDataError as exc:
        for line in exc.errors:
            click.echo(f"error: {prefix + ': ' if prefix and not line.startswith(prefix) else ''}"
                       f"{line}", err=True)
        click.echo("nothing imported", err=True)
        ctx.exit(1)
    except ReferenceRefused as exc:
        for line in exc.errors:
            click.echo(f"error: {line}", err=True)
        click.echo("reference data refused: nothing committed", err=True)
        ctx.exit(1)
    except RulesError as exc:
        for line in exc.errors:
            click.echo(f"error: {line}", err=True)
        click.echo("the rules file has errors", err=True)
        ctx.exit(1)
