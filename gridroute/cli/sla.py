"""``gridroute sla``: deadline arithmetic from the command line.

Example::

    gridroute sla deadline --start 2026-09-30T16:00+08:00 --limit "4 working_hours" --explain
"""

from __future__ import annotations

import datetime as _dt

import click

from gridroute.cli._common import cli_config
from gridroute.sla.calendar import CalendarConfigError
from gridroute.sla.clock import Limit, LimitParseError, deadline, explain_deadline

__all__ = ["sla"]


def _iso(moment: _dt.datetime) -> str:
    return moment.isoformat(timespec="seconds" if moment.microsecond == 0 else "microseconds")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def _apply_configured_maximum() -> None:
    """`sla.max_limit_days` from the configuration when there is a readable one (this command
    works without one: then the built-in maximum applies)."""
    from gridroute.sla.clock import set_max_limit_days

    obj = click.get_current_context().find_root().obj
    try:
        config = obj.config if obj is not None else None
    except click.ClickException:
        return
    if config is not None:
        set_max_limit_days(config.sla.max_limit_days)


@click.group(name="sla")
def sla() -> None:
    """Time limits, working calendar and deadlines (处置时限)."""


@sla.command(name="deadline")
@click.option("--start", "start_text", required=True,
              help="Start, ISO 8601; no offset means the configured app.time_zone.")
@click.option(
    "--limit",
    "limit_text",
    required=True,
    help="Limit, e.g. '4 working_hours', '0.5 natural_hours' or '4工作时', '2紧急工作时', '15天'.",
)
@click.option(
    "--hours",
    "hours_text",
    default=None,
    help="Working periods of a working day (default: sla.working_hours of the configuration).",
)
@click.option(
    "--overrides",
    "overrides_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Calendar overrides TOML (holidays, workdays, covered_until; default: sla.overrides "
         "of the configuration).",
)
@click.option("--explain", is_flag=True, help="Also list the stretches of time counted.")
def deadline_command(
    start_text: str, limit_text: str, hours_text: str | None, overrides_path: str | None,
    explain: bool
) -> None:
    """Print the deadline of LIMIT started at START, ISO 8601 with offset, counted on the
    calendar intake uses (working hours, overrides and time zone of the configuration)."""
    from gridroute.services.context import working_calendar

    config = cli_config()
    try:
        cal = working_calendar(config, working_hours=hours_text)
    except CalendarConfigError as exc:
        hint = "'--hours'" if hours_text else "sla.working_hours"
        raise click.BadParameter(str(exc), param_hint=hint) from None
    if overrides_path is not None:
        try:
            cal = working_calendar(config, working_hours=hours_text, overrides_path=overrides_path)
        except CalendarConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="'--overrides'") from None

    try:
        start = _dt.datetime.fromisoformat(start_text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{start_text!r} is not an ISO 8601 date-time (e.g. 2026-09-30T16:00:00+08:00)",
            param_hint="'--start'",
        ) from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=cal.tz)

    _apply_configured_maximum()
    try:
        limit = Limit.from_text(limit_text)
    except LimitParseError as exc:
        raise click.BadParameter(str(exc), param_hint="'--limit'") from None

    end = deadline(start, limit, cal)
    click.echo(_iso(end))

    for day in sorted({start.astimezone(cal.tz).date(), end.date()}):
        warning = cal.coverage_warning(day)
        if warning:
            click.echo(f"warning: {warning}", err=True)

    if explain:
        periods = explain_deadline(start, limit, cal)
        if limit.is_working:
            click.echo(f"working periods counted ({cal.working_hours}):")
        else:
            click.echo("natural time counted:")
        total = 0.0
        for period_start, period_end, seconds in periods:
            total += seconds
            click.echo(f"  {_iso(period_start)} -> {_iso(period_end)}  {_hours(seconds)}")
        click.echo(f"total {_hours(total)} ({limit})")
