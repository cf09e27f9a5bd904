"""`gridroute calendar show|check`: the working calendar the clocks count on, and whether the
coming year has official holiday data yet."""
from __future__ import annotations

import datetime as _dt

import click

from gridroute.cli._common import cli_config
from gridroute.sla.calendar import CalendarConfigError

__all__ = ["calendar"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_GAP_TEXT = {
    "holidays-estimated": "only estimated statutory holidays (holidays library), no published "
                          "make-up working days",
    "weekday": "no holiday data at all (weekday rule)",
}


def _calendar():
    from gridroute.services.context import working_calendar

    config = cli_config()
    try:
        return config, working_calendar(config)
    except CalendarConfigError as exc:
        raise click.ClickException(f"calendar: {exc}") from None


def _overrides_file(config) -> str:
    return config.sla.overrides or "(sla.overrides is empty: set it to a TOML file)"


@click.group(name="calendar")
def calendar() -> None:
    """Working calendar: statutory holidays, 调休 make-up working days, overrides."""


@calendar.command(name="show")
@click.argument("year", type=click.IntRange(1900, 2999))
def show(year: int) -> None:
    """List YEAR's holidays and make-up working days with the source of each
    (chinesecalendar, holidays, overrides, estimate)."""
    config, cal = _calendar()
    days = cal.special_days(year)
    source = cal.year_source(year)
    click.echo(f"{year}: {cal.tz.key}, working hours {cal.working_hours}; "
               f"data: {source}; overrides: {_overrides_file(config)}")
    for entry in days:
        kind = "workday (调休)" if entry.working else "holiday"
        click.echo(f"{entry.day.isoformat()} {_WEEKDAYS[entry.day.weekday()]}  {kind:<13}  "
                   f"{entry.source:<15}  {entry.name}".rstrip())
    holidays = sum(1 for d in days if not d.working)
    click.echo(f"{holidays} holidays, {len(days) - holidays} make-up working days")
    if source in _GAP_TEXT:
        click.echo(f"warning: {year} has {_GAP_TEXT[source]} — add the State Council notice "
                   f"to {_overrides_file(config)}", err=True)


@calendar.command(name="check")
@click.option("--today", "today_text", default=None,
              help="Check as of this date (YYYY-MM-DD; default: today in app.time_zone).")
@click.option("--days", type=click.IntRange(min=0), default=60, show_default=True,
              help="Look this many days ahead.")
def check(today_text: str | None, days: int) -> None:
    """Exit 1 when a year starting within DAYS days (or the current one) has no official
    holiday data, naming the file to edit."""
    config, cal = _calendar()
    if today_text:
        try:
            today = _dt.date.fromisoformat(today_text)
        except ValueError:
            raise click.BadParameter(f"not a date (YYYY-MM-DD): {today_text!r}",
                                     param_hint="'--today'") from None
    else:
        today = _dt.datetime.now(cal.tz).date()
    gaps = cal.coverage_gaps(today, days)
    if gaps:
        for gap in gaps:
            click.echo(f"{gap.year}: {_GAP_TEXT[gap.source]}; add the State Council notice "
                       f"(国务院办公厅关于{gap.year}年部分节假日安排的通知) to "
                       f"{_overrides_file(config)}", err=True)
        raise SystemExit(1)
    until = today + _dt.timedelta(days=days)
    sources = ", ".join(f"{y}: {cal.year_source(y)}" for y in range(today.year, until.year + 1))
    click.echo(f"calendar covered from {today.isoformat()} to {until.isoformat()} ({sources})")
